"""Signed webhook delivery from the sandbox to a real receiving server."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import httpx

from connectors.webhook_signature import SIGNATURE_HEADER, verify
from sandbox import running_sandbox

# The Receiver class lives in conftest.py; tests reach it through fixtures only.
Receiver = Any

AUTH = {"Authorization": "Bearer sandbox-key"}


def _events(receiver: Receiver, secrets: list[str]) -> list[dict[str, Any]]:
    events = []
    for headers, body in receiver.received:
        verify(body, headers[SIGNATURE_HEADER.lower()], secrets)
        events.append(json.loads(body))
    return events


def test_mutations_arrive_as_signed_verifiable_events(receiver: Receiver) -> None:
    with running_sandbox(jobs=50, webhook_url=receiver.url, webhook_secret="whsec") as sb:
        done = sb.mutate(creates=2, updates=1, deletes=1, applications=1, status_changes=1)
        sb.wait_webhooks_drained()
        events = _events(receiver, ["whsec"])
        assert Counter(e["type"] for e in events) == {
            "job.created": 2,
            "job.updated": 1,
            "application.received": 1,
            "candidate.status_changed": 1,
        }
        for event in events:
            assert set(event) == {"id", "type", "created_at", "data"}
            assert event["id"].startswith("evt_")
            assert datetime.fromisoformat(event["created_at"]).utcoffset() is not None
        assert len({e["id"] for e in events}) == len(events)
        created = [e["data"]["job"] for e in events if e["type"] == "job.created"]
        assert [job["id"] for job in created] == done["created"]
        assert created[0] == sb.store.get(done["created"][0])
        application = next(e for e in events if e["type"] == "application.received")
        assert set(application["data"]["application"]) == {
            "id",
            "job_id",
            "candidate_id",
            "status",
            "applied_at",
        }
        assert sb.stats()["webhooks"]["sent"] == 5


def test_api_writes_emit_events_and_delete_emits_none(receiver: Receiver) -> None:
    with (
        running_sandbox(jobs=10, webhook_url=receiver.url, webhook_secret="k") as sb,
        httpx.Client(base_url=sb.base_url, headers=AUTH) as client,
    ):
        body = {"title": "A", "company": "B", "location": "London, UK", "type": "contract"}
        job = client.post("/jobs", json=body).json()
        client.put(f"/jobs/{job['id']}", json={"title": "A2"})
        assert client.delete(f"/jobs/{job['id']}").status_code == 204
        sb.wait_webhooks_drained()
        events = _events(receiver, ["k"])
        assert [(e["type"], e["data"]["job"]["title"]) for e in events] == [
            ("job.created", "A"),
            ("job.updated", "A2"),
        ]


def test_rotation_signs_with_every_secret(receiver: Receiver) -> None:
    with running_sandbox(jobs=10, webhook_url=receiver.url, webhook_secret="old, new") as sb:
        sb.mutate(creates=1)
        sb.wait_webhooks_drained()
    headers, body = receiver.received[0]
    assert headers[SIGNATURE_HEADER.lower()].count("v1=") == 2
    verify(body, headers[SIGNATURE_HEADER.lower()], ["new"])
    verify(body, headers[SIGNATURE_HEADER.lower()], ["old"])


def test_failed_deliveries_are_retried_until_they_succeed(
    asgi_server: Any, make_receiver: Any
) -> None:
    flaky = make_receiver(fail_first=3)
    with (
        asgi_server(flaky) as root,
        running_sandbox(jobs=10, webhook_url=f"{root}/hook", webhook_secret="k") as sb,
    ):
        sb.mutate(creates=1)
        sb.wait_webhooks_drained()
        stats = sb.stats()["webhooks"]
    assert flaky.attempts == 4
    assert len(flaky.received) == 1
    assert (stats["failed"], stats["sent"], stats["gave_up"]) == (3, 1, 0)


def test_a_receiver_that_never_recovers_is_given_up_on(
    asgi_server: Any, make_receiver: Any
) -> None:
    down = make_receiver(fail_first=10**6)
    with (
        asgi_server(down) as root,
        running_sandbox(
            jobs=10, webhook_url=f"{root}/hook", webhook_secret="k", webhook_max_attempts=3
        ) as sb,
    ):
        sb.mutate(creates=1)
        sb.wait_webhooks_drained()
        stats = sb.stats()["webhooks"]
    assert down.attempts == 3
    assert (stats["failed"], stats["sent"], stats["gave_up"], stats["pending"]) == (3, 0, 1, 0)


def test_duplicates_resend_the_same_event(receiver: Receiver) -> None:
    with running_sandbox(
        jobs=10, webhook_url=receiver.url, webhook_secret="k", webhook_duplicate_rate=1.0
    ) as sb:
        sb.mutate(creates=3)
        sb.wait_webhooks_drained()
        assert sb.stats()["webhooks"]["duplicates"] == 3
    ids = Counter(e["id"] for e in _events(receiver, ["k"]))
    assert len(ids) == 3 and set(ids.values()) == {2}


def test_shuffle_delivers_everything_in_another_order(receiver: Receiver) -> None:
    with running_sandbox(
        jobs=10, webhook_url=receiver.url, webhook_secret="k", webhook_shuffle=True
    ) as sb:
        created = sb.mutate(creates=16)["created"]
        sb.wait_webhooks_drained()
    delivered = [e["data"]["job"]["id"] for e in _events(receiver, ["k"])]
    assert sorted(delivered) == sorted(created)
    assert delivered != created
