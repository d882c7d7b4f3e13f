"""Status classification and the retry policy, on a fake clock (nothing sleeps for real)."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from connectors import (
    AuthenticationError,
    BadRequestError,
    FatalError,
    JobSphereError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RetriableError,
    RetryExhaustedError,
    ServerError,
    error_for_status,
    parse_retry_after,
)
from tests.connectors.conftest import FakeClock


@pytest.mark.parametrize(
    ("status", "cls", "retriable"),
    [
        (400, BadRequestError, False),
        (401, AuthenticationError, False),
        (403, PermissionDeniedError, False),
        (404, NotFoundError, False),
        (409, FatalError, False),
        (422, FatalError, False),
        (429, RateLimitedError, True),
        (500, ServerError, True),
        (502, ServerError, True),
        (503, ServerError, True),
        (504, ServerError, True),
        (302, FatalError, False),
    ],
    ids=lambda v: str(v) if isinstance(v, int | bool) else v.__name__,
)
def test_one_function_classifies_every_status(
    status: int, cls: type[JobSphereError], retriable: bool
) -> None:
    error = error_for_status(status, action="GET /jobs page=1")
    assert type(error) is cls
    assert isinstance(error, RetriableError) is retriable
    assert isinstance(error, FatalError) is (not retriable)
    assert error.status == status
    assert "GET /jobs page=1" in str(error)


def test_messages_say_what_happened_and_carry_the_servers_text() -> None:
    error = error_for_status(401, action="GET /jobs", server_message="invalid API key")
    assert str(error) == (
        "JobSphere rejected the API key (401 Unauthorized) on GET /jobs: invalid API key"
    )
    limited = error_for_status(429, action="GET /jobs", retry_after=3.0)
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 3.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("", None),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
    ids=repr,
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=1_000.0) == expected


def test_retry_after_http_date_is_measured_against_the_wall_clock() -> None:
    now = 1_767_225_600.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def _failing(errors: list[Exception], result: str = "ok") -> tuple[list[int], object]:
    calls: list[int] = []

    def operation() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return calls, operation


def test_backoff_is_exponential_and_capped(clock: FakeClock) -> None:
    policy = clock.policy(base_delay=1.0, max_delay=5.0, max_attempts=6, max_total=1_000)
    errors: list[Exception] = [ServerError("boom", status=503) for _ in range(5)]
    calls, operation = _failing(errors)
    assert policy.run(operation, action="GET /jobs") == "ok"  # type: ignore[arg-type]
    assert len(calls) == 6
    assert clock.slept == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_full_jitter_stays_within_the_exponential_ceiling(clock: FakeClock) -> None:
    policy = clock.policy(base_delay=1.0, max_delay=8.0, jitter=True, max_attempts=5)
    error = NetworkError("dropped")
    delays = [policy.delay(attempt, error) for attempt in (1, 2, 3, 4, 5) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert max(policy.delay(1, error) for _ in range(50)) <= 1.0
    assert len(set(delays)) > 10  # really random, not a constant


@pytest.mark.parametrize("retry_after", [3.0, 0.5], ids=["3s", "half-second"])
def test_rate_limit_waits_what_the_server_says(clock: FakeClock, retry_after: float) -> None:
    policy = clock.policy(base_delay=10.0)
    _calls, operation = _failing([RateLimitedError("slow down", retry_after=retry_after)])
    assert policy.run(operation, action="GET /jobs") == "ok"  # type: ignore[arg-type]
    assert clock.slept == [retry_after]


def test_retry_after_is_capped_at_max_delay(clock: FakeClock) -> None:
    policy = clock.policy(max_delay=20.0, max_total=1_000)
    _, operation = _failing([RateLimitedError("slow down", retry_after=3_600)])
    policy.run(operation, action="GET /jobs")  # type: ignore[arg-type]
    assert clock.slept == [20.0]


def test_attempts_are_bounded(clock: FakeClock) -> None:
    policy = clock.policy(max_attempts=3, base_delay=0.1)
    calls, operation = _failing([ServerError("boom", status=500) for _ in range(10)])
    with pytest.raises(RetryExhaustedError) as caught:
        policy.run(operation, action="GET /jobs page=2")  # type: ignore[arg-type]
    assert len(calls) == 3 and len(clock.slept) == 2
    assert isinstance(caught.value.last_error, ServerError)
    assert caught.value.attempts == 3
    assert "gave up on GET /jobs page=2 after 3 attempts" in str(caught.value)
    assert isinstance(caught.value.__cause__, ServerError)


def test_total_time_is_bounded(clock: FakeClock) -> None:
    policy = clock.policy(max_attempts=100, base_delay=4.0, max_delay=20.0, max_total=30.0)
    _calls, operation = _failing([NetworkError("timed out") for _ in range(100)])
    with pytest.raises(RetryExhaustedError, match="30 s retry budget"):
        policy.run(operation, action="GET /jobs")  # type: ignore[arg-type]
    assert sum(clock.slept) <= 30.0
    assert clock.slept == [4.0, 8.0, 16.0]  # the next 20 s wait would cross 30 s


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("bad", status=400),
        AuthenticationError("key", status=401),
        PermissionDeniedError("perm", status=403),
        NotFoundError("gone", status=404),
    ],
    ids=["400", "401", "403", "404"],
)
def test_fatal_errors_are_never_retried(clock: FakeClock, error: FatalError) -> None:
    calls, operation = _failing([error])
    with pytest.raises(type(error)):
        clock.policy().run(operation, action="GET /jobs")  # type: ignore[arg-type]
    assert len(calls) == 1 and clock.slept == []


def test_retry_if_narrows_what_is_retried(clock: FakeClock) -> None:
    calls, operation = _failing([ServerError("boom", status=500)])
    with pytest.raises(ServerError):
        clock.policy().run(
            operation,  # type: ignore[arg-type]
            action="POST /jobs",
            retry_if=lambda e: isinstance(e, RateLimitedError),
        )
    assert len(calls) == 1
