"""The sandbox's job list: seeded arrays plus small overlays for everything that changed.

Seeded jobs stay in :class:`~sandbox.generate.BaseJobs`; mutations live in overlays (``updated``
seeded jobs, ``inserted`` jobs, a ``deleted`` mask), so a million-job store costs tens of MB and a
change costs one dict entry. The listing is the merge of the live seeded indices (already in
order) with the inserted jobs (kept sorted by ``(posted_at, id)`` descending); inserted ids are
always numbered above the seeded ones, so where each one lands among the seeded jobs is one binary
search. Every mutation bumps ``version``, which keys the page cache; cached views (the ordered
listing per filter) are dropped when membership can change, and an update keeps the unfiltered one.

One lock guards everything: the server's event loop, the webhook thread and tests all touch it.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from sandbox.events import make_event, next_status, rfc3339_ms
from sandbox.generate import ANCHOR_EPOCH, BaseJobs, Filters, format_id, rfc3339
from sandbox.vocab import JOB_TYPES

__all__ = ["JobStore", "JobValidationError"]

EventSink = Callable[[dict[str, Any]], None]
_Ref = int | str  # a seeded index, or the id of an inserted job
_REQUIRED = ("title", "company", "location", "type")
_TEXT_FIELDS = ("title", "company", "location")
_READ_ONLY = ("id", "posted_at", "updated_at")


class JobValidationError(ValueError):
    """A create or update body the API answers with 400."""


@dataclass(frozen=True)
class _View:
    """The ordered listing for one filter at one version."""

    base: npt.NDArray[np.int64] | None  # live, matching seeded indices; None means 0..n-1
    base_count: int
    inserted: list[str]  # matching inserted ids, in listing order
    positions: npt.NDArray[np.int64]  # where each inserted id sits in the merged listing

    @property
    def total(self) -> int:
        return self.base_count + len(self.inserted)

    def refs(self, offset: int, limit: int) -> list[_Ref]:
        """The listing's entries ``offset .. offset+limit`` by a two-way merge."""
        end = min(offset + limit, self.total)
        if offset >= end:
            return []
        k = int(np.searchsorted(self.positions, offset, side="left"))
        b = offset - k
        out: list[_Ref] = []
        for position in range(offset, end):
            if k < len(self.inserted) and int(self.positions[k]) == position:
                out.append(self.inserted[k])
                k += 1
            else:
                out.append(int(self.base[b]) if self.base is not None else b)
                b += 1
        return out


