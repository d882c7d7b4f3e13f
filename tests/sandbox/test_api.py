"""The /v2 API over real HTTP: status codes, filters, ordering, paging, writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import SandboxHandle, running_sandbox

AUTH = {"Authorization": "Bearer sandbox-key"}
READER = {"Authorization": "Bearer reader"}


@pytest.fixture
def client(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=AUTH, timeout=10) as c:
        yield c


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "message"}
    return body["error"]


def test_list_defaults_and_envelope(client: httpx.Client) -> None:
    body = client.get("/jobs").json()
    assert body["meta"] == {"total": 500, "page": 1, "limit": 20}
    assert len(body["data"]) == 20
    keys = [(j["posted_at"], j["id"]) for j in body["data"]]
    assert keys == sorted(keys, reverse=True)


def test_paging_covers_every_job_once_and_past_the_end_is_empty(client: httpx.Client) -> None:
    ids: list[str] = []
    for page in range(1, 6):
        body = client.get("/jobs", params={"limit": 100, "page": page}).json()
        assert body["meta"]["total"] == 500
        ids += [job["id"] for job in body["data"]]
    assert len(set(ids)) == 500
    assert client.get("/jobs", params={"limit": 100, "page": 6}).json()["data"] == []


def test_filters_over_http(client: httpx.Client) -> None:
    body = client.get("/jobs", params={"location": "remote", "type": "full_time", "limit": 100})
    data = body.json()["data"]
    assert data
    assert all("remote" in j["location"].lower() and j["type"] == "full_time" for j in data)
    q = client.get("/jobs", params={"q": "ENGINEER", "limit": 100}).json()
    assert 0 < q["meta"]["total"] < 500
    assert all(
        "engineer" in (j["title"] + j["company"] + j["description"]).lower() for j in q["data"]
    )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"page": 0},
        {"page": "x"},
        {"type": "freelance"},
    ],
    ids=["limit-0", "limit-101", "limit-text", "limit-float", "page-0", "page-text", "type"],
)
def test_bad_parameters_answer_400_with_a_json_error(
    client: httpx.Client, params: dict[str, Any]
) -> None:
    assert _error(client.get("/jobs", params=params), 400)["code"] == "bad_request"


def test_missing_or_unknown_key_is_401_and_never_echoed(sandbox: SandboxHandle) -> None:
    assert _error(httpx.get(f"{sandbox.base_url}/jobs"), 401)["code"] == "unauthorized"
    wrong = httpx.get(f"{sandbox.base_url}/jobs", headers={"Authorization": "Bearer s3cr3t-guess"})
    assert _error(wrong, 401)["code"] == "unauthorized"
    assert "s3cr3t-guess" not in wrong.text
    basic = httpx.get(f"{sandbox.base_url}/jobs", headers={"Authorization": "Basic sandbox-key"})
    assert basic.status_code == 401


def test_read_only_key_reads_but_may_not_write(sandbox: SandboxHandle) -> None:
    with httpx.Client(base_url=sandbox.base_url, headers=READER) as reader:
        assert reader.get("/jobs").status_code == 200
        job_id = reader.get("/jobs").json()["data"][0]["id"]
        assert _error(reader.post("/jobs", json={}), 403)["code"] == "forbidden"
        assert _error(reader.put(f"/jobs/{job_id}", json={"title": "x"}), 403)
        assert _error(reader.delete(f"/jobs/{job_id}"), 403)
        mutate = reader.post(f"{sandbox.root_url}/_sandbox/mutate", json={"creates": 1})
        assert mutate.status_code == 403
    assert sandbox.store.total() == 500


def test_unknown_job_and_route_are_404(client: httpx.Client, sandbox: SandboxHandle) -> None:
    assert _error(client.get("/jobs/job_999999999"), 404)["code"] == "not_found"
    assert _error(client.put("/jobs/nope", json={"title": "x"}), 404)
    assert _error(client.delete("/jobs/nope"), 404)
    assert _error(client.get(f"{sandbox.root_url}/v1/jobs"), 404)


def test_create_update_delete_round_trip() -> None:
    with (
        running_sandbox(jobs=30, seed=3, updated_at=True) as sb,
        httpx.Client(base_url=sb.base_url, headers=AUTH) as client,
    ):
        new = {"title": "Sandbox Tester", "company": "Q", "location": "Dubai, UAE"}
        assert _error(client.post("/jobs", json=new), 400)["message"].startswith("missing")
        created = client.post("/jobs", json={**new, "type": "contract", "extra": [1]})
        assert created.status_code == 201
        job = created.json()
        assert job["extra"] == [1] and job["id"] == "job_000000031"
        assert client.get("/jobs", params={"limit": 1}).json()["data"][0] == job
        updated = client.put(f"/jobs/{job['id']}", json={"type": "part_time"})
        assert updated.status_code == 200
        assert updated.json()["type"] == "part_time"
        assert updated.json()["updated_at"] > job["updated_at"]
        assert client.get(f"/jobs/{job['id']}").json() == updated.json()
        assert client.delete(f"/jobs/{job['id']}").status_code == 204
        assert client.get(f"/jobs/{job['id']}").status_code == 404
        assert client.get("/jobs").json()["meta"]["total"] == 30


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/jobs"), ("PUT", "/jobs/job_000000001")], ids=["post", "put"]
)
@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'"text"'], ids=["malformed", "array", "string"]
)
def test_bad_bodies_are_400(client: httpx.Client, method: str, path: str, content: bytes) -> None:
    response = client.request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )
    assert _error(response, 400)["code"] == "bad_request"


def test_oversized_body_is_413(client: httpx.Client) -> None:
    response = client.post("/jobs", content=b"x" * (1024 * 1024 + 1))
    assert _error(response, 413)["code"] == "payload_too_large"


def test_mutate_route_validates_and_reports(sandbox: SandboxHandle) -> None:
    with httpx.Client(base_url=sandbox.root_url, headers=AUTH) as client:
        assert client.post("/_sandbox/mutate", json={"explode": 1}).status_code == 400
        assert client.post("/_sandbox/mutate", json={"creates": -1}).status_code == 400
        assert client.post("/_sandbox/mutate", content=b"{").status_code == 400
        assert client.post("/_sandbox/mutate").json()["created"] == []
        assert httpx.post(f"{sandbox.root_url}/_sandbox/mutate").status_code == 401
        stats = client.get("/_sandbox/stats").json()
        assert stats["jobs"]["total"] == sandbox.store.total()
        assert stats["config"]["api_key"] == "***"
        assert "sandbox-key" not in str(stats)


def test_a_million_job_sandbox_serves_a_deep_page_without_materializing() -> None:
    with (
        running_sandbox(jobs=1_000_000, seed=42) as sb,
        httpx.Client(base_url=sb.base_url, headers=AUTH) as client,
    ):
        body = client.get("/jobs", params={"page": 5000, "limit": 100}).json()
        assert body["meta"] == {"total": 1_000_000, "page": 5000, "limit": 100}
        assert body["data"][0]["id"] == "job_000500100"
        assert sb.store.materialized_jobs() == 100
        assert sb.store.nbytes() < 64 * 1024 * 1024
