"""The page pump: a concurrent scan's requests from one thread, every failure handed to the
ordinary request path. Against a scripted raw-socket server (each test decides what the wire
does) and the sandbox (same pages, same report as the thread-per-request path)."""

from __future__ import annotations

import re
import socket
import threading
from typing import Any

import httpx
import orjson
import pytest

from connectors import Client
from connectors.errors import AuthenticationError
from connectors.pump import PagePump
from connectors.retry import RetryPolicy
from connectors.transport import request_bytes
from sandbox.testing import SandboxHandle, running_sandbox
from tests.connectors.test_transport import _response, _Server, _serving

PAGES = 12
LIMIT = 100


def _page_body(page: int, total: int = PAGES * LIMIT) -> bytes:
    first = total - (page - 1) * LIMIT
    data = [
        {"id": f"job_{n:06d}", "posted_at": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z"}
        for n in range(first, max(first - LIMIT, 0), -1)
    ]
    return orjson.dumps({"data": data, "meta": {"total": total, "page": page, "limit": LIMIT}})


def _page_of(request: bytes) -> int:
    found = re.search(rb"[?&]page=(\d+)", request)
    assert found is not None
    return int(found.group(1))


def _client(server: _Server, **kwargs: Any) -> Client:
    retry = RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=False)
    return Client("pump-key", server.url + "/v2", retry=retry, **kwargs)


def _pump_of(client: Client) -> PagePump:
    """The client's pump on its own, for pages that must never take the ordinary path."""
    factory = client._page_pump({})
    assert factory is not None

    def fallback(page: int, error: Any) -> Any:
        raise AssertionError(f"page {page} should not fail: {error}")

    pump = factory(LIMIT, lambda: False, lambda: None, fallback)
    assert isinstance(pump, PagePump)
    return pump


def _scan_ids(client: Client) -> tuple[list[str], Any]:
    scan = client.jobs.scan()
    ids = [job_id for page in scan for job_id in page.ids]
    return ids, scan.report


EXPECTED = [f"job_{n:06d}" for n in range(PAGES * LIMIT, 0, -1)]


def test_the_pump_sends_what_the_ordinary_path_sends() -> None:
    seen: list[bytes] = []

    def answer(conn: socket.socket, request: bytes) -> bool:
        seen.append(request)
        conn.sendall(_response(_page_body(_page_of(request))))
        return True

    filters = {"q": "data & ml", "location": "São Paulo", "type": "full_time"}
    with _serving(answer) as server, _client(server) as client:
        factory = client._page_pump(filters)
        assert factory is not None
        scan = client.jobs.scan(q=filters["q"], location=filters["location"], type="full_time")
        assert sum(len(page.ids) for page in scan) == PAGES * LIMIT
    by_page = {_page_of(request): request for request in seen}
    for page in range(2, PAGES + 1):
        params = {**filters, "page": page, "limit": LIMIT}
        expected = httpx.Request(
            "GET", f"{server.url}/v2/jobs", params=params, headers=client._headers
        )
        assert by_page[page] == request_bytes(expected, b"")


def test_failures_go_the_ordinary_way_and_every_attempt_is_counted() -> None:
    """A 503, a connection closed mid-response and one closed while idle: each page arrives once,
    the failed attempts are retried by the ordinary path and counted as requests."""
    attempts: dict[int, int] = {}
    lock = threading.Lock()

    def answer(conn: socket.socket, request: bytes) -> bool:
        page = _page_of(request)
        with lock:
            attempts[page] = attempts.get(page, 0) + 1
            first = attempts[page] == 1
        body = _page_body(page)
        if first and page == 3:
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            return True
        if first and page == 5:
            conn.sendall(_response(body)[:-10])  # cut short, then the connection closes
            return False
        conn.sendall(_response(body))
        return page % 4 != 0  # after pages 4, 8, 12: closed while idle, no "Connection: close"

    with _serving(answer) as server, _client(server) as client:
        ids, report = _scan_ids(client)
    assert ids == EXPECTED
    assert report.complete
    assert attempts[3] == 2 and attempts[5] == 2
    assert len(server.requests) == sum(attempts.values())
    # A request written just as the server closed the idle connection counts as an attempt
    # (it was sent) that the server never read: at most one per closing.
    assert len(server.requests) <= report.requests <= len(server.requests) + 3


