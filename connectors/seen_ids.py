"""The ids a scan has already yielded: an exact set in about 30 bytes per id instead of ~95.

A scan must remember every id it handed on, both to drop the repeats that drift produces and to
count distinct records for its completeness proof (:mod:`connectors.pagination`). A Python ``set``
of the id strings costs ~62 bytes per string object plus ~32 per slot: 94 MiB at a million jobs,
which made a full sync's memory grow with the listing instead of staying bounded by the batch. Here
the newest ids live in a small insertion-ordered ``dict`` and older ones are frozen, every
``freeze_at`` ids, into columns: one sorted array of 64-bit hashes, the position of each hash's id,
and the ids themselves concatenated into one string per frozen chunk. A bitmap of the frozen hashes
(32 bits per id, so ~3% false positives) rules most ids out with a few vectorized operations per
page; only the rest are looked up with ``searchsorted``, and a hash match is confirmed against the
stored text, so a collision can never drop a job. Per million ids this costs ~0.6 s of CPU, against
~0.2 s for the plain set (a binary search for every id: 1.0 s).

Python's ``hash`` of a ``str`` is SipHash, salted per process and cached on the string, which is
all this needs: the hashes never leave the process.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Final

import numpy as np

__all__ = ["SeenIds"]

_FREEZE_AT: Final = 65_536
_BITS_PER_ID: Final = 32
# The one hash used; a seam so tests can force collisions.
_hash = hash


class SeenIds:
    """An insert-only, exact set of strings with a compact frozen part; see the module docstring."""

    def __init__(self, freeze_at: int = _FREEZE_AT) -> None:
        if freeze_at < 1:
            raise ValueError("freeze_at must be at least 1")
        self._freeze_at = freeze_at
        # A dict used as an insertion-ordered set: freezing reads the ids in the order they were
        # decoded, which is roughly their order in memory. In a set's (hash) order every id is a
        # cache miss: ``len`` and ``hash`` over 65,536 ids took 8.6 instead of 1.4 ms.
        self._recent: dict[str, None] = {}
        self._hashes = np.empty(0, np.int64)  # sorted
        self._where = np.empty(0, np.uint32)  # global position of each hash's id
        self._texts: list[str] = []  # per frozen chunk: its ids, concatenated
        self._offsets: list[np.ndarray] = []  # per frozen chunk: where each id starts and ends
        self._starts: list[int] = []  # global position of each chunk's first id
        self._bits = np.zeros(1 << 12, np.uint8)  # bitmap over the frozen hashes' low bits
        self._frozen = 0

    def __len__(self) -> int:
        return self._frozen + len(self._recent)

    def __contains__(self, job_id: object) -> bool:
        if not isinstance(job_id, str):
            return False
        return job_id in self._recent or bool(self._frozen_among([job_id], [True]))

    def first_seen(self, ids: Sequence[str]) -> list[bool]:
        """Mark ``ids`` as seen; True for each one that was not seen before (a repeat within
        ``ids`` counts as seen from its second occurrence on)."""
        recent, add = self._recent, self._recent.setdefault  # setdefault(i) returns None
        flags = [i not in recent and not add(i) for i in ids]
        if self._frozen:
            # New-looking ids already frozen were seen after all: unflag them and take them back
            # out of the recent set.
            for k in self._frozen_among(ids, flags):
                flags[k] = False
                recent.pop(ids[k], None)
        if len(recent) >= self._freeze_at:
            self._freeze()
        return flags

    def _frozen_among(self, ids: Sequence[str], asked: Sequence[bool]) -> list[int]:
        """The positions ``k`` with ``asked[k]`` whose id is in the frozen part."""
        if not self._frozen:
            return []
        hashes = np.fromiter(map(_hash, ids), np.int64, len(ids))
        maybe = self._maybe_frozen(hashes) & np.array(asked, dtype=bool)
        if not maybe.any():
            return []
        candidates = np.flatnonzero(maybe)
        probe = hashes[candidates]
        positions = np.searchsorted(self._hashes, probe)
        found = self._hashes[np.minimum(positions, self._hashes.size - 1)] == probe
        return [
            k
            for j in np.flatnonzero(found).tolist()
            if self._frozen_has(ids[k := int(candidates[j])], int(probe[j]), int(positions[j]))
        ]

    def _maybe_frozen(self, hashes: np.ndarray) -> np.ndarray:
        """False where a hash is certainly not frozen (its bit is clear)."""
        slots = hashes & (self._bits.size * 8 - 1)
        return ((self._bits[slots >> 3] >> (slots & 7).astype(np.uint8)) & 1).astype(bool)

    def _mark(self, hashes: np.ndarray) -> None:
        slots = hashes & (self._bits.size * 8 - 1)
        np.bitwise_or.at(self._bits, slots >> 3, np.left_shift(1, slots & 7).astype(np.uint8))

    def _frozen_has(self, job_id: str, hashed: int, position: int) -> bool:
        """Whether a frozen id equal to ``job_id`` has ``hashed``, from its first ``position``."""
        hashes = self._hashes
        while position < hashes.size and hashes[position] == hashed:
            where = int(self._where[position])
            chunk = bisect_right(self._starts, where) - 1
            local = where - self._starts[chunk]
            offsets = self._offsets[chunk]
            if self._texts[chunk][offsets[local] : offsets[local + 1]] == job_id:
                return True
            position += 1
        return False

    def _freeze(self) -> None:
        ids = list(self._recent)
        self._recent = {}
        lengths = np.fromiter(map(len, ids), np.int64, len(ids))
        total = int(lengths.sum())
        offsets = np.zeros(len(ids) + 1, np.int32 if total < 2**31 else np.int64)
        np.cumsum(lengths, out=offsets[1:])
        start = self._frozen
        if start + len(ids) > np.iinfo(np.uint32).max:
            raise OverflowError("SeenIds holds at most 2**32 - 1 ids")
        self._texts.append("".join(ids))
        self._offsets.append(offsets)
        self._starts.append(start)
        hashes = np.fromiter(map(_hash, ids), np.int64, len(ids))
        # Equal hashes are all confirmed against the text, so their order does not matter.
        order = np.argsort(hashes)
        hashes = hashes[order]
        where = (order + start).astype(np.uint32)
        # Insertion keeps both columns sorted by hash in one pass.
        at = np.searchsorted(self._hashes, hashes, side="right")
        self._hashes = np.insert(self._hashes, at, hashes)
        self._where = np.insert(self._where, at, where)
        self._frozen += len(ids)
        if not self._grow_bits(self._frozen):
            self._mark(hashes)

    def expect(self, count: int) -> None:
        """Size the bitmap for ``count`` ids now (a scan learns its total from the first page),
        instead of rebuilding it each time the frozen part doubles."""
        self._grow_bits(count)

    def _grow_bits(self, count: int) -> bool:
        """Enlarge the bitmap if ``count`` ids need it, re-marking every frozen hash."""
        wanted = count * _BITS_PER_ID // 8
        if self._bits.size >= wanted:
            return False
        self._bits = np.zeros(1 << (wanted - 1).bit_length(), np.uint8)
        self._mark(self._hashes)
        return True
