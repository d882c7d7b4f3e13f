"""The scan: page order under concurrency, dedup, order checks, incremental stop, resume, and the
completeness proof under drift (including a hypothesis property test)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import Page
from connectors.pagination import FetchResult, Scanner, _page_keys, order_key, time_key
from tests.connectors.conftest import BASE, FakeApi, FakeClock, fake_client, make_job


def _scan_ids(api: FakeApi, **scan_options: object) -> tuple[list[str], list[Page], object]:
    with fake_client(api, concurrency=4) as client:
        scan = client.jobs.scan(**scan_options)  # type: ignore[arg-type]
        pages = list(scan)
    ids = [r["id"] for page in pages for r in page.records]
    return ids, pages, scan.report


@pytest.mark.parametrize("concurrent", [True, False], ids=["concurrent", "sequential"])
@pytest.mark.parametrize("count", [0, 1, 100, 101, 1_000, 1_234])
def test_static_listing_is_read_whole_and_proven_complete(count: int, concurrent: bool) -> None:
    api = FakeApi(count=count)
    ids, _pages, report = _scan_ids(api, concurrent=concurrent)
    assert ids == [j["id"] for j in api.jobs]  # every job, once, newest first
    assert report.complete and report.incomplete_reason is None  # type: ignore[attr-defined]
    assert report.order_ok and report.records == count  # type: ignore[attr-defined]
    pages_needed = max(1, -(-count // 100))
    # One extra request when there is more than one page: page 1 again, which certifies that
    # the listing did not move while the pages were read.
    extra = 1 if pages_needed > 1 else 0
    assert report.requests == pages_needed + extra  # type: ignore[attr-defined]
    assert all(r.url.params["limit"] == "100" for r in api.requests)


def test_concurrent_pages_are_yielded_in_ascending_order_despite_arrival_order() -> None:
    rng = random.Random(7)
    api = FakeApi(count=2_000)
    inner = FakeApi.__call__
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow(self: FakeApi, request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(rng.random() * 0.01)  # arrival order differs from request order
        try:
            return inner(self, request)
        finally:
            with lock:
                in_flight[0] -= 1

    with fake_client(lambda request: slow(api, request), concurrency=6) as client:
        scan = client.jobs.scan()
        numbers = [page.number for page in scan]
    assert numbers[:20] == list(range(1, 21))
    assert scan.report.complete
    assert 1 < peak[0] <= 6


def test_duplicates_from_inserts_are_dropped_and_counted() -> None:
    api = FakeApi(count=300)

    def insert_once(fake: FakeApi, call: int) -> None:
        if call == 2:
            for _ in range(3):
                fake.insert_head()

    api.before_list = insert_once
    ids, _, report = _scan_ids(api, concurrent=False)
    assert len(ids) == len(set(ids))
    assert report.duplicates_dropped == 3  # type: ignore[attr-defined]
    assert report.complete  # type: ignore[attr-defined]


def test_deletions_during_a_scan_are_repaired_by_rereading() -> None:
    api = FakeApi(count=500)
    start_ids = api.ids()

    def delete_early(fake: FakeApi, call: int) -> None:
        if call == 3:
            for _ in range(5):
                fake.delete_at(10)  # page 1 shrinks: page 2's first jobs slide onto page 1

    api.before_list = delete_early
    ids, pages, report = _scan_ids(api, concurrent=False)
    assert (start_ids & api.ids()) <= set(ids)
    assert report.complete and report.rereads >= 1  # type: ignore[attr-defined]
    assert report.total_first == 500 and report.total_last == 495  # type: ignore[attr-defined]
    assert any(page.reread for page in pages)


def test_scan_gives_up_honestly_when_rereads_cannot_settle_the_listing() -> None:
    api = FakeApi(count=800)
    rng = random.Random(3)
    start_ids = api.ids()

    def churn(fake: FakeApi, call: int) -> None:
        for _ in range(3):
            fake.delete_at(rng.randrange(min(50, len(fake.jobs))))

    api.before_list = churn
    with fake_client(api) as client:

        def fetch(page: int, limit: int, cancelled: Any, count: Any) -> FetchResult:
            return client.fetch_page(page, limit, {}, cancelled, count)

        bounded = Scanner(fetch, concurrency=4, max_rereads=2)
        ids = {r["id"] for page in bounded.pages() for r in page.records}
        assert not bounded.report.complete
        assert "kept changing" in bounded.report.incomplete_reason  # type: ignore[operator]
        assert bounded.report.rereads == 2

        patient = client.jobs.scan()  # the default budget re-reads until the gaps close
        ids = {r["id"] for page in patient for r in page.records}
    assert patient.report.complete and patient.report.rereads > 2
    assert (start_ids & api.ids()) <= ids


def test_order_violation_is_reported_not_hidden() -> None:
    jobs = [make_job(i, BASE + timedelta(minutes=i)) for i in range(250)]  # oldest first
    api = FakeApi(jobs=jobs)
    _, _, report = _scan_ids(api)
    assert not report.order_ok and not report.complete  # type: ignore[attr-defined]
    assert "follows the older" in report.order_violation  # type: ignore[attr-defined]
    assert "newest-first order" in report.incomplete_reason  # type: ignore[attr-defined]


def test_order_break_across_a_page_boundary_is_caught() -> None:
    api = FakeApi(count=300)
    newest = datetime.fromisoformat(api.jobs[0]["posted_at"])
    api.jobs[100]["posted_at"] = (newest + timedelta(days=1)).isoformat()  # first of page 2
    _, _, report = _scan_ids(api, concurrent=False)
    assert not report.order_ok  # type: ignore[attr-defined]
    assert "page 2 starts with" in report.order_violation  # type: ignore[attr-defined]


def test_incremental_scan_with_no_change_is_one_request() -> None:
    api = FakeApi(count=5_000)
    cursor = datetime.fromisoformat(api.jobs[0]["posted_at"])
    ids, _, report = _scan_ids(api, stop_before=cursor)
    assert len(api.requests) == 1 and report.complete  # type: ignore[attr-defined]
    assert ids == [j["id"] for j in api.jobs[:100]]


@pytest.mark.parametrize("k", [1, 99, 100, 250])
def test_incremental_scan_reads_only_the_new_pages(k: int) -> None:
    api = FakeApi(count=5_000)
    cursor = datetime.fromisoformat(api.jobs[0]["posted_at"])
    new = {api.insert_head() for _ in range(k)}
    ids, _, report = _scan_ids(api, stop_before=cursor)
    assert new <= set(ids)
    assert report.complete and len(api.requests) <= -(-k // 100) + 2  # type: ignore[attr-defined]


def test_incremental_scan_stops_on_order_violation() -> None:
    jobs = [make_job(i, BASE + timedelta(minutes=i)) for i in range(450)]
    api = FakeApi(jobs=jobs)
    _, _, report = _scan_ids(api, stop_before=BASE)
    assert len(api.requests) == 1 and not report.order_ok  # type: ignore[attr-defined]


def test_resume_with_unchanged_total_is_complete() -> None:
    api = FakeApi(count=1_000)
    ids, pages, report = _scan_ids(api, start_page=4, expected_total=1_000)
    assert ids == [j["id"] for j in api.jobs[300:]]
    assert pages[0].number == 4
    assert report.complete  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("expected_total", "reason"),
    [(990, "total changed since the checkpoint"), (None, "without the checkpoint's total")],
)
def test_resume_cannot_vouch_for_earlier_pages_when_total_changed(
    expected_total: int | None, reason: str
) -> None:
    api = FakeApi(count=1_000)
    ids, _, report = _scan_ids(api, start_page=4, expected_total=expected_total)
    assert set(ids) >= {j["id"] for j in api.jobs[300:]}
    assert not report.complete and reason in report.incomplete_reason  # type: ignore[attr-defined]


def test_rejected_records_are_reported_once_and_never_fail_the_scan() -> None:
    api = FakeApi(count=150)
    api.jobs[3] = {"title": "no id"}
    api.jobs[120] = {"id": 42, "posted_at": api.jobs[119]["posted_at"]}
    api.jobs[7]["posted_at"] = "not a date"
    _, pages, report = _scan_ids(api)
    rejected = [r for page in pages for r in page.rejected]
    assert [(r.job_id, r.reason) for r in rejected] == [
        (None, "record has no id"),
        ("42", "record id is not a string (int)"),
    ]
    assert rejected[0].raw == '{"title":"no id"}'
    assert report.rejected == 2 and report.records == 148  # type: ignore[attr-defined]


def test_report_is_live_during_iteration_and_final_after() -> None:
    api = FakeApi(count=450)
    with fake_client(api) as client:
        scan = client.jobs.scan(on_page=lambda page: seen.append(page.number))
        seen: list[int] = []
        iterator = iter(scan)
        next(iterator)
        assert scan.report.requests >= 1 and not scan.report.complete
        rest = list(iterator)
    assert scan.report.complete and len(rest) >= 4 and seen[:5] == [1, 2, 3, 4, 5]


def test_a_reader_that_stops_early_gets_an_incomplete_report() -> None:
    api = FakeApi(count=3_000)
    with fake_client(api, concurrency=4) as client:
        scan = client.jobs.scan()
        for page in scan:
            if page.number == 3:
                break
    assert not scan.report.complete
    assert "not finished" in scan.report.incomplete_reason  # type: ignore[operator]


# ------------------------------------------------------------------ property
MUTATIONS = st.lists(
    st.tuples(st.integers(0, 2), st.lists(st.floats(0, 1, exclude_max=True), max_size=2)),
    max_size=40,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    count=st.integers(0, 450),
    schedule=MUTATIONS,
    concurrent=st.booleans(),
    incremental=st.booleans(),
)
def test_property_no_duplicates_and_complete_means_nothing_missing(
    count: int,
    schedule: list[tuple[int, list[float]]],
    concurrent: bool,
    incremental: bool,
) -> None:
    """New postings arrive at the head, deletions hit anywhere, between any two requests."""
    api = FakeApi(count=count)
    start_ids = api.ids()
    cursor = BASE - timedelta(minutes=count // 2) if incremental else None

    def mutate(fake: FakeApi, call: int) -> None:
        if call - 1 < len(schedule):
            inserts, deletes = schedule[call - 1]
            for _ in range(inserts):
                fake.insert_head()
            for fraction in deletes:
                if fake.jobs:
                    fake.delete_at(int(fraction * len(fake.jobs)))

    api.before_list = mutate
    with fake_client(api, FakeClock(), concurrency=3) as client:
        scan = client.jobs.scan(concurrent=concurrent, stop_before=cursor)
        ids = [r["id"] for page in scan for r in page.records]
    report = scan.report
    assert len(ids) == len(set(ids)), "a job was returned twice"
    if report.complete:
        present_throughout = start_ids & api.ids()
        if cursor is not None:
            wanted = {
                j["id"]
                for j in api.jobs
                if j["id"] in present_throughout
                and datetime.fromisoformat(j["posted_at"]) >= cursor.replace(tzinfo=UTC)
            }
        else:
            wanted = present_throughout
        assert wanted <= set(ids), f"complete, yet missed {sorted(wanted - set(ids))[:5]}"
    else:
        assert report.incomplete_reason


def test_order_keys_compare_in_time_order_across_formats() -> None:
    stamps = [
        "2026-01-01T00:00:01Z",
        "2026-01-01T00:00:00.500+00:00",
        "2026-01-01T01:00:00+01:00",  # the same instant as 00:00:00Z
        "2025-12-31T23:59:59.999999Z",
        "2025-12-31T23:59:59",  # naive: read as UTC
    ]
    keys = [order_key(s, "job") for s in stamps]
    assert all(k is not None for k in keys)
    assert keys == sorted(keys, reverse=True)  # type: ignore[type-var]
    assert order_key("2026-01-01T00:00:00Z", "a") == order_key("2026-01-01T01:00:00+01:00", "a")
    assert order_key("yesterday", "a") is None
    assert order_key(1767225600, "a") is None
    assert time_key(datetime(2026, 1, 1)) == "2026-01-01T00:00:00"
    assert time_key(datetime(2026, 1, 1, microsecond=5, tzinfo=UTC)) == "2026-01-01T00:00:00.000005"


_WIRE_STAMPS = st.sampled_from(
    ["2026-01-02T00:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z"]
)
_ODD_STAMPS = st.one_of(
    st.none(),
    st.integers(),
    st.lists(st.integers(), min_size=20, max_size=20),  # len() 20, not a string
    st.sampled_from(
        [
            "2026-01-01T01:00:00+01:00",
            "2026-01-01T00:00:00.5Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:0Z",  # 19 characters
            "X2026-01-01T00:00:0Z",  # 20 characters, its T and Z out of place
            "yesterday",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(_WIRE_STAMPS, _ODD_STAMPS), st.sampled_from(["a", "b", "ab", "job_1"])),
        max_size=12,
    ),
    st.booleans(),
)
def test_page_keys_fast_path_answers_as_key_by_key(
    records: list[tuple[Any, str]], newest_first: bool
) -> None:
    """The C-level check of a common page gives the ends and the order verdict that building
    and comparing every key gives."""
    if newest_first:
        records.sort(key=lambda r: (str(r[0]), r[1]), reverse=True)
    posted_at, ids = [r[0] for r in records], [r[1] for r in records]
    keys = [order_key(*r) for r in records]
    keyed = [k for k in keys if k is not None]
    in_order = all(a >= b for a, b in pairwise(keyed))  # type: ignore[operator]

    got = _page_keys(posted_at, ids)

    assert (got.top, got.bottom) == ((keyed[0], keyed[-1]) if keyed else (None, None))
    if got.keys is None:  # the fast path vouched for the order: it must be right
        assert in_order
    else:
        assert got.keys == keys


def test_page_keys_of_a_sorted_wire_page_skip_the_keys() -> None:
    stamps = ["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]
    got = _page_keys(stamps, ["c", "b", "a"])
    assert got.keys is None
    assert got.top == ("2026-01-02T00:00:00", "c")
    assert got.bottom == ("2026-01-01T00:00:00", "a")
    # A tie broken the wrong way round is out of order: every key is built for the message.
    assert _page_keys(stamps, ["c", "a", "b"]).keys is not None
    # 19 + 21 characters put a T and a Z where 20 + 20 would: still not the wire form.
    odd = _page_keys(["2026-01-01T00:00:00ZZ", "026-01-01T00:00:00Z"], ["b", "a"])
    assert odd.keys == [None, None]
    assert odd.top is None and odd.bottom is None


def test_pages_checked_together_drop_a_repeat_once_and_in_page_order() -> None:
    """Pages that have all arrived are checked against the ids seen in one call; a job repeated
    across them must still be yielded once, on its first page, as page-by-page checks would."""
    api = FakeApi(count=600)
    api.jobs[300] = dict(api.jobs[299])  # page 3 ends and page 4 starts with the same job
    page_two = threading.Event()
    inner = FakeApi.__call__
    calls: list[int] = []

    def hold_page_two(self: FakeApi, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2" and not page_two.is_set():
            page_two.wait(timeout=5)  # pages 3-6 arrive first, so they are checked together
        response = inner(self, request)
        calls.append(int(request.url.params.get("page", "0")))
        if len([c for c in calls if c >= 3]) >= 4:
            page_two.set()
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeApi, "__call__", hold_page_two)
        ids, pages, report = _scan_ids(api)
    expected = list(dict.fromkeys(job["id"] for job in api.jobs))
    assert ids == expected and len(ids) == 599
    repeated = api.jobs[299]["id"]
    assert [page.number for page in pages if repeated in page.ids][:1] == [3]
    assert report.duplicates_dropped >= 1  # type: ignore[attr-defined]
