"""JobStore: seeded determinism, order, filters, paging, overlays, drift, and scale."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sandbox import Filters, JobStore, JobValidationError
from sandbox.salary import SALARY_STYLES
from sandbox.vocab import LOCATIONS


def _all(store: JobStore, filters: Filters | None = None) -> list[dict[str, Any]]:
    total = store.total(filters)
    return store.page(filters, 1, total) if total else []


def _sort_key(job: dict[str, Any]) -> tuple[str, str]:
    return (job["posted_at"], job["id"])


def test_same_seed_gives_same_jobs_and_another_seed_differs() -> None:
    first = JobStore(300, seed=5).page(None, 2, 50)
    assert first == JobStore(300, seed=5).page(None, 2, 50)
    assert first != JobStore(300, seed=6).page(None, 2, 50)


def test_listing_is_newest_first_with_ties_by_id_descending() -> None:
    jobs = _all(JobStore(3000, seed=1))
    keys = [_sort_key(job) for job in jobs]
    assert keys == sorted(keys, reverse=True)
    posted = Counter(job["posted_at"] for job in jobs)
    assert max(posted.values()) > 1, "the seeded data should contain posted_at ties"
    assert jobs[0]["id"] == "job_000003000"
    assert jobs[-1]["id"] == "job_000000001"


def test_jobs_carry_the_spec_fields() -> None:
    job = JobStore(10, seed=2, updated_at=True).page(None, 1, 1)[0]
    assert {"id", "title", "company", "location", "type", "salary_range", "posted_at"} <= set(job)
    assert {"description", "skills", "updated_at"} <= set(job)
    assert job["updated_at"] >= job["posted_at"]
    assert "updated_at" not in JobStore(10, seed=2).page(None, 1, 1)[0]


def test_seeded_data_covers_every_salary_style_and_location_spelling() -> None:
    store = JobStore(20_000, seed=3)
    styles = Counter(int(s) for s in store.base.salary_style)
    assert set(styles) == set(range(len(SALARY_STYLES)))
    assert {LOCATIONS[int(code)] for code in store.base.location} == set(LOCATIONS)
    ranges = [job["salary_range"] for job in store.page(None, 1, 100) + store.page(None, 50, 100)]
    assert any(r is None for r in ranges)
    assert any(isinstance(r, dict) and isinstance(r.get("min"), str) for r in ranges)
    assert any(isinstance(r, dict) and "period" in r for r in ranges)


def test_pages_partition_the_listing_and_pages_past_the_end_are_empty() -> None:
    store = JobStore(95, seed=4)
    pages = [store.page(None, n, 20) for n in range(1, 7)]
    assert [len(p) for p in pages] == [20, 20, 20, 20, 15, 0]
    ids = [job["id"] for page in pages for job in page]
    assert len(set(ids)) == 95 == store.total()
    assert ids == [job["id"] for job in _all(store)]


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        (Filters.of(type="contract"), lambda j: j["type"] == "contract"),
        (Filters.of(location="remote"), lambda j: "remote" in j["location"].lower()),
        (Filters.of(location=", CA"), lambda j: ", ca" in j["location"].lower()),
        (
            Filters.of(q="DATA"),
            lambda j: any("data" in j[k].lower() for k in ("title", "company", "description")),
        ),
        (
            Filters.of(q="acme", type="full_time", location="remote"),
            lambda j: (
                "acme" in (j["title"] + j["company"] + j["description"]).lower()
                and j["type"] == "full_time"
                and "remote" in j["location"].lower()
            ),
        ),
    ],
    ids=["type", "remote", "state", "q-case-insensitive", "combined"],
)
def test_filters_select_exactly_the_matching_jobs(filters: Filters, check: Any) -> None:
    store = JobStore(2000, seed=8)
    everything = _all(store)
    expected = [job["id"] for job in everything if check(job)]
    assert expected, "the case should match something"
    assert len(expected) < len(everything)
    assert store.total(filters) == len(expected)
    assert [job["id"] for job in _all(store, filters)] == expected


def test_create_is_newest_update_changes_fields_and_delete_removes() -> None:
    events: list[dict[str, Any]] = []
    store = JobStore(50, seed=9, updated_at=True, on_event=events.append)
    created = store.create(
        {"title": "Data Wrangler", "company": "Zeta", "location": "Remote", "type": "contract"}
    )
    assert created["id"] == "job_000000051"
    assert store.page(None, 1, 1)[0]["id"] == created["id"]
    before = store.get("job_000000010")
    assert before is not None
    updated = store.update("job_000000010", {"title": "Chief Wrangler", "posted_at": "x"})
    assert updated is not None
    assert updated["title"] == "Chief Wrangler"
    assert updated["posted_at"] == before["posted_at"], "posted_at is server-owned"
    assert updated["updated_at"] > before["updated_at"]
    assert store.total(Filters.of(q="chief wrangler")) == 1
    assert store.delete("job_000000010")
    assert store.get("job_000000010") is None
    assert not store.delete("job_000000010")
    assert store.update("job_000000010", {"title": "x"}) is None
    assert "job_000000010" not in store.snapshot_ids()
    assert store.total() == 50
    assert [e["type"] for e in events] == ["job.created", "job.updated"]
    assert events[1]["data"]["job"] == updated


def test_created_job_with_an_old_posted_at_lands_in_order() -> None:
    store = JobStore(100, seed=10)
    middle = store.page(None, 50, 1)[0]
    job = store.create({**_minimal(), "posted_at": middle["posted_at"]})
    keys = [_sort_key(j) for j in _all(store)]
    assert keys == sorted(keys, reverse=True)
    assert job["id"] in store.snapshot_ids()


def _minimal() -> dict[str, Any]:
    return {"title": "T", "company": "C", "location": "Berlin, Germany", "type": "part_time"}


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"title": "T"},
        {**_minimal(), "type": "freelance"},
        {**_minimal(), "title": ""},
        {**_minimal(), "salary_range": 5},
        {**_minimal(), "posted_at": "yesterday"},
        {**_minimal(), "skills": "python"},
    ],
    ids=["not-object", "missing", "bad-type", "empty-title", "bad-salary", "bad-time", "skills"],
)
def test_invalid_create_bodies_are_rejected(body: Any) -> None:
    with pytest.raises(JobValidationError):
        JobStore(5, seed=1).create(body)


def test_drift_moves_the_listing_and_keeps_it_ordered() -> None:
    store = JobStore(200, seed=11)
    before = store.snapshot_ids()
    added, removed = store.apply_drift(inserts=5, deletes=3)
    after = store.snapshot_ids()
    assert len(added) == 5 and len(removed) == 3
    assert after == (before - set(removed)) | set(added)
    assert store.total() == 202
    keys = [_sort_key(j) for j in _all(store)]
    assert keys == sorted(keys, reverse=True)
    newest = store.page(None, 1, 1)[0]["id"]
    assert newest not in added, "drift inserts land among older jobs, not on top"


def test_random_mutations_report_what_they_did_and_emit_events() -> None:
    events: list[dict[str, Any]] = []
    store = JobStore(100, seed=12, on_event=events.append)
    done = store.random_mutations(creates=2, updates=3, deletes=1, applications=2, status_changes=2)
    assert [len(done[k]) for k in ("created", "updated", "deleted")] == [2, 3, 1]
    assert len(done["applications"]) == 2 and len(done["status_changes"]) == 2
    types = Counter(e["type"] for e in events)
    assert types == {
        "job.created": 2,
        "job.updated": 3,
        "application.received": 2,
        "candidate.status_changed": 2,
    }
    change = next(e for e in events if e["type"] == "candidate.status_changed")["data"]
    assert set(change) == {
        "application_id",
        "candidate_id",
        "job_id",
        "previous_status",
        "status",
        "changed_at",
    }
    assert len({e["id"] for e in events}) == len(events)


def test_a_million_jobs_are_served_without_materializing_them() -> None:
    store = JobStore(1_000_000, seed=42)
    assert store.nbytes() < 64 * 1024 * 1024
    page = store.page(None, 5000, 100)
    assert [job["id"] for job in page][:2] == ["job_000500100", "job_000500099"]
    assert store.materialized_jobs() == 100
    assert store.total(Filters.of(location="remote")) > 100_000
    assert store.materialized_jobs() == 100
