"""Every answer of ``POST /webhooks/jobsphere`` and ``GET /healthz`` (SPEC section 2)."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import orjson
import pytest

from connectors.webhook_signature import SIGNATURE_HEADER, sign
from tests.webhooks.conftest import NOW, OLD_SECRET, SECRET, Receiver, envelope, signed
from webhooks.app import WEBHOOK_PATH

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def receiver(make_receiver: Callable[..., Receiver]) -> Receiver:
    return make_receiver()


async def test_stores_a_signed_event_and_answers_after_storing(receiver: Receiver) -> None:
    response = await receiver.post_event(envelope("evt_a"))
    assert response.status_code == 200
    assert response.json() == {"status": "stored"}
    pending = receiver.inbox.pending(10)
    assert pending["event_id"].to_list() == ["evt_a"]
    assert orjson.loads(pending["payload"][0]) == envelope("evt_a")
    assert receiver.stored == [1]


async def test_duplicate_event_id_is_2xx_and_counted(receiver: Receiver) -> None:
    first = await receiver.post_event(envelope("evt_dup"))
    second = await receiver.post_event(envelope("evt_dup"))
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"status": "duplicate"}
    pending = receiver.inbox.pending(10)
    assert pending.height == 1
    assert pending["deliveries"].to_list() == [2]
    assert receiver.stored == [1]  # the applier is only woken for new events


async def test_unknown_event_type_is_stored(receiver: Receiver) -> None:
    response = await receiver.post_event(envelope("evt_x", event_type="company.renamed"))
    assert response.status_code == 200
    assert receiver.inbox.pending(10)["event_type"].to_list() == ["company.renamed"]


def _body() -> bytes:
    return orjson.dumps(envelope("evt_sig"))


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, _body()),
        ({SIGNATURE_HEADER: ""}, _body()),
        ({SIGNATURE_HEADER: "garbage"}, _body()),
        ({SIGNATURE_HEADER: f"t={int(NOW)}"}, _body()),
        ({SIGNATURE_HEADER: f"v1={'0' * 64}"}, _body()),
        ({SIGNATURE_HEADER: sign(_body(), "wrong-secret", timestamp=int(NOW))}, _body()),
        ({SIGNATURE_HEADER: sign(_body(), SECRET, timestamp=int(NOW))}, _body() + b" "),
        (
            {SIGNATURE_HEADER: sign(_body(), SECRET, timestamp=int(NOW))},
            _body().replace(b"sig", b"siG"),
        ),
        (
            {
                SIGNATURE_HEADER: sign(_body(), SECRET, timestamp=int(NOW) + 1).replace(
                    f"t={int(NOW) + 1}", f"t={int(NOW)}"
                )
            },
            _body(),
        ),
        ({SIGNATURE_HEADER: sign(_body(), SECRET, timestamp=int(NOW - 301))}, _body()),
        ({SIGNATURE_HEADER: sign(_body(), SECRET, timestamp=int(NOW + 301))}, _body()),
        ({SIGNATURE_HEADER: sign(_body(), SECRET, timestamp=int(NOW - 86_400))}, _body()),
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "no-v1",
        "no-timestamp",
        "wrong-secret",
        "body-appended",
        "body-altered",
        "timestamp-swapped",
        "stale-301s",
        "future-301s",
        "replayed-day-old",
    ],
)
async def test_unsigned_or_badly_signed_is_401_and_not_stored(
    receiver: Receiver, headers: dict[str, str], body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="webhooks.receiver"):
        response = await receiver.client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 401
    assert receiver.inbox.backlog().count == 0
    assert "rejected with 401" in caplog.text
    assert SECRET not in caplog.text and SECRET not in response.text
    for value in headers.values():
        for part in value.split(","):
            if part.startswith("v1="):
                assert part[3:] not in caplog.text


@pytest.mark.parametrize("offset", [-300, 300, 0], ids=["past-edge", "future-edge", "now"])
async def test_timestamp_exactly_at_the_tolerance_is_accepted(
    receiver: Receiver, offset: int
) -> None:
    response = await receiver.post_event(envelope(f"evt_edge{offset}"), at=NOW + offset)
    assert response.status_code == 200


async def test_tolerance_is_configurable(make_receiver: Callable[..., Receiver]) -> None:
    strict = make_receiver(tolerance=10)
    assert (await strict.post_event(envelope("evt_t1"), at=NOW - 10)).status_code == 200
    assert (await strict.post_event(envelope("evt_t2"), at=NOW - 11)).status_code == 401


async def test_rotation_any_v1_entry_and_any_configured_secret(
    make_receiver: Callable[..., Receiver],
) -> None:
    rotating = make_receiver(secrets=(SECRET, OLD_SECRET))
    # Sender signs with an unknown new secret and our old one: the old one matches.
    both = await rotating.post_event(envelope("evt_r1"), secrets=["brand-new", OLD_SECRET])
    # Sender signs with our current secret only.
    current = await rotating.post_event(envelope("evt_r2"), secrets=[SECRET])
    # Sender signs with our current secret second.
    second = await rotating.post_event(envelope("evt_r3"), secrets=["other", SECRET])
    assert [r.status_code for r in (both, current, second)] == [200, 200, 200]
    only_old = make_receiver(secrets=(SECRET,))
    assert (await only_old.post_event(envelope("evt_r4"), secrets=[OLD_SECRET])).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'"evt"',
        b"null",
        orjson.dumps({"type": "job.updated", "created_at": "2027-01-15T08:00:00Z", "data": {}}),
        orjson.dumps({**envelope(), "id": 123}),
        orjson.dumps({**envelope(), "id": ""}),
        orjson.dumps({**envelope(), "type": None}),
        orjson.dumps({**envelope(), "data": []}),
        orjson.dumps({**envelope(), "data": "x"}),
        orjson.dumps({**envelope(), "created_at": "yesterday"}),
        orjson.dumps({**envelope(), "created_at": 1_800_000_000}),
        orjson.dumps({**envelope(), "created_at": "2027-01-15T08:00:00"}),
        orjson.dumps({**envelope(), "created_at": "2027-01-15"}),
        b"\xff\xfe{}",
    ],
    ids=[
        "malformed",
        "empty",
        "array",
        "string",
        "null",
        "no-id",
        "int-id",
        "empty-id",
        "null-type",
        "data-array",
        "data-string",
        "created-at-words",
        "created-at-number",
        "created-at-naive",
        "created-at-date",
        "not-utf8",
    ],
)
async def test_not_an_envelope_is_400_and_not_stored(receiver: Receiver, body: bytes) -> None:
    response = await receiver.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    assert response.status_code == 400
    assert receiver.inbox.backlog().count == 0


async def test_envelope_with_offset_and_extra_keys_is_accepted(receiver: Receiver) -> None:
    event = {**envelope("evt_off", created_at="2027-01-15T10:00:00.5+02:00"), "api_version": "2"}
    assert (await receiver.post_event(event)).status_code == 200
    stored = receiver.inbox.pending(1)
    assert stored["created_at"][0].isoformat() == "2027-01-15T08:00:00.500000+00:00"


async def test_declared_content_length_over_1_mib_is_413_before_reading(receiver: Receiver) -> None:
    consumed: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(32):
            consumed.append(1)
            yield b"x" * 65_536

    headers = {"content-length": str(2 * MiB), SIGNATURE_HEADER: f"t={int(NOW)},v1=00"}
    response = await receiver.client.post(WEBHOOK_PATH, content=body(), headers=headers)
    assert response.status_code == 413
    assert len(consumed) <= 1  # ASGITransport primes one chunk; the app read none of them


async def test_streamed_body_over_1_mib_is_413_without_reading_it_all(receiver: Receiver) -> None:
    consumed: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB in total, no Content-Length (chunked)
            consumed.append(1)
            yield b"x" * 65_536

    response = await receiver.client.post(
        WEBHOOK_PATH, content=body(), headers={SIGNATURE_HEADER: "t=1,v1=00"}
    )
    assert response.status_code == 413
    assert 16 <= len(consumed) <= 18  # stopped right after crossing 1 MiB
    assert receiver.inbox.backlog().count == 0


async def test_body_of_exactly_1_mib_is_accepted(receiver: Receiver) -> None:
    event = envelope("evt_big", data={"pad": ""})
    pad = MiB - len(orjson.dumps(event))
    event["data"]["pad"] = "p" * pad
    body = orjson.dumps(event)
    assert len(body) == MiB
    response = await receiver.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    assert response.status_code == 200
    too_big = orjson.dumps({**event, "id": "evt_big2", "data": {"pad": "p" * (pad + 1)}})
    response = await receiver.client.post(WEBHOOK_PATH, content=too_big, headers=signed(too_big))
    assert response.status_code == 413


async def test_healthz_reports_the_backlog(receiver: Receiver) -> None:
    empty = (await receiver.client.get("/healthz")).json()
    assert empty["status"] == "ok" and empty["backlog"] == 0 and empty["oldest_received_at"] is None
    await receiver.post_event(envelope("evt_h1"))
    await receiver.post_event(envelope("evt_h2"))
    health = (await receiver.client.get("/healthz")).json()
    assert health["backlog"] == 2
    assert health["oldest_received_at"] is not None


def test_real_server_answers_413_while_the_sender_is_still_sending(
    make_receiver: Callable[..., Receiver],
) -> None:
    """Over a real socket: headers promise 2 MiB, 1 KiB is sent, the 413 arrives anyway."""
    import threading

    import uvicorn

    receiver = make_receiver()
    transport = receiver.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(transport.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(
                f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {2 * MiB}\r\n{SIGNATURE_HEADER}: t=1,v1=00\r\n\r\n".encode()
                + b"x" * 1024
            )
            reply = conn.recv(4096)
        assert reply.startswith(b"HTTP/1.1 413")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def test_concurrent_requests_share_commits_and_each_id_is_stored_once(
    receiver: Receiver,
) -> None:
    import asyncio

    events = [envelope(f"evt_c{i % 10}") for i in range(30)]  # every id three times
    responses = await asyncio.gather(*(receiver.post_event(e) for e in events))
    assert {r.status_code for r in responses} == {200}
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("stored") == 10 and statuses.count("duplicate") == 20
    pending = receiver.inbox.pending(100)
    assert pending.height == 10 and set(pending["deliveries"]) == {3}
    assert len(receiver.stored) == 10


async def test_other_paths_and_methods_are_404_and_405(receiver: Receiver) -> None:
    assert (await receiver.client.get("/nope")).status_code == 404
    wrong = await receiver.client.get(WEBHOOK_PATH)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert (await receiver.client.post("/healthz")).status_code == 405
    assert (await receiver.client.head("/healthz")).status_code == 200
    assert receiver.inbox.backlog().count == 0


async def test_lifespan_shutdown_closes_an_inbox_the_app_opened(tmp_path: Path) -> None:
    from pydantic import SecretStr

    from webhooks.app import create_app
    from webhooks.settings import ReceiverSettings

    settings = ReceiverSettings(secrets=(SecretStr(SECRET),), inbox_path=tmp_path / "own.sqlite3")
    app = create_app(settings, clock=lambda: NOW)
    sent: list[str] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    with pytest.raises(Exception, match="closed"):
        app.inbox.backlog()
