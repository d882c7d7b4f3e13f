"""The API key never reaches a log line, an error message or an error's repr."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from connectors import Client, JobSphereError, RedactingFilter, RetryPolicy, redact
from connectors.models import Job, decode_page, split_records
from sandbox.testing import running_sandbox
from tests.connectors.conftest import API_KEY, FakeApi, FakeClock, fake_client


def test_redact_masks_given_secrets_and_bearer_tokens() -> None:
    text = f"GET /jobs?key={API_KEY} Authorization: Bearer {API_KEY} bearer other-token"
    masked = redact(text, [API_KEY])
    assert API_KEY not in masked and "other-token" not in masked
    assert masked.count("***") == 3
    assert redact("nothing secret here", ["sk-long-secret"]) == "nothing secret here"


def test_filter_masks_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key=%s", (API_KEY,), None)
    try:
        raise RuntimeError(f"failed with {API_KEY}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    Client(API_KEY, transport=httpx.MockTransport(FakeApi(count=0))).close()  # registers the key
    assert RedactingFilter().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert API_KEY not in formatted and "key=***" in formatted and "failed with ***" in formatted


def _all_text(errors: list[BaseException]) -> str:
    parts: list[str] = []
    for error in errors:
        parts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    return "\n".join(parts)


def test_key_never_in_logs_or_errors_against_the_sandbox(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "sk-live-0123456789abcdef"
    errors: list[BaseException] = []
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "connectors"):
        caplog.set_level(logging.DEBUG, logger=name)
    fast = RetryPolicy(base_delay=0.001, max_delay=0.01, max_attempts=3)
    with running_sandbox(jobs=250, seed=4, api_key=secret, error_rate=0.3, drop_rate=0.1) as sb:
        with Client(secret, sb.base_url, retry=fast) as client:
            try:
                list(client.jobs.scan())
            except JobSphereError as exc:  # 30% errors may exhaust 3 attempts; fine either way
                errors.append(exc)
            try:
                client.jobs.update("job_missing", {"title": "x"})
            except JobSphereError as exc:
                errors.append(exc)
        wrong = secret[::-1]
        with Client(wrong, sb.base_url, retry=fast) as stranger:
            try:
                list(stranger.jobs.scan())
            except JobSphereError as exc:
                errors.append(exc)
    assert any("401 Unauthorized" in str(e) for e in errors)
    assert caplog.records, "expected DEBUG records from httpx/httpcore/connectors"
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for key in (secret, wrong):
        assert key not in logged
        assert key not in _all_text(errors)


def test_key_not_in_retry_exhausted_or_network_errors(clock: FakeClock) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach, auth={request.headers['Authorization']}")

    with fake_client(explode, clock) as client, pytest.raises(JobSphereError) as caught:
        list(client.jobs.scan())
    assert API_KEY not in _all_text([caught.value])


def test_models_keep_unknown_fields_and_null_what_they_cannot_read() -> None:
    job = Job.model_validate(
        {
            "id": "job_1",
            "title": 7,
            "posted_at": "yesterday",
            "salary_range": {"min": "120k", "max": 150000, "currency": None, "period": "year"},
            "skills": ["SQL"],
        }
    )
    assert job.title is None and job.posted_at is None
    assert job.salary_range is not None and job.salary_range.min == "120k"
    assert job.salary_range.max == 150000.0 and job.model_extra == {"skills": ["SQL"]}
    body = b'{"data":[{"id":"a"},"text",{"id":""},null],"meta":{"total":4,"page":1,"limit":9}}'
    usable = split_records(decode_page(body))
    assert usable.ids == ["a"] and [bytes(text) for text in usable.texts] == [b'{"id":"a"}']
    assert [r.raw for r in usable.rejected] == ['"text"', '{"id":""}', "null"]
