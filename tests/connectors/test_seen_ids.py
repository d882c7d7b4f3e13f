"""SeenIds must answer exactly like a Python set, whatever the hashes do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import seen_ids
from connectors.seen_ids import SeenIds


def _reference(pages: list[list[str]]) -> list[list[bool]]:
    seen: set[str] = set()
    flags = []
    for page in pages:
        row = []
        for job_id in page:
            row.append(job_id not in seen)
            seen.add(job_id)
        flags.append(row)
    return flags


_ids = st.text(alphabet="ab\n\x00é", min_size=1, max_size=4)


@settings(max_examples=200, deadline=None)
@given(pages=st.lists(st.lists(_ids, max_size=8), max_size=12), freeze_at=st.integers(1, 6))
def test_matches_a_set_across_freezes(pages: list[list[str]], freeze_at: int) -> None:
    seen = SeenIds(freeze_at=freeze_at)
    assert [seen.first_seen(page) for page in pages] == _reference(pages)
    distinct = {i for page in pages for i in page}
    assert len(seen) == len(distinct)
    assert all(i in seen for i in distinct)
    assert "never-added" not in seen


@settings(max_examples=100, deadline=None)
@given(pages=st.lists(st.lists(_ids, max_size=8), max_size=12), freeze_at=st.integers(1, 6))
def test_hash_collisions_never_drop_an_id(pages: list[list[str]], freeze_at: int) -> None:
    # Every id of the same length collides: only the stored text can tell them apart.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seen_ids, "_hash", len)
        seen = SeenIds(freeze_at=freeze_at)
        assert [seen.first_seen(page) for page in pages] == _reference(pages)
        assert len(seen) == len({i for page in pages for i in page})
        assert all(i in seen for page in pages for i in page)


def test_a_million_ids_stay_compact() -> None:
    seen = SeenIds()
    ids = [f"job_{n:09d}" for n in range(1_000_000)]
    for start in range(0, len(ids), 100):
        assert all(seen.first_seen(ids[start : start + 100]))
    assert len(seen) == 1_000_000
    # A repeat from far back (frozen), from the recent part, and new ids mixed in one page.
    assert seen.first_seen(["job_000000007", ids[-1], "job_x", "job_x"]) == [
        False,
        False,
        True,
        False,
    ]
    held_bytes = (
        seen._bits.nbytes
        + seen._newest.nbytes
        + sum(hashes.nbytes + positions.nbytes for hashes, positions in seen._runs)
        + sum(o.nbytes for o in seen._offsets)
        + sum(len(t) for t in seen._texts)
    )
    assert held_bytes < 40 * 1_000_000  # a set of the same strings takes ~95 MB
    assert len(seen._runs) <= 8  # merged as they grow: log2(1M / 8,192) + 1 runs at most


def test_freeze_at_must_be_positive() -> None:
    with pytest.raises(ValueError, match="freeze_at"):
        SeenIds(freeze_at=0)


def test_expecting_a_size_up_front_changes_no_answer() -> None:
    grown, sized = SeenIds(freeze_at=3), SeenIds(freeze_at=3)
    sized.expect(1_000)
    pages = [[f"j{n % 17}", f"j{n}", f"j{n * 7 % 23}"] for n in range(60)]
    assert [sized.first_seen(p) for p in pages] == [grown.first_seen(p) for p in pages]
    assert sized._bits.size >= 1_000 * 4


def test_a_whole_pass_read_again_is_all_known_in_one_call() -> None:
    seen = SeenIds()
    ids = [f"job_{n:06d}" for n in range(20_000)]  # two frozen chunks and a partial buffer
    for start in range(0, len(ids), 1_000):
        assert all(seen.first_seen(ids[start : start + 1_000]))
    assert len(seen._runs) >= 1 and seen._newest_ids
    again = seen.first_seen([*ids[::-1], "job_new", "job_new"])
    assert again == [False] * len(ids) + [True, False]
