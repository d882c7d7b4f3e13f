"""The proof behind ``ScanReport.complete``: which parts of the listing the reads provably covered.

Every read of ``GET /jobs`` (page ``p``, limit ``L``) returns a contiguous slice of the listing as
it was at one moment, in newest-first order by the key ``(posted_at, id)``. So a read proves: *every
job present at that moment whose key lies between the read's first and last record was in it*. A
job present throughout the scan is therefore certainly seen once the reads' key ranges, joined
together, run from the newest end of the listing to the oldest. Two reads join when

* their key ranges overlap (they share a record, or the later one starts above where the earlier
  ended). This needs no assumption about how the listing changes; it is what closes the gaps
  while the listing keeps moving (a deletion slides jobs backwards, so a re-read of the earlier
  page overlaps the next one); or
* they are adjacent slices (``a`` ends at the position where ``b`` starts) of one *certified pass*:
  reads the scan has shown to have seen one unchanged listing (see :mod:`connectors.pagination`:
  same ``meta.total`` everywhere, exactly that many distinct records, and page 1 unchanged at
  the end). A still listing never overlaps on a fixed page grid, so this is how the common case,
  nothing changed, is proven.

The newest end is covered by any read of position 0; the oldest end by a read that reached the end
of the listing (a short page, or ``start + count >= total`` in its own response). A resumed scan
adds a virtual read for the pages an earlier run covered; it joins only a certified pass whose
total still equals the checkpoint's.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

__all__ = ["Coverage", "Key", "Read", "Verdict"]

Key = tuple[str, str]
"""``(posted_at, id)`` with ``posted_at`` as UTC text, ``YYYY-MM-DDTHH:MM:SS`` plus ``.ffffff`` only
when there is a fraction, so keys compare as plain strings in time order (a prefix sorts first)."""


@dataclass(slots=True, eq=False)
class Read:
    """What one page response proves; ``sent``/``received`` order reads in time."""

    page: int
    limit: int
    start: int
    count: int
    total: int
    top: Key | None  # newest usable record's key (None when the page had none with a key)
    bottom: Key | None  # oldest usable record's key
    head_id: str | None  # id of the first record, for the head check
    sent: int
    received: int
    group: int | None = None  # reads proven to have seen one unchanged listing
    virtual: bool = False

    @property
    def end(self) -> int:
        return self.start + self.count

    @property
    def covers_tail(self) -> bool:
        """The slice reached the end of the listing as it was then."""
        if self.virtual:
            return False
        if self.count == 0:
            return self.start == 0 and self.total == 0
        return self.count < self.limit or self.end >= self.total


@dataclass(frozen=True, slots=True)
class Verdict:
    complete: bool
    covered_to: Key | None  # everything at or above this key is covered (None: nothing yet)
    frontier: Read | None  # the reachable read the covered range ends at


class Coverage:
    """The reads of one scan, joined incrementally as they arrive (one scan may hold 10,000s).

    Unjoined reads wait indexed by start position (for seals) and by top key (for overlaps), so
    joining one read only looks at the reads it can newly join.
    """

    def __init__(self) -> None:
        self.reads: list[Read] = []
        self._reached: set[Read] = set()
        self._pending_by_start: dict[int, list[Read]] = {}
        self._pending_tops: list[tuple[Key, int]] = []  # ascending; joined ones skipped lazily
        self._reached_by_end: dict[int, list[Read]] = {}
        self._next_group = 0
        self._tail = False
        self.covered: Key | None = None
        self.frontier: Read | None = None

    def add(self, read: Read) -> None:
        self.reads.append(read)
        if read.virtual or read.start == 0 or self._joins(read):
            self._join(read)
            return
        self._pending_by_start.setdefault(read.start, []).append(read)
        if read.top is not None:
            bisect.insort(self._pending_tops, (read.top, len(self.reads) - 1))

    def new_group(self, reads: list[Read]) -> None:
        """Mark ``reads`` as proven to have seen one unchanged listing, and join what now joins."""
        self._next_group += 1
        for read in reads:
            read.group = self._next_group
        waiting = sorted(
            (r for rs in self._pending_by_start.values() for r in rs), key=lambda r: r.start
        )
        for read in waiting:
            if read not in self._reached and self._joins(read):
                self._join(read)

    def verdict(self, stop_before: Key | None = None) -> Verdict:
        """``stop_before`` (an incremental scan's stop key): complete once coverage reaches below it."""
        complete = self._tail
        if not complete and stop_before is not None and self.covered is not None:
            complete = self.covered < stop_before
        return Verdict(complete=complete, covered_to=self.covered, frontier=self.frontier)

    def _joins(self, read: Read) -> bool:
        if read.top is not None and self.covered is not None and read.top >= self.covered:
            return True
        return any(_sealed(above, read) for above in self._reached_by_end.get(read.start, ()))

    def _join(self, first: Read) -> None:
        work = [first]
        while work:
            read = work.pop()
            if read in self._reached:
                continue
            self._reached.add(read)
            waiting = self._pending_by_start.get(read.start)
            if waiting is not None and read in waiting:
                waiting.remove(read)
            self._mark(read)
            for candidate in self._pending_by_start.get(read.end, ()):
                if candidate not in self._reached and _sealed(read, candidate):
                    work.append(candidate)
            while self._pending_tops and self.covered is not None:
                top, index = self._pending_tops[-1]
                if top < self.covered:
                    break
                self._pending_tops.pop()
                work.append(self.reads[index])

    def _mark(self, read: Read) -> None:
        if read.virtual or (read.count and read.count == read.limit):
            self._reached_by_end.setdefault(read.end, []).append(read)
        if read.covers_tail:
            self._tail = True
        if read.bottom is not None and (self.covered is None or read.bottom < self.covered):
            self.covered = read.bottom
            self.frontier = read
        elif self.frontier is None or (
            self.frontier.bottom is None and read.end > self.frontier.end
        ):
            self.frontier = read


def _sealed(above: Read, below: Read) -> bool:
    """Adjacent slices with no room for a job to slip between them (see the module docstring)."""
    return above.group is not None and above.group == below.group