def test_a_response_that_never_comes_times_out_and_is_asked_again() -> None:
    stalled: list[socket.socket] = []

    def answer(conn: socket.socket, request: bytes) -> bool:
        page = _page_of(request)
        if page == 6 and not stalled:
            stalled.append(conn)  # never answered: the pump's read timeout must fire
            return True
        conn.sendall(_response(_page_body(page)))
        return True

    with _serving(answer) as server, _client(server, timeout=0.5) as client:
        ids, report = _scan_ids(client)
    assert ids == EXPECTED and report.complete
    assert sorted(_page_of(r) for r in server.requests).count(6) == 2


def test_an_error_the_ordinary_path_would_raise_is_raised() -> None:
    def answer(conn: socket.socket, request: bytes) -> bool:
        page = _page_of(request)
        if page == 7:
            body = b'{"error": {"code": "unauthorized", "message": "key revoked"}}'
            head = f"HTTP/1.1 401 Unauthorized\r\nContent-Length: {len(body)}\r\n\r\n"
            conn.sendall(head.encode() + body)
            return True
        conn.sendall(_response(_page_body(page)))
        return True

    with (
        _serving(answer) as server,
        _client(server) as client,
        pytest.raises(AuthenticationError, match="key revoked"),
    ):
        _scan_ids(client)
    assert not [t for t in threading.enumerate() if t.name == "jobsphere-pump"]


def test_pages_and_report_are_those_of_the_thread_per_request_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def scan(sandbox: SandboxHandle) -> tuple[list[tuple[int, list[str], list[bytes]]], Any]:
        with Client(sandbox.api_key, sandbox.base_url) as client:
            result = client.jobs.scan()
            pages = [(p.number, p.ids, [bytes(t) for t in p.texts]) for p in result]
        return pages, result.report

    with running_sandbox(jobs=3_000, seed=5) as sandbox:
        with Client(sandbox.api_key, sandbox.base_url) as client:
            assert client._page_pump({}) is not None
        pumped, pumped_report = scan(sandbox)
        monkeypatch.setattr(Client, "_page_pump", lambda self, filters: None)
        threaded, threaded_report = scan(sandbox)
    assert pumped == threaded
    assert pumped_report == threaded_report
    assert pumped_report.complete and pumped_report.requests == len(pumped)  # page 1 twice


def test_closing_abandons_what_is_not_answered_and_returns_connections() -> None:
    release = threading.Event()

    def answer(conn: socket.socket, request: bytes) -> bool:
        if _page_of(request) > 2:
            release.wait(5)
        conn.sendall(_response(_page_body(_page_of(request))))
        return True

    with _serving(answer) as server, _client(server) as client:
        pump = _pump_of(client)
        first = pump.submit(2).result(timeout=5)
        assert first.body.meta.page == 2
        later = [pump.submit(page) for page in range(3, 6)]
        pump.close()
        release.set()
        assert all(future.cancelled() for future in later)
        assert not [t for t in threading.enumerate() if t.name == "jobsphere-pump"]


def test_a_page_submitted_while_a_slot_is_free_goes_out_before_any_response() -> None:
    """Submissions skip the wake-up only while every slot is taken; with a slot free and a
    request still unanswered, the next page must not wait for that response."""
    arrived = {page: threading.Event() for page in (2, 3)}
    release = threading.Event()

    def answer(conn: socket.socket, request: bytes) -> bool:
        page = _page_of(request)
        arrived[page].set()
        release.wait(5)
        conn.sendall(_response(_page_body(page)))
        return True

    with _serving(answer) as server, _client(server, concurrency=4) as client:
        pump = _pump_of(client)
        try:
            first = pump.submit(2)
            assert arrived[2].wait(5)
            second = pump.submit(3)
            assert arrived[3].wait(5), "page 3 waited for page 2's response"
            release.set()
            assert [first.result(5).body.meta.page, second.result(5).body.meta.page] == [2, 3]
        finally:
            release.set()
            pump.close()


def test_pages_submitted_while_every_slot_is_taken_all_arrive() -> None:
    """With one slot, every submission after the first finds it taken (no wake-up): each page
    is sent once the response before it frees the slot."""

    def answer(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(_response(_page_body(_page_of(request))))
        return True

    with _serving(answer) as server, _client(server, concurrency=1) as client:
        pump = _pump_of(client)
        try:
            futures = [pump.submit(page) for page in range(2, PAGES + 1)]
            assert [f.result(5).body.meta.page for f in futures] == list(range(2, PAGES + 1))
        finally:
            pump.close()
