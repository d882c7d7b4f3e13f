"""open_warehouse across processes: writers hold the file per batch, others wait or get told."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from tests.warehouse.conftest import T0, JobsFactory
from warehouse import (
    WarehouseError,
    WarehouseLockedError,
    WarehouseMissingError,
    load_jobs,
    open_warehouse,
)

_HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("ready", flush=True)
sys.stdin.readline()
con.close()
"""

_ANALYST = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM live_jobs").fetchall()[0][0])
"""


class Holder:
    """Another process holding the warehouse file open until ``release()``."""

    def __init__(self, path: Path, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            self.process.wait(timeout=30)


@contextmanager
def holding(path: Path, mode: str = "rw") -> Iterator[Holder]:
    holder = Holder(path, mode)
    try:
        yield holder
    finally:
        holder.release()
        if holder.process.poll() is None:
            holder.process.kill()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_an_analyst_process_reads_between_batches(db_path: Path, make_jobs: JobsFactory) -> None:
    for number, ids in enumerate((["a"], ["b", "c"])):
        with open_warehouse(db_path) as con:
            load_jobs(con, make_jobs(ids), observed_at=T0, change_source="sync")
        analyst = subprocess.run(
            [sys.executable, "-c", _ANALYST, str(db_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert analyst.returncode == 0, analyst.stderr
        assert int(analyst.stdout) == [1, 3][number]


def test_a_writer_gives_up_with_a_clear_error_while_another_process_writes(db_path: Path) -> None:
    fake = FakeClock()
    with (
        holding(db_path, "rw"),
        pytest.raises(WarehouseLockedError) as caught,
        open_warehouse(db_path, lock_timeout=1.0, sleep=fake.sleep, clock=fake.clock),
    ):
        pass
    message = str(caught.value)
    assert str(db_path) in message and "locked" in message and "retry" in message
    assert "\n" not in message
    assert fake.sleeps == [0.05, 0.1, 0.2, 0.4, pytest.approx(0.25)]


def test_the_real_lock_timeout_applies_without_injected_clocks(db_path: Path) -> None:
    with (
        holding(db_path, "rw"),
        pytest.raises(WarehouseLockedError),
        open_warehouse(db_path, read_only=True, lock_timeout=0.2),
    ):
        pass


def test_a_writer_waits_for_an_analyst_to_finish(db_path: Path) -> None:
    fake = FakeClock()
    with holding(db_path, "ro") as analyst:

        def sleep(seconds: float) -> None:
            fake.sleep(seconds)
            analyst.release()  # the analyst finishes while the writer backs off

        with open_warehouse(db_path, lock_timeout=5.0, sleep=sleep, clock=fake.clock) as con:
            assert con.execute("SELECT count(*) FROM jobs").fetchall() == [(0,)]
    assert fake.sleeps == [0.05]


def test_read_only_open_of_a_missing_file_explains_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "absent.duckdb"
    with (
        pytest.raises(WarehouseMissingError, match="no warehouse at"),
        open_warehouse(path, read_only=True),
    ):
        pass
    assert not path.exists()


def test_a_file_that_is_not_a_warehouse_is_a_warehouse_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("id,title\n1,hello\n" * 100)
    with (
        pytest.raises(WarehouseError, match="cannot open warehouse") as caught,
        open_warehouse(path),
    ):
        pass
    assert not isinstance(caught.value, WarehouseLockedError)


def test_the_connection_is_closed_after_the_block(db_path: Path) -> None:
    with open_warehouse(db_path) as con:
        pass
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
