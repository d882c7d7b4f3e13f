"""How a frame is cut into slices for a parallel insert (``warehouse._arrow.slice_bounds``).

The cuts decide the row-group layout a batch leaves behind, and with it the checkpoint's cost:
slices whose partial tails could merge are cut at row-group multiples instead.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from warehouse import open_warehouse
from warehouse._arrow import register_frame, slice_bounds

_ROW_GROUP = 8_192


@given(
    rows=st.integers(min_value=0, max_value=2_000_000),
    parts=st.integers(min_value=1, max_value=8),
    align=st.sampled_from([1, 7, 2_048, _ROW_GROUP]),
)
def test_slices_cover_every_row_once_in_at_most_parts_slices(
    rows: int, parts: int, align: int
) -> None:
    bounds = slice_bounds(rows, parts, align)
    assert len(bounds) <= parts
    assert all(length > 0 for _, length in bounds)
    position = 0
    for offset, length in bounds:
        assert offset == position
        position += length
    assert position == rows


@given(rows=st.integers(min_value=1, max_value=2_000_000), parts=st.integers(1, 8))
def test_mergeable_tails_move_the_cuts_to_row_group_multiples(rows: int, parts: int) -> None:
    even = [k * rows // parts for k in range(parts + 1)]
    tails = sum((end - start) % _ROW_GROUP for start, end in pairwise(even))
    cuts = [offset for offset, _ in slice_bounds(rows, parts, _ROW_GROUP)][1:]
    if tails <= _ROW_GROUP:
        assert all(cut % _ROW_GROUP == 0 for cut in cuts)
        # Each cut is the multiple nearest an even cut point: at most half a row group away.
        assert all(min(abs(cut - e) for e in even) <= _ROW_GROUP // 2 for cut in cuts)
    else:
        assert cuts == even[1:-1]


def test_the_cases_measured_on_two_cores() -> None:
    # Two 3,616-row tails would merge: cut at two whole row groups.
    assert slice_bounds(40_000, 2, _ROW_GROUP) == [(0, 16_384), (16_384, 23_616)]
    # Tails of 4,308 rows each cannot merge: stay even.
    assert slice_bounds(25_000, 2, _ROW_GROUP) == [(0, 12_500), (12_500, 12_500)]
    assert slice_bounds(50_000, 2, _ROW_GROUP) == [(0, 24_576), (24_576, 25_424)]
    assert slice_bounds(50_000, 2) == [(0, 25_000), (25_000, 25_000)]
    assert slice_bounds(0, 2, _ROW_GROUP) == []


def test_a_sliced_registration_reads_every_row_exactly_once(tmp_path: Path) -> None:
    frame = pl.DataFrame({"k": list(range(40_000))})
    with open_warehouse(tmp_path / "w.duckdb") as con:
        release = register_frame(con, "_sliced", frame, parts=2, align=_ROW_GROUP)
        try:
            count, distinct, low, high = con.execute(
                "SELECT count(*), count(DISTINCT k), min(k), max(k) FROM _sliced"
            ).fetchone() or (0, 0, 0, 0)
            (view,) = con.execute(
                "SELECT sql FROM duckdb_views() WHERE view_name = '_sliced'"
            ).fetchone() or ("",)
        finally:
            release()
    assert (count, distinct, low, high) == (40_000, 40_000, 0, 39_999)
    assert view.count("_sliced_") == 2  # a UNION ALL over the two slices