def _parse_time(value: Any) -> float:
    if not isinstance(value, str):
        raise JobValidationError("posted_at must be an RFC 3339 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise JobValidationError("posted_at must be an RFC 3339 string") from exc
    if moment.tzinfo is None:
        raise JobValidationError("posted_at must carry a time zone")
    return moment.timestamp()


def _validate(body: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise JobValidationError("the body must be a JSON object")
    if creating:
        missing = [name for name in _REQUIRED if name not in body]
        if missing:
            raise JobValidationError(f"missing required field(s): {', '.join(missing)}")
    for name in _TEXT_FIELDS:
        if name in body and not (isinstance(body[name], str) and body[name].strip()):
            raise JobValidationError(f"{name} must be a non-empty string")
    if "type" in body and body["type"] not in JOB_TYPES:
        raise JobValidationError(f"type must be one of {', '.join(JOB_TYPES)}")
    if "salary_range" in body and not (
        body["salary_range"] is None or isinstance(body["salary_range"], dict)
    ):
        raise JobValidationError("salary_range must be an object or null")
    if "description" in body and not isinstance(body["description"], str):
        raise JobValidationError("description must be a string")
    if "skills" in body and not (
        isinstance(body["skills"], list) and all(isinstance(s, str) for s in body["skills"])
    ):
        raise JobValidationError("skills must be a list of strings")
    if creating and "posted_at" in body:
        _parse_time(body["posted_at"])
    return body


class _LRU:
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable) -> bytes | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: Hashable, value: bytes) -> None:
        self._data[key] = value
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class JobStore:
    """Seeded jobs with overlays, filtered and paged without materializing the whole list."""

    def __init__(
        self,
        jobs: int = 1000,
        seed: int = 42,
        *,
        updated_at: bool = False,
        on_event: EventSink | None = None,
        clock: Callable[[], float] = time.time,
        job_cache_size: int = 100_000,
        page_cache_size: int = 256,
    ) -> None:
        self.base = BaseJobs(jobs, seed)
        self.with_updated_at = updated_at
        self.on_event = on_event
        self._clock = clock
        self._lock = threading.RLock()
        self._rng = random.Random(seed * 7919 + 1)
        self._pool = BaseJobs(512, seed + 1)  # content for created and drifted jobs
        self._deleted = np.zeros(jobs, dtype=np.bool_)
        self._deleted_count = 0
        self._updated: dict[int, tuple[dict[str, Any], bytes]] = {}
        self._inserted: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._inserted_order: list[tuple[int, int, str]] = []  # (-posted, -number, id), ascending
        self._next_number = jobs + 1
        self._applications: dict[str, dict[str, Any]] = {}
        self._application_seq = 0
        self.version = 0
        self._views: OrderedDict[Filters, _View] = OrderedDict()
        self._job_bytes = _LRU(job_cache_size)
        self._pages = _LRU(page_cache_size)

    # ----------------------------------------------------------------- reading
    def total(self, filters: Filters | None = None) -> int:
        with self._lock:
            return self._view(filters or Filters()).total

    def page(self, filters: Filters | None, page: int, limit: int) -> list[dict[str, Any]]:
        """Jobs on ``page`` (1-based) of ``limit``, as fresh dicts the caller may change."""
        with self._lock:
            view = self._view(filters or Filters())
            refs = view.refs((page - 1) * limit, limit)
            return [orjson.loads(encoded) for encoded in self._bytes_many(refs)]

    def page_json(self, filters: Filters | None, page: int, limit: int) -> bytes:
        """The full ``GET /jobs`` response body, built by joining cached per-job JSON."""
        filters = filters or Filters()
        with self._lock:
            key = (filters, page, limit, self.version)
            cached = self._pages.get(key)
            if cached is not None:
                return cached
            view = self._view(filters)
            parts = self._bytes_many(view.refs((page - 1) * limit, limit))
            meta = orjson.dumps({"total": view.total, "page": page, "limit": limit})
            body = b'{"data":[' + b",".join(parts) + b'],"meta":' + meta + b"}"
            self._pages.put(key, body)
            return body

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            ref = self._ref(job_id)
            return None if ref is None else orjson.loads(self._bytes(ref))

    def snapshot_ids(self) -> set[str]:
        """Every id currently listed (unfiltered); for tests that check a sync saw them all."""
        with self._lock:
            view = self._view(Filters())
            base = view.base if view.base is not None else range(view.base_count)
            return {self.base.id_of(int(i)) for i in base} | set(view.inserted)

    def materialized_jobs(self) -> int:
        """How many job JSON documents are held right now (cache plus overlays)."""
        with self._lock:
            return len(self._job_bytes) + len(self._updated) + len(self._inserted)

    def nbytes(self) -> int:
        """Bytes of the array part (seeded data and deletion mask)."""
        return self.base.nbytes() + self._deleted.nbytes

    # ---------------------------------------------------------------- writing
    def create(self, body: Any, *, emit: bool = True) -> dict[str, Any]:
        fields = _validate(body, creating=True)
        with self._lock:
            now = self._clock()
            if "posted_at" in fields:
                posted = int(_parse_time(fields["posted_at"]))
            else:
                posted = max(int(now), ANCHOR_EPOCH + 1)
            job = self._insert(fields, posted, now)
            if emit:
                self._emit("job.created", {"job": job}, now)
            return job

    def update(self, job_id: str, body: Any, *, emit: bool = True) -> dict[str, Any] | None:
        """Apply ``body``'s fields; ``id``, ``posted_at`` and ``updated_at`` are server-owned."""
        fields = _validate(body, creating=False)
        with self._lock:
            ref = self._ref(job_id)
            if ref is None:
                return None
            now = self._clock()
            job = orjson.loads(self._bytes(ref))
            job.update({k: v for k, v in fields.items() if k not in _READ_ONLY})
            if self.with_updated_at:
                job["updated_at"] = self._bumped(job.get("updated_at"), now)
            encoded = orjson.dumps(job)
            if isinstance(ref, int):
                self._updated[ref] = (job, encoded)
            else:
                self._inserted[ref] = (job, encoded)
            self._changed(membership=False)
            if emit:
                self._emit("job.updated", {"job": job}, now)
            return job

    def delete(self, job_id: str) -> bool:
        """Remove a job from the listing; no event (SPEC has none: full syncs find deletions)."""
        with self._lock:
            ref = self._ref(job_id)
            if ref is None:
                return False
            self._remove(ref)
            self._changed()
            return True

    def apply_drift(self, inserts: int, deletes: int) -> tuple[list[str], list[str]]:
        """Insert and delete jobs at random positions, as a busy source does while one pages.

        Drift is a property of the listing, not a business change, so it emits no webhooks.
        """
        with self._lock:
            view = self._view(Filters())
            positions = self._rng.sample(range(view.total), min(deletes, view.total))
            refs = [view.refs(position, 1)[0] for position in positions]
            removed = [self._id_of(ref) for ref in refs]
            for ref in refs:
                self._remove(ref)
            if refs:
                self._changed()
            added: list[str] = []
            now = self._clock()
            for _ in range(inserts):
                posted = self._random_past_time()
                job = self._insert(self._random_content(), posted, now)
                added.append(job["id"])
            return added, removed

    def create_application(self, job_id: str | None = None) -> dict[str, Any] | None:
        """A candidate applies to a job (a random live one by default)."""
        with self._lock:
            job_id = job_id or self._random_live_id()
            if job_id is None:
                return None
            now = self._clock()
            self._application_seq += 1
            application = {
                "id": f"app_{self._application_seq:08d}",
                "job_id": job_id,
                "candidate_id": f"cand_{self._rng.randrange(1, 10**7):07d}",
                "status": "applied",
                "applied_at": rfc3339_ms(now),
            }
            self._applications[application["id"]] = application
            self._emit("application.received", {"application": dict(application)}, now)
            return application

    def change_status(self, application_id: str | None = None) -> dict[str, Any] | None:
        """Move an application to its next status (a random open one by default)."""
        with self._lock:
            if application_id is None:
                open_ids = [
                    key for key, app in self._applications.items() if next_status(app["status"], 0)
                ]
                if not open_ids:
                    created = self.create_application()
                    if created is None:
                        return None
                    open_ids = [created["id"]]
                application_id = self._rng.choice(open_ids)
            application = self._applications.get(application_id)
            if application is None:
                return None
            status = next_status(application["status"], self._rng.random())
            if status is None:
                return None
            now = self._clock()
            data = {
                "application_id": application["id"],
                "candidate_id": application["candidate_id"],
                "job_id": application["job_id"],
                "previous_status": application["status"],
                "status": status,
                "changed_at": rfc3339_ms(now),
            }
            application["status"] = status
            self._emit("candidate.status_changed", data, now)
            return data

    def random_mutations(
        self,
        creates: int = 0,
        updates: int = 0,
        deletes: int = 0,
        applications: int = 0,
        status_changes: int = 0,
    ) -> dict[str, list[str]]:
        """Random changes through the same paths as the API, so each emits its webhook."""
        done: dict[str, list[str]] = {
            "created": [],
            "updated": [],
            "deleted": [],
            "applications": [],
            "status_changes": [],
        }
        with self._lock:
            for _ in range(creates):
                done["created"].append(self.create(self._random_content())["id"])
            for _ in range(updates):
                job_id = self._random_live_id()
                if job_id is None:
                    break
                changes = self._random_content()
                fields = {key: changes[key] for key in ("title", "salary_range", "location")}
                self.update(job_id, fields)
                done["updated"].append(job_id)
            for _ in range(deletes):
                job_id = self._random_live_id()
                if job_id is None:
                    break
                self.delete(job_id)
                done["deleted"].append(job_id)
            for _ in range(applications):
                application = self.create_application()
                if application is None:
                    break
                done["applications"].append(application["id"])
            for _ in range(status_changes):
                change = self.change_status()
                if change is None:
                    break
                done["status_changes"].append(change["application_id"])
        return done

    # ---------------------------------------------------------------- internals
    def _emit(self, event_type: str, data: dict[str, Any], now: float) -> None:
        if self.on_event is not None:
            self.on_event(make_event(event_type, data, now))

    def _changed(self, *, membership: bool = True) -> None:
        """Invalidate caches. An update keeps the unfiltered view: it moves and removes nothing."""
        self.version += 1
        self._pages.clear()
        if membership:
            self._views.clear()
        else:
            unfiltered = self._views.get(Filters())
            self._views.clear()
            if unfiltered is not None:
                self._views[Filters()] = unfiltered

    def _bumped(self, previous: Any, now: float) -> str:
        """A strictly later ``updated_at``, even for two changes within one millisecond."""
        floor = 0.0
        if isinstance(previous, str):
            try:
                floor = datetime.fromisoformat(previous).timestamp() + 0.001
            except ValueError:
                floor = 0.0
        return rfc3339_ms(max(now, floor))

    def _insert(self, fields: dict[str, Any], posted: int, now: float) -> dict[str, Any]:
        number = self._next_number
        self._next_number += 1
        job_id = format_id(number)
        job = {"id": job_id, **{k: v for k, v in fields.items() if k not in _READ_ONLY}}
        job["posted_at"] = rfc3339(posted)
        if self.with_updated_at:
            job["updated_at"] = rfc3339_ms(max(now, posted))
        self._inserted[job_id] = (job, orjson.dumps(job))
        bisect.insort(self._inserted_order, (-posted, -number, job_id))
        self._changed()
        return job

    def _remove(self, ref: _Ref) -> None:
        if isinstance(ref, int):
            self._deleted[ref] = True
            self._deleted_count += 1
            self._updated.pop(ref, None)
        else:
            job, _ = self._inserted.pop(ref)
            number = int(ref[4:])
            key = (-int(_parse_time(job["posted_at"])), -number, ref)
            index = bisect.bisect_left(self._inserted_order, key)
            del self._inserted_order[index]

    def _ref(self, job_id: str) -> _Ref | None:
        if job_id in self._inserted:
            return job_id
        index = self.base.index_of(job_id)
        if index is None or self._deleted[index]:
            return None
        return index

    def _id_of(self, ref: _Ref) -> str:
        return ref if isinstance(ref, str) else self.base.id_of(ref)

    def _bytes(self, ref: _Ref) -> bytes:
        if isinstance(ref, str):
            return self._inserted[ref][1]
        overlay = self._updated.get(ref)
        if overlay is not None:
            return overlay[1]
        cached = self._job_bytes.get(ref)
        if cached is None:
            cached = orjson.dumps(self.base.job(ref, with_updated_at=self.with_updated_at))
            self._job_bytes.put(ref, cached)
        return cached

    def _bytes_many(self, refs: list[_Ref]) -> list[bytes]:
        """JSON for each ref; seeded jobs missing from the cache are generated in one batch."""
        out: list[bytes | None] = []
        missing: list[int] = []
        for ref in refs:
            if isinstance(ref, str):
                out.append(self._inserted[ref][1])
                continue
            overlay = self._updated.get(ref)
            found = overlay[1] if overlay is not None else self._job_bytes.get(ref)
            if found is None:
                missing.append(len(out))
            out.append(found)
        if missing:
            indices = [int(refs[n]) for n in missing]
            jobs = self.base.jobs(indices, with_updated_at=self.with_updated_at)
            for n, index, job in zip(missing, indices, jobs, strict=True):
                encoded = orjson.dumps(job)
                self._job_bytes.put(index, encoded)
                out[n] = encoded
        return [b for b in out if b is not None]

    def _view(self, filters: Filters) -> _View:
        view = self._views.get(filters)
        if view is not None:
            self._views.move_to_end(filters)
            return view
        mask = self.base.mask(filters)
        if self._deleted_count:
            mask = ~self._deleted if mask is None else mask & ~self._deleted
        if not filters.empty and self._updated:
            assert mask is not None
            for index, (job, _) in self._updated.items():
                mask[index] = not self._deleted[index] and filters.matches(job)
        base = None if mask is None else np.flatnonzero(mask).astype(np.int64)
        base_count = self.base.n if base is None else len(base)
        inserted: list[str] = []
        newer: list[int] = []
        for neg_posted, _, job_id in self._inserted_order:
            if filters.empty or filters.matches(self._inserted[job_id][0]):
                inserted.append(job_id)
                newer.append(self.base.count_newer_than(-neg_posted))
        counts = np.asarray(newer, dtype=np.int64)
        if base is not None:
            counts = np.searchsorted(base, counts, side="left").astype(np.int64)
        positions = np.arange(len(inserted), dtype=np.int64) + counts
        view = _View(base, base_count, inserted, positions)
        self._views[filters] = view
        if len(self._views) > 32:
            self._views.popitem(last=False)
        return view

    def _random_live_id(self) -> str | None:
        view = self._view(Filters())
        if view.total == 0:
            return None
        return self._id_of(view.refs(self._rng.randrange(view.total), 1)[0])

    def _random_content(self) -> dict[str, Any]:
        index = self._rng.randrange(self._pool.n)
        job = self._pool.job_like(index, job_id="", posted=0, with_updated_at=False)
        for key in ("id", "posted_at"):
            job.pop(key)
        return job

    def _random_past_time(self) -> int:
        """A posted time somewhere inside the seeded range (or just before it when empty)."""
        if self.base.n < 2:
            return ANCHOR_EPOCH - self._rng.randrange(1, 3600)
        index = self._rng.randrange(1, self.base.n)
        newer, older = self.base.posted_at(index - 1), self.base.posted_at(index)
        return self._rng.randint(older, newer)
