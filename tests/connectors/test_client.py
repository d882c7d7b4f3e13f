"""The client over ``httpx.MockTransport``: every status and failure in SPEC section 1, the SDK
surface, and what goes on the wire."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate

import httpx
import orjson
import pytest

import connectors
from connectors import (
    AuthenticationError,
    BadRequestError,
    Client,
    FatalError,
    Job,
    JobSphereError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RetryExhaustedError,
    ServerError,
    TruncatedResponseError,
)
from tests.connectors.conftest import API_KEY, FakeApi, FakeClock, fake_client


def _fail_first(
    api: FakeApi, times: int, answer: Callable[[httpx.Request], httpx.Response]
) -> FakeApi:
    def responder(request: httpx.Request, number: int) -> httpx.Response | None:
        return answer(request) if number <= times else None

    api.responder = responder
    return api


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc

    return answer


def _status(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, content=body, headers=headers)


FATAL = [
    (400, BadRequestError, "JobSphere rejected the request as malformed (400 Bad Request)"),
    (401, AuthenticationError, "JobSphere rejected the API key (401 Unauthorized)"),
    (403, PermissionDeniedError, "the API key is not allowed to do this (403 Forbidden)"),
    (404, NotFoundError, "JobSphere has no such resource (404 Not Found)"),
    (418, FatalError, "JobSphere refused the request (418)"),
]


@pytest.mark.parametrize(("status", "cls", "text"), FATAL, ids=[str(f[0]) for f in FATAL])
def test_fatal_statuses_raise_at_once_with_the_servers_message(
    clock: FakeClock, status: int, cls: type[FatalError], text: str
) -> None:
    body = orjson.dumps({"error": {"code": "x", "message": "server says why"}})
    api = _fail_first(FakeApi(count=5), 99, _status(status, body))
    with fake_client(api, clock) as client, pytest.raises(cls) as caught:
        list(client.jobs.scan())
    assert type(caught.value) is cls
    assert str(caught.value).startswith(text)
    assert str(caught.value).endswith(": server says why")
    assert len(api.requests) == 1 and clock.slept == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_succeed(clock: FakeClock, status: int) -> None:
    html = b"<html><body><h1>Bad Gateway</h1></body></html>"
    api = _fail_first(FakeApi(count=30), 2, _status(status, html, {"Content-Type": "text/html"}))
    with fake_client(api, clock) as client:
        scan = client.jobs.scan()
        ids = [r["id"] for page in scan for r in page.records]
    assert len(ids) == 30 and scan.report.complete
    assert scan.report.requests == 3
    assert clock.slept == [0.25, 0.5]


@pytest.mark.parametrize("status", [500, 503])
def test_persistent_server_errors_exhaust_retries(clock: FakeClock, status: int) -> None:
    api = _fail_first(FakeApi(count=3), 99, _status(status, b"not json at all"))
    with fake_client(api, clock) as client, pytest.raises(RetryExhaustedError) as caught:
        list(client.jobs.scan())
    assert isinstance(caught.value.last_error, ServerError)
    assert len(api.requests) == 6  # RetryPolicy.max_attempts
    assert f"JobSphere had a server error ({status})" in str(caught.value)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (httpx.RemoteProtocolError("Server disconnected"), "closed the connection"),
        (httpx.ReadError("connection reset by peer"), "connection reset"),
        (httpx.ConnectError("refused"), "could not connect"),
        (httpx.ReadTimeout("timed out"), "timed out"),
        (httpx.ConnectTimeout("timed out"), "timed out"),
    ],
    ids=["dropped", "reset", "refused", "read-timeout", "connect-timeout"],
)
def test_network_failures_are_translated_and_retried(
    clock: FakeClock, exc: Exception, reason: str
) -> None:
    api = _fail_first(FakeApi(count=10), 1, _raise(exc))
    with fake_client(api, clock) as client:
        scan = client.jobs.scan()
        assert sum(len(p.records) for p in scan) == 10
    assert len(api.requests) == 2 and len(clock.slept) == 1

    api = _fail_first(FakeApi(count=10), 99, _raise(exc))
    with fake_client(api, clock) as client, pytest.raises(RetryExhaustedError) as caught:
        list(client.jobs.scan())
    last = caught.value.last_error
    assert isinstance(last, NetworkError) and reason in str(last)
    assert isinstance(last.__cause__, httpx.TransportError)


@pytest.mark.parametrize(
    "body",
    [
        b'{"data":[{"id":"job_1","title":"Cut',
        b"<html>maintenance</html>",
        b'{"data": "nope", "meta": {"total": 1, "page": 1, "limit": 100}}',
        b'{"data": []}',
        b"[]",
    ],
    ids=["cut-short", "html", "data-not-list", "no-meta", "array"],
)
def test_unusable_200_bodies_count_as_truncated_and_are_retried(
    clock: FakeClock, body: bytes
) -> None:
    api = _fail_first(FakeApi(count=4), 1, _status(200, body))
    with fake_client(api, clock) as client:
        assert sum(len(p.records) for p in client.jobs.scan()) == 4
    assert len(clock.slept) == 1

    api = _fail_first(FakeApi(count=4), 99, _status(200, body))
    with fake_client(api, clock) as client, pytest.raises(RetryExhaustedError) as caught:
        list(client.jobs.scan())
    assert isinstance(caught.value.last_error, TruncatedResponseError)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_honours_retry_after_in_both_forms(clock: FakeClock, form: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        value = "4" if form == "seconds" else formatdate(clock.wall() + 4, usegmt=True)
        return httpx.Response(
            429, json={"error": "too many requests"}, headers={"Retry-After": value}
        )

    api = _fail_first(FakeApi(count=10), 2, answer)
    with fake_client(api, clock) as client:
        assert sum(len(p.records) for p in client.jobs.scan()) == 10
    assert clock.slept == [4.0, 4.0]


def test_429_without_retry_after_backs_off_and_lowers_concurrency(clock: FakeClock) -> None:
    api = _fail_first(FakeApi(count=10), 1, _status(429))
    with fake_client(api, clock, concurrency=8) as client:
        assert sum(len(p.records) for p in client.jobs.scan()) == 10
        assert client._limiter.limit == 4
    assert clock.slept == [0.25]


def test_requests_carry_bearer_auth_json_and_user_agent(clock: FakeClock) -> None:
    api = FakeApi(count=3)
    with fake_client(api, clock) as client:
        client.jobs.create({"title": "T", "company": "C", "location": "Remote", "type": "contract"})
        list(client.jobs.scan(q="engineer", location="Remote", type="full_time"))
    post, get = api.requests[0], api.requests[1]
    assert post.headers["Authorization"] == f"Bearer {API_KEY}"
    assert post.headers["Content-Type"] == "application/json"
    assert get.headers["Authorization"] == f"Bearer {API_KEY}"
    assert get.headers["User-Agent"].startswith("jobsphere-etl/")
    assert dict(get.url.params) == {
        "q": "engineer",
        "location": "Remote",
        "type": "full_time",
        "page": "1",
        "limit": "100",
    }


def test_sdk_surface_lists_creates_updates_deletes(clock: FakeClock) -> None:
    api = FakeApi(count=250)
    with fake_client(api, clock) as client:
        jobs = list(client.jobs.list())
        assert len(jobs) == 250 and all(isinstance(j, Job) for j in jobs)
        assert jobs[0].extra_field == {"nested": [250]}  # type: ignore[attr-defined]
        created = client.jobs.create(
            {"title": "Data Engineer", "company": "C", "location": "Remote", "type": "contract"}
        )
        assert created.title == "Data Engineer" and created.id
        updated = client.jobs.update(created.id, {"title": "Senior Data Engineer"})
        assert updated.title == "Senior Data Engineer" and updated.id == created.id
        client.jobs.delete(created.id)
        assert created.id not in api.ids()
        with pytest.raises(NotFoundError, match="no job with id"):
            client.jobs.update("job_missing", {"title": "x"})
        contract = list(client.jobs.list(type="contract"))
    assert contract == []


def test_post_is_not_retried_when_the_server_may_have_acted(clock: FakeClock) -> None:
    api = _fail_first(FakeApi(count=1), 99, _raise(httpx.ReadTimeout("timed out")))
    with fake_client(api, clock) as client, pytest.raises(NetworkError):
        client.jobs.create({"title": "T", "company": "C", "location": "Remote", "type": "contract"})
    assert len(api.requests) == 1

    api = _fail_first(FakeApi(count=1), 1, _status(429, b"", {"Retry-After": "1"}))
    with fake_client(api, clock) as client:
        client.jobs.create({"title": "T", "company": "C", "location": "Remote", "type": "contract"})
    assert len(api.requests) == 2


def test_client_requires_a_key_and_never_shows_it() -> None:
    with pytest.raises(ValueError, match="API key is required"):
        Client("  ")
    client = Client(API_KEY, transport=httpx.MockTransport(FakeApi(count=1)))
    with client:
        assert API_KEY not in repr(client)


def test_public_surface_is_declared() -> None:
    assert set(connectors.__all__) == {
        name for name in dir(connectors) if not name.startswith("_") and name[0].isupper()
    } | {
        "DEFAULT_BASE_URL",
        "error_for_status",
        "parse_retry_after",
        "redact",
        "register_secret",
        "decode_page",
        "split_records",
    }
    for name in connectors.__all__:
        assert hasattr(connectors, name)
    assert issubclass(RateLimitedError, JobSphereError)


def test_filters_are_encoded_as_httpx_would_encode_them(clock: FakeClock) -> None:
    filters = {"q": "data engineer/ü&x=1#", "location": "São Paulo, BR", "type": "a+b %20"}
    api = FakeApi(count=1)
    with fake_client(api, clock) as client:
        list(client.jobs.scan(**filters))
    bare = api.requests[0].url.copy_with(query=None)
    expected = httpx.Request("GET", bare, params={**filters, "page": 1, "limit": 100})
    assert api.requests[0].url.raw_path == expected.url.raw_path
    assert dict(api.requests[0].url.params) == {**filters, "page": "1", "limit": "100"}
