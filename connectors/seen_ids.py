"""The ids a scan has already yielded: an exact set in about 33 bytes per id instead of ~95.

A scan must remember every id it handed on, both to drop the repeats that drift produces and to
count distinct records for its completeness proof (:mod:`connectors.pagination`). A Python ``set``
of the id strings costs ~62 bytes per string object plus ~32 per slot: 94 MiB at a million jobs,
which made a full sync's memory grow with the listing instead of staying bounded by the batch.

Here every id is kept as columns, and a call's ids are answered with a few vectorized operations:

* a Bloom filter over the ids' 64-bit hashes (32 bits per id, three probes: ~0.07% false positives
  when full) says of most ids, at once, that they are new; only the rest are looked up;
* the hashes of the newest ids (up to ``freeze_at``) sit unsorted in a small buffer; older ones
  are frozen into sorted runs with each hash's position, merged like an LSM tree (a run is merged
  into the one before it once it is at least half that size), so there are at most
  ``log2(n / freeze_at) + 1`` runs; lookups are vectorized over the probes (``searchsorted``), so
  a page read again, whose ids are all known, costs a few calls, not one per id;
* the ids themselves, concatenated into one string per frozen chunk with their offsets: a hash
  match is confirmed against the stored text, so a collision can never drop a job.

Why not a ``dict`` of the newest ids, as before: inserting each id into a dict of 65,536 strings,
then checking the frozen part and freezing, cost 1.1-1.2 s of the scan thread's CPU per million
ids in a running sync (the strings are cold by then); this takes 0.8 s there, with the scan
asking once per group of pages that have arrived rather than once per page.

Python's ``hash`` of a ``str`` is SipHash, salted per process and cached on the string, which is
all this needs: the hashes never leave the process.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Final

import numpy as np

__all__ = ["SeenIds"]

_FREEZE_AT: Final = 8_192
_BITS_PER_ID: Final = 32
# The one hash used; a seam so tests can force collisions.
_hash = hash


class SeenIds:
    """An insert-only, exact set of strings with a compact frozen part; see the module docstring."""

    def __init__(self, freeze_at: int = _FREEZE_AT) -> None:
        if freeze_at < 1:
            raise ValueError("freeze_at must be at least 1")
        self._freeze_at = freeze_at
        self._bits = np.zeros(1 << 12, np.uint8)  # Bloom filter over every id's hash
        self._newest = np.empty(max(freeze_at, 128), np.int64)  # hashes of the ids not frozen
        self._newest_ids: list[str] = []  # those ids, in the order they were added
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, their positions)
        self._texts: list[str] = []  # per frozen chunk: its ids, concatenated
        self._offsets: list[np.ndarray] = []  # per frozen chunk: where each id starts and ends
        self._starts: list[int] = []  # global position of each chunk's first id
        self._frozen = 0

    def __len__(self) -> int:
        return self._frozen + len(self._newest_ids)

    def __contains__(self, job_id: object) -> bool:
        if not isinstance(job_id, str):
            return False
        return bool(self._held([job_id], np.array([_hash(job_id)], np.int64)))

    def first_seen(self, ids: Sequence[str]) -> list[bool]:
        """Mark ``ids`` as seen; True for each one that was not seen before (a repeat within
        ``ids`` counts as seen from its second occurrence on)."""
        count = len(ids)
        if not count:
            return []
        self._grow_bits(len(self) + count)
        hashes = np.fromiter(map(_hash, ids), np.int64, count)
        bytes_at, masks = self._bit_places(hashes)
        bits = self._bits[bytes_at] & masks
        maybe = np.flatnonzero((bits[0] != 0) & (bits[1] != 0) & (bits[2] != 0))
        flags = [True] * count
        if len(set(ids)) != count:
            first: dict[str, int] = {}
            for k, job_id in enumerate(ids):
                if first.setdefault(job_id, k) != k:
                    flags[k] = False
        if maybe.size:
            for k in self._held([ids[k] for k in maybe.tolist()], hashes[maybe]):
                flags[int(maybe[k])] = False
        if all(flags):
            self._add(ids, hashes, bytes_at, masks)
        else:
            keep = np.array(flags)
            new_ids = [job_id for job_id, new in zip(ids, flags, strict=True) if new]
            self._add(new_ids, hashes[keep], bytes_at[:, keep], masks[:, keep])
        return flags

    def _bit_places(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The three bitmap bits of each hash (a Bloom filter with three probes, double hashing
        from the hash's two halves): ~0.07% false positives when full, against ~0.4% with two,
        so a call of a few hundred new ids rarely has to look any up (the lookups cost more than
        the third probe)."""
        mask = self._bits.size * 8 - 1
        step = (hashes >> 32) | 1
        slots = np.stack([hashes & mask, (hashes + step) & mask, (hashes + 2 * step) & mask])
        return slots >> 3, np.left_shift(np.uint8(1), (slots & 7).astype(np.uint8))

    def _add(
        self, ids: Sequence[str], hashes: np.ndarray, bytes_at: np.ndarray, masks: np.ndarray
    ) -> None:
        np.bitwise_or.at(self._bits, bytes_at.ravel(), masks.ravel())
        held = len(self._newest_ids)
        if held + len(ids) > self._newest.size:
            self._newest = np.resize(self._newest, 2 * (held + len(ids)))
        self._newest[held : held + len(ids)] = hashes
        self._newest_ids += ids
        if len(self._newest_ids) >= self._freeze_at:
            self._freeze()

    def _held(self, ids: Sequence[str], hashes: np.ndarray) -> list[int]:
        """The positions ``k`` whose ``ids[k]`` (hash ``hashes[k]``) was added before.

        Vectorized over the probes, since a page read again probes every one of its ids: the
        newest ids are matched by searching each of their hashes among the sorted probes, each
        frozen run by searching the probes in it; equal hashes are confirmed on the text.
        """
        found: set[int] = set()
        order = np.argsort(hashes)
        probes = hashes[order]
        last = probes.size - 1
        newest = self._newest[: len(self._newest_ids)]
        at = np.searchsorted(probes, newest)
        for position in np.flatnonzero(probes[np.minimum(at, last)] == newest).tolist():
            j = int(at[position])
            while j <= last and probes[j] == newest[position]:
                if ids[int(order[j])] == self._newest_ids[position]:
                    found.add(int(order[j]))
                j += 1
        for run, positions in self._runs:
            at = np.searchsorted(run, probes)
            top = run.size - 1
            for j in np.flatnonzero(run[np.minimum(at, top)] == probes).tolist():
                k, i = int(order[j]), int(at[j])
                while k not in found and i <= top and run[i] == probes[j]:
                    if self._text_at(int(positions[i])) == ids[k]:
                        found.add(k)
                    i += 1
        return sorted(found)

    def _text_at(self, position: int) -> str:
        chunk = bisect_right(self._starts, position) - 1
        local = position - self._starts[chunk]
        offsets = self._offsets[chunk]
        return self._texts[chunk][offsets[local] : offsets[local + 1]]

    def _freeze(self) -> None:
        ids, self._newest_ids = self._newest_ids, []
        hashes = self._newest[: len(ids)].copy()
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
        # Equal hashes are all confirmed against the text, so their order does not matter.
        order = np.argsort(hashes)
        self._runs.append((hashes[order], (order + start).astype(np.uint32)))
        self._frozen += len(ids)
        runs = self._runs
        while len(runs) > 1 and 2 * runs[-1][0].size >= runs[-2][0].size:
            (upper, upper_positions), (lower, lower_positions) = runs.pop(), runs[-1]
            # A merge by insertion allocates only the merged arrays (12 bytes per id), where
            # concatenating and arg-sorting took 32 at once, at the batch's memory peak. Done by
            # hand rather than with ``np.insert``, which sorts the insertion points again and
            # builds its mask once per array.
            runs[-1] = _merged(lower, lower_positions, upper, upper_positions)

    def expect(self, count: int) -> None:
        """Size the bitmap for ``count`` ids now (a scan learns its total from the first page),
        instead of rebuilding it each time the set doubles."""
        self._grow_bits(count)

    def _grow_bits(self, count: int) -> None:
        """Enlarge the bitmap if ``count`` ids need it, marking every id held again."""
        wanted = count * _BITS_PER_ID // 8
        if self._bits.size >= wanted:
            return
        self._bits = np.zeros(1 << (wanted - 1).bit_length(), np.uint8)
        held = [self._newest[: len(self._newest_ids)], *(hashes for hashes, _ in self._runs)]
        for hashes in held:
            bytes_at, masks = self._bit_places(hashes)
            np.bitwise_or.at(self._bits, bytes_at.ravel(), masks.ravel())


def _merged(
    lower: np.ndarray, lower_positions: np.ndarray, upper: np.ndarray, upper_positions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs (and their ids' positions) as one sorted run; ``upper``'s equal hashes
    go after ``lower``'s."""
    size = lower.size + upper.size
    into = np.searchsorted(lower, upper, side="right") + np.arange(upper.size)
    rest = np.ones(size, bool)
    rest[into] = False
    hashes = np.empty(size, lower.dtype)
    positions = np.empty(size, lower_positions.dtype)
    hashes[into], positions[into] = upper, upper_positions
    hashes[rest], positions[rest] = lower, lower_positions
    return hashes, positions
