"""Records reach the warehouse as the API sent them: the sync never decodes and re-encodes a record,
so odd but valid JSON must come through whole, read the same way by the scan and the warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from pydantic import SecretStr

from connectors import Client
from flows.pipeline import ScanPlan, run_scan
from flows.settings import SyncSettings
from warehouse import open_warehouse, read_fx_rates, start_run

KEY = "wire-test-key"
RECORDS = [
    {"id": "a", "title": "Données", "posted_at": "2026-01-03T00:00:00Z", "tags": [1, {"k": None}]},
    "not an object",
    {"id": "b", "posted_at": "2026-01-02T00:00:00Z", "salary_range": {"min": 1, "max": 2}},
    {"id": 5, "posted_at": "2026-01-02T00:00:00Z"},
    {"id": "d", "posted_at": "2026-01-01T00:00:00Z"},
]
# Hand-written on purpose: a repeated key, a number no double holds, a 30-digit integer and a
# record spread over lines, none of which orjson.dumps would ever produce.
BODY = (
    b'{"data": [\n  {"id": "a", "title": "Donn\\u00e9es", "posted_at": "2026-01-03T00:00:00Z",'
    b' "tags": [1, {"k": null}]},\n  "not an object",\n  {"id": "x", "id": "b", "posted_at":'
    b' "2026-01-02T00:00:00Z", "salary_range": {"min": 1, "max": 2}},\n  {"id": 5, "posted_at":'
    b' "2026-01-02T00:00:00Z"},\n  {"id": "d", "posted_at": "2026-01-01T00:00:00Z",\n'
    b'   "salary_range": {"min": 1e400, "max": 123456789012345678901234567890}}\n],\n'
    b' "meta": {"total": 5, "page": 1, "limit": 100}}'
)


def _answer(request: httpx.Request) -> httpx.Response:
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    return httpx.Response(200, content=BODY)


def test_odd_but_valid_json_is_loaded_as_the_scan_read_it(tmp_path: Path) -> None:
    json.loads(BODY)  # the body is valid JSON
    settings = SyncSettings(
        db=tmp_path / "w.duckdb", base_url="http://api.test/v2", api_key=SecretStr(KEY)
    )
    with open_warehouse(settings.db) as con:
        run_id, fx = start_run(con, "full", {}), read_fx_rates(con)
    client = Client(KEY, "http://api.test/v2", transport=httpx.MockTransport(_answer))
    with client:
        result = run_scan(client, ScanPlan(run_id=run_id), settings, fx)
    assert result.report.complete and result.report.rejected == 2
    assert result.totals.jobs_inserted == 3
    with open_warehouse(settings.db, read_only=True) as con:
        rows = con.execute(
            "SELECT job_id, title, salary_min, salary_max, raw FROM jobs ORDER BY job_id"
        ).fetchall()
        rejected = con.execute("SELECT job_id, reason FROM rejected_records ORDER BY 2").fetchall()
    assert [row[0] for row in rows] == ["a", "b", "d"]
    assert rows[0][1] == "Données"
    assert rows[1][2:4] == (1.0, 2.0)  # the last "id" wins, as in the scan and in orjson
    assert rows[2][2] is None  # 1e400 is no salary
    for row in rows:
        assert "\n" not in row[4]
    assert json.loads(rows[0][4]) == RECORDS[0]
    assert '"max":123456789012345678901234567890' in rows[2][4]  # raw keeps the digits
    assert rejected == [
        ("5", "record id is not a string (int)"),
        (None, "record is not a JSON object (str)"),
    ]
