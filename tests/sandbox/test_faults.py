"""Each fault flag, observed by a real httpx client against a real server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest

from sandbox import running_sandbox

AUTH = {"Authorization": "Bearer sandbox-key"}


def test_latency_is_applied_to_api_routes_only() -> None:
    with running_sandbox(jobs=20, latency_ms=5) as sb, httpx.Client(headers=AUTH) as client:
        for _ in range(3):
            assert client.get(f"{sb.base_url}/jobs").status_code == 200
        stats = client.get(f"{sb.root_url}/_sandbox/stats").json()
        assert stats["faults"]["latency"] == 3
        assert stats["config"]["latency_ms"] == 5


@pytest.mark.parametrize("fmt", ["seconds", "http-date"])
def test_rate_limit_answers_429_with_retry_after(fmt: str) -> None:
    with (
        running_sandbox(jobs=20, rate_limit=0.01, retry_after_format=fmt) as sb,
        httpx.Client(headers=AUTH) as client,
    ):
        assert client.get(f"{sb.base_url}/jobs").status_code == 200
        limited = client.get(f"{sb.base_url}/jobs")
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        value = limited.headers["Retry-After"]
        if fmt == "seconds":
            assert value.isdigit() and int(value) >= 1
        else:
            assert parsedate_to_datetime(value) > datetime.now(UTC)
        assert client.get(f"{sb.root_url}/_sandbox/stats").status_code == 200, "no faults here"
        assert sb.stats()["faults"]["rate_limited"] == 1


def test_error_rate_answers_500_502_503_and_502_is_not_json() -> None:
    with running_sandbox(jobs=20, error_rate=1.0) as sb, httpx.Client(headers=AUTH) as client:
        responses = [client.get(f"{sb.base_url}/jobs") for _ in range(30)]
        assert {r.status_code for r in responses} == {500, 502, 503}
        for response in responses:
            if response.status_code == 502:
                assert response.headers["content-type"] == "text/html"
                with pytest.raises(json.JSONDecodeError):
                    response.json()
            else:
                assert "error" in response.json()
        assert sb.stats()["faults"]["errors"] == 30


def test_faults_are_reproducible_by_seed() -> None:
    def statuses() -> list[int]:
        with (
            running_sandbox(jobs=20, seed=99, error_rate=0.5) as sb,
            httpx.Client(headers=AUTH) as client,
        ):
            return [client.get(f"{sb.base_url}/jobs").status_code for _ in range(20)]

    first = statuses()
    assert 200 in first and set(first) - {200}
    assert statuses() == first


def test_truncated_bodies_fail_to_parse_but_errors_are_whole() -> None:
    with running_sandbox(jobs=20, truncate_rate=1.0) as sb, httpx.Client(headers=AUTH) as client:
        full = sb.store.page_json(None, 1, 20)
        response = client.get(f"{sb.base_url}/jobs")
        assert response.status_code == 200
        assert 0 < len(response.content) < len(full)
        assert full.startswith(response.content)
        with pytest.raises(json.JSONDecodeError):
            response.json()
        assert client.get(f"{sb.base_url}/jobs/nope").json()["error"]["code"] == "not_found"
        assert sb.stats()["faults"]["truncated"] == 1


def test_dropped_connections_get_no_response() -> None:
    with running_sandbox(jobs=20, drop_rate=1.0) as sb, httpx.Client(headers=AUTH) as client:
        for _ in range(3):
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                client.get(f"{sb.base_url}/jobs")
        assert client.get(f"{sb.root_url}/_sandbox/stats").status_code == 200
        stats = sb.stats()
        assert stats["faults"]["dropped"] == 3
        assert stats["requests"]["by_status"] == {"200": 1}, "only the stats call answered"


def test_drift_changes_the_listing_between_requests() -> None:
    with (
        running_sandbox(jobs=100, drift_inserts=2, drift_deletes=1) as sb,
        httpx.Client(headers=AUTH) as client,
    ):
        first = client.get(f"{sb.base_url}/jobs", params={"limit": 100}).json()
        second = client.get(f"{sb.base_url}/jobs", params={"limit": 100}).json()
        assert first["meta"]["total"] == 101
        assert second["meta"]["total"] == 102
        assert {j["id"] for j in first["data"]} != {j["id"] for j in second["data"]}
        faults = sb.stats()["faults"]
        assert (faults["drift_inserts"], faults["drift_deletes"]) == (4, 2)
