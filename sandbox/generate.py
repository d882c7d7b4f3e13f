"""Seeded jobs that exist only as a few numpy arrays until someone asks for one.

:class:`BaseJobs` draws, per job, small integer codes (title, company, location, ...) and the
posted time into compact arrays, so a million jobs take ~30 MB and build in well under a second.
:meth:`BaseJobs.job` turns one index into the JSON object on demand; the same ``(jobs, seed)``
always gives the same data. Index 0 is the newest job: posted times never increase with the index
and ids decrease with it, so "newest ``posted_at`` first, ties by ``id`` descending" is index order.
Filters are evaluated on the small vocabularies and broadcast through the code arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from sandbox import vocab
from sandbox.salary import SALARY_STYLE_WEIGHTS, salary_range

__all__ = ["ANCHOR_EPOCH", "BaseJobs", "Filters", "format_id", "rfc3339"]

# The newest seeded job is posted at this instant; fixed so data is reproducible by seed alone.
ANCHOR_EPOCH = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
_SPAN_SECONDS = 90 * 24 * 3600
_U16 = 65536.0

BoolArray = npt.NDArray[np.bool_]


def format_id(number: int) -> str:
    """Fixed width so that string order and numeric order agree."""
    return f"job_{number:09d}"


def rfc3339(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc3339_many(epoch_seconds: npt.NDArray[np.int64]) -> list[str]:
    text = np.datetime_as_string(epoch_seconds.astype("datetime64[s]"), unit="s")
    return [f"{value}Z" for value in text.tolist()]


@dataclass(frozen=True)
class Filters:
    """The list filters of ``GET /jobs``, normalized (lower case, empty means absent)."""

    q: str | None = None
    location: str | None = None
    type: str | None = None

    @classmethod
    def of(
        cls, q: str | None = None, location: str | None = None, type: str | None = None
    ) -> Filters:
        q_norm = q.strip().lower() if q and q.strip() else None
        loc_norm = location.strip().lower() if location and location.strip() else None
        return cls(q_norm, loc_norm, type or None)

    @property
    def empty(self) -> bool:
        return self.q is None and self.location is None and self.type is None

    def matches(self, job: dict[str, Any]) -> bool:
        """The same rule as the vectorized path, for jobs held as dicts (inserted or updated)."""
        if self.type is not None and job.get("type") != self.type:
            return False
        if self.location is not None and self.location not in _text(job.get("location")):
            return False
        if self.q is not None:
            fields = (job.get("title"), job.get("company"), job.get("description"))
            if not any(self.q in _text(value) for value in fields):
                return False
        return True


def _text(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def _vocab_mask(words: tuple[str, ...], needle: str) -> BoolArray:
    return np.fromiter((needle in word.lower() for word in words), dtype=np.bool_, count=len(words))


def _weights(values: tuple[float, ...]) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    return array / array.sum()


class BaseJobs:
    """``n`` seeded jobs as code arrays; see the module docstring."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
        mean_gap = min(3600.0, max(1.0, _SPAN_SECONDS / max(n, 1)))
        gaps = streams[0].integers(0, int(2 * mean_gap) + 1, size=n, dtype=np.int64)
        gaps[streams[0].random(n) < 0.03] = 0  # some exact ties, ordered by id
        if n:
            gaps[0] = 0
        # neg_posted is ascending (posted times descending), ready for searchsorted.
        self.neg_posted = np.cumsum(gaps) - ANCHOR_EPOCH
        self.title = streams[1].integers(0, len(vocab.TITLES), size=n, dtype=np.uint16)
        self.company = streams[1].integers(0, len(vocab.COMPANIES), size=n, dtype=np.uint16)
        self.location = (
            streams[2]
            .choice(len(vocab.LOCATIONS), size=n, p=_weights(vocab.LOCATION_WEIGHTS))
            .astype(np.uint8)
        )
        self.type = (
            streams[3]
            .choice(len(vocab.JOB_TYPES), size=n, p=_weights(vocab.JOB_TYPE_WEIGHTS))
            .astype(np.uint8)
        )
        self.description = streams[4].integers(0, len(vocab.DESCRIPTIONS), size=n, dtype=np.uint16)
        self.skills = streams[5].integers(0, len(vocab.SKILLS), size=(n, 4), dtype=np.uint8)
        self.skill_count = streams[5].integers(2, 5, size=n, dtype=np.uint8)
        self.salary_style = (
            streams[6]
            .choice(len(SALARY_STYLE_WEIGHTS), size=n, p=_weights(SALARY_STYLE_WEIGHTS))
            .astype(np.uint8)
        )
        self.salary_draws = streams[6].integers(0, 65536, size=(n, 3), dtype=np.uint16)
        changed = streams[7].random(n) < 0.35
        deltas = streams[7].integers(60, 21 * 24 * 3600, size=n, dtype=np.int64)
        self.updated_delta = np.where(changed, deltas, 0).astype(np.uint32)

    def nbytes(self) -> int:
        """Bytes held by the arrays: the whole cost of the seeded data."""
        arrays = (
            self.neg_posted,
            self.title,
            self.company,
            self.location,
            self.type,
            self.description,
            self.skills,
            self.skill_count,
            self.salary_style,
            self.salary_draws,
            self.updated_delta,
        )
        return sum(array.nbytes for array in arrays)

    def id_of(self, index: int) -> str:
        return format_id(self.n - index)

    def index_of(self, job_id: str) -> int | None:
        """The base index for a seeded id, or None when the id is not a seeded one."""
        if not job_id.startswith("job_") or not job_id[4:].isdigit() or len(job_id) != 13:
            return None
        number = int(job_id[4:])
        return self.n - number if 1 <= number <= self.n else None

    def posted_at(self, index: int) -> int:
        return int(-self.neg_posted[index])

    def count_newer_than(self, epoch_seconds: int) -> int:
        """How many seeded jobs are posted strictly after ``epoch_seconds``."""
        return int(np.searchsorted(self.neg_posted, -epoch_seconds, side="left"))

    def job(self, index: int, *, with_updated_at: bool) -> dict[str, Any]:
        return self.jobs([index], with_updated_at=with_updated_at)[0]

    def jobs(self, indices: list[int], *, with_updated_at: bool) -> list[dict[str, Any]]:
        """Seeded jobs at ``indices``: the arrays are read once per batch, not per field."""
        idx = np.asarray(indices, dtype=np.int64)
        posted = -self.neg_posted[idx]
        ids = [format_id(self.n - i) for i in indices]
        return self._build(idx, ids, posted, with_updated_at=with_updated_at)

    def job_like(
        self, index: int, *, job_id: str, posted: int, with_updated_at: bool
    ) -> dict[str, Any]:
        """Job ``index``'s content under another id and time (drift inserts reuse content)."""
        idx = np.asarray([index], dtype=np.int64)
        posted_arr = np.asarray([posted], dtype=np.int64)
        return self._build(idx, [job_id], posted_arr, with_updated_at=with_updated_at)[0]

    def _build(
        self,
        idx: npt.NDArray[np.int64],
        ids: list[str],
        posted: npt.NDArray[np.int64],
        *,
        with_updated_at: bool,
    ) -> list[dict[str, Any]]:
        posted_text = _rfc3339_many(posted)
        updated_text: list[str] | None = None
        if with_updated_at:
            updated = np.minimum(
                posted + self.updated_delta[idx].astype(np.int64), np.maximum(posted, ANCHOR_EPOCH)
            )
            updated_text = _rfc3339_many(updated)
        draws = (self.salary_draws[idx] / _U16).tolist()
        skill_codes = self.skills[idx].tolist()
        skill_counts = self.skill_count[idx].tolist()
        columns = zip(
            ids,
            self.title[idx].tolist(),
            self.company[idx].tolist(),
            self.location[idx].tolist(),
            self.type[idx].tolist(),
            self.salary_style[idx].tolist(),
            draws,
            posted_text,
            self.description[idx].tolist(),
            skill_codes,
            skill_counts,
            strict=True,
        )
        out: list[dict[str, Any]] = []
        for n, (
            job_id,
            title,
            company,
            location,
            kind,
            style,
            u,
            when,
            desc,
            codes,
            count,
        ) in enumerate(columns):
            job: dict[str, Any] = {
                "id": job_id,
                "title": vocab.TITLES[title],
                "company": vocab.COMPANIES[company],
                "location": vocab.LOCATIONS[location],
                "type": vocab.JOB_TYPES[kind],
                "salary_range": salary_range(style, u[0], u[1], u[2]),
                "posted_at": when,
                "description": vocab.DESCRIPTIONS[desc],
                "skills": list(dict.fromkeys(vocab.SKILLS[c] for c in codes[:count])),
            }
            if updated_text is not None:
                job["updated_at"] = updated_text[n]
            out.append(job)
        return out

    def mask(self, filters: Filters) -> BoolArray | None:
        """Which seeded jobs match ``filters`` (None: all of them)."""
        if filters.empty:
            return None
        mask = np.ones(self.n, dtype=np.bool_)
        if filters.type is not None:
            if filters.type not in vocab.JOB_TYPES:
                return np.zeros(self.n, dtype=np.bool_)
            mask &= self.type == vocab.JOB_TYPES.index(filters.type)
        if filters.location is not None:
            mask &= _vocab_mask(vocab.LOCATIONS, filters.location)[self.location]
        if filters.q is not None:
            q_mask = _vocab_mask(vocab.TITLES, filters.q)[self.title]
            q_mask |= _vocab_mask(vocab.COMPANIES, filters.q)[self.company]
            q_mask |= _vocab_mask(vocab.DESCRIPTIONS, filters.q)[self.description]
            mask &= q_mask
        return mask
