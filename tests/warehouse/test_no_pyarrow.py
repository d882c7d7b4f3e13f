"""Frames cross into DuckDB through the Arrow C stream interface: pyarrow is never loaded.

pyarrow costs 37 MB of resident memory per process, a sizeable part of the sync's 500 MB budget,
and nothing on the load path needs it (``warehouse._arrow``).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from warehouse import open_warehouse
from warehouse._arrow import frame_of, register_frame

_LOAD_IN_A_FRESH_PROCESS = """
import sys
from datetime import UTC, datetime
from pathlib import Path
import polars as pl
from transforms import jobs_frame, normalize_jobs, with_version_at
from warehouse import load_jobs, open_warehouse, read_fx_rates, start_run
now = datetime.now(UTC)
with open_warehouse(Path(sys.argv[1])) as con:
    fx = read_fx_rates(con)
    run = start_run(con, "full", {})
    frame = with_version_at(normalize_jobs(jobs_frame([{"id": "a", "title": "x"}]), fx), now)
    rejected = pl.DataFrame(schema={"job_id": pl.String, "reason": pl.String, "raw": pl.String})
    result = load_jobs(con, frame, observed_at=now, change_source="sync", run_id=run,
                       rejected=rejected)
    again = load_jobs(con, frame, observed_at=now, change_source="sync", run_id=run,
                      rejected=rejected)
print(result.inserted, again.unchanged, "pyarrow" in sys.modules)
"""


def test_loading_a_batch_never_imports_pyarrow(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_A_FRESH_PROCESS, str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["1", "1", "False"]


def test_a_registered_frame_can_be_scanned_repeatedly(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"k": ["a", "b", "c"], "t": [datetime(2026, 1, 1, tzinfo=UTC)] * 3, "n": [1, None, 3]}
    )
    with open_warehouse(tmp_path / "w.duckdb") as con:
        register_frame(con, "_t", frame)
        try:
            first = frame_of(con.sql("SELECT * FROM _t ORDER BY k"))
            pairs = con.sql("SELECT count(*) FROM _t AS x JOIN _t AS y USING (k)").fetchall()
            second = frame_of(con.sql("SELECT * FROM _t ORDER BY k"))
        finally:
            con.unregister("_t")
    assert pairs == [(3,)]
    assert first.equals(second)
    assert first["k"].to_list() == ["a", "b", "c"]
    assert first["n"].to_list() == [1, None, 3]
    assert first["t"].dt.replace_time_zone(None).to_list() == [datetime(2026, 1, 1)] * 3
