"""A batch normalizes exactly as its rows do one by one.

``normalize_jobs`` parses distinct values once and hands each row its result by position
(``transforms._lookup``), keeps currencies and periods as small-table positions until the end, and
reads a batch of canonical timestamps on a fast path. None of that may change a row's result:
a one-row frame exercises none of the sharing, so it is the reference.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import transforms.location as location_module
import transforms.salary as salary_module
from transforms import jobs_frame, normalize_jobs
from transforms._lookup import DistinctCache, lookup

from .test_location import CASES as LOCATION_CASES
from .test_salary import CASES as SALARY_CASES

_LOCATIONS = [case[0] for case in LOCATION_CASES]
_SALARIES = [case[1] for case in SALARY_CASES]
_STAMPS = [
    "2026-01-02T03:04:05Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-02-30T00:00:00Z",
    "2026-01-02T03:04:05.5+02:00",
    "2026-01-02 03:04:05",
    "9999-12-31T23:59:59-05:00",
    "garbage",
    "",
]
_TYPES = ["Full Time", "full-time", "contractor", " ", "", "Temp to Hire"]
_FX_RATES = pl.DataFrame(
    {
        "currency": ["USD", "EUR", "GBP", "INR", "JPY", "CAD"],
        "usd_per_unit": [1.0, 1.5, 2.0, 0.0125, 0.0078125, 0.75],
    }
)


def _maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    """A known spelling, an arbitrary text or number, or nothing at all."""
    return st.sampled_from(values) | st.text(max_size=12) | st.integers() | st.none()


_records = st.lists(
    st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=6)},
        optional={
            "location": _maybe(_LOCATIONS),
            "salary_range": st.sampled_from(_SALARIES)
            | st.fixed_dictionaries(
                {},
                optional={
                    "min": _maybe(["$120k", "50", "1e5", "€40,000"]),
                    "max": _maybe(["150k", "60", "GBP 70000"]),
                    "currency": _maybe(["usd", " EUR ", "", "XYZ", "$"]),
                    "period": _maybe(["per hour", "Monthly", "year", "fortnight"]),
                },
            ),
            "type": _maybe(_TYPES),
            "title": _maybe(["  Engineer ", "", "Analyst"]),
            "posted_at": _maybe(_STAMPS),
            "updated_at": _maybe(_STAMPS),
        },
    ),
    min_size=1,
    max_size=30,
)


def _one_by_one(records: list[dict[str, Any]], fx_rates: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([normalize_jobs(jobs_frame([record]), fx_rates) for record in records])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=_records)
def test_batch_equals_rows_one_by_one(records: list[dict[str, Any]]) -> None:
    batch = normalize_jobs(jobs_frame(records), _FX_RATES)
    assert_frame_equal(batch, _one_by_one(records, _FX_RATES))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"id": st.just("j"), "posted_at": st.sampled_from(_STAMPS[:5])},
            optional={"updated_at": st.sampled_from(_STAMPS[:5])},
        ),
        min_size=1,
        max_size=20,
    )
)
def test_canonical_batch_equals_rows_one_by_one(records: list[dict[str, Any]]) -> None:
    """Only canonical stamps (year 0000, Feb 30 and the year bounds among them): the fast path."""
    batch = normalize_jobs(jobs_frame(records), _FX_RATES)
    assert_frame_equal(batch, _one_by_one(records, _FX_RATES))


def test_canonical_batch_range_and_impossible_dates() -> None:
    records = [{"id": str(i), "posted_at": stamp} for i, stamp in enumerate(_STAMPS[:5])]
    stamps = normalize_jobs(jobs_frame(records), _FX_RATES)["posted_at"].to_list()
    assert [None if s is None else s.isoformat() for s in stamps] == [
        "2026-01-02T03:04:05+00:00",
        None,
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
        None,
    ]


def test_one_fx_rate_and_none() -> None:
    """Single-row currency tables and an empty rate table still line up with the rows."""
    records = [
        {"id": "a", "salary_range": {"min": "100k", "currency": "USD"}},
        {"id": "b", "salary_range": {"min": "$5", "period": "hour"}},
        {"id": "c", "salary_range": {"min": "50k", "currency": "EUR"}},
        {"id": "d"},
    ]
    for fx in (_FX_RATES.head(1), _FX_RATES.clear()):
        batch = normalize_jobs(jobs_frame(records), fx)
        assert_frame_equal(batch, _one_by_one(records, fx))
    frame = normalize_jobs(jobs_frame(records), _FX_RATES.head(1))
    assert frame["salary_currency"].to_list() == ["USD", "USD", "EUR", None]
    assert frame["salary_min_usd_annual"].to_list() == [100000.0, 10400.0, None, None]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["b", None, "", "a", "b", "zz"], [2.0, None, 0.0, 1.0, 2.0, None]),
        ([None, None], [None, None]),
        ([], []),
    ],
    ids=["mixed", "all-null", "empty"],
)
def test_lookup_by_position(keys: list[str | None], expected: list[float | None]) -> None:
    table = pl.DataFrame({"k": ["", "a", "b"], "v": [0.0, 1.0, 2.0], "s": ["e", "A", "B"]})
    frame = pl.DataFrame({"k": keys, "other": range(len(keys))}, schema_overrides={"k": pl.String})
    found = lookup(frame, table, "k")
    assert found.columns == ["v", "s"]
    assert found["v"].to_list() == expected
    by_join = frame.join(table, on="k", how="left", maintain_order="left")
    assert_frame_equal(found, by_join.select("v", "s"))


def test_lookup_with_an_empty_table() -> None:
    frame = pl.DataFrame({"k": ["a", None]})
    table = pl.DataFrame({"k": [], "v": []}, schema={"k": pl.String, "v": pl.Float64})
    assert lookup(frame, table, "k")["v"].to_list() == [None, None]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(earlier=st.lists(_records, min_size=1, max_size=3), records=_records)
def test_results_do_not_depend_on_what_earlier_batches_left_in_the_caches(
    earlier: list[list[dict[str, Any]]], records: list[dict[str, Any]]
) -> None:
    """Parsed locations and amounts are kept across batches (``DistinctCache``), here with room
    for only a few keys so that growing and starting over both happen; a cold cache is the
    reference."""
    small = {
        "location": DistinctCache(location_module._locations, "location_raw", max_keys=8),
        "salary": DistinctCache(salary_module._amounts, "text", max_keys=8),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(location_module, "_PARSED", small["location"])
        patch.setattr(salary_module, "_PARSED_AMOUNTS", small["salary"])
        # Half of the batch was seen before: its values are cached, the rest are new.
        for batch in [*earlier, records[: len(records) // 2 + 1]]:
            normalize_jobs(jobs_frame(batch), _FX_RATES)
        warm = normalize_jobs(jobs_frame(records), _FX_RATES)
        for cache in small.values():
            cache.clear()
        cold = normalize_jobs(jobs_frame(records), _FX_RATES)
    assert_frame_equal(warm, cold)


def test_the_cache_parses_each_value_once_and_starts_over_when_full() -> None:
    parsed: list[list[str]] = []

    def parse(values: pl.Series) -> pl.DataFrame:
        parsed.append(sorted(values.to_list()))
        return pl.DataFrame({"key": values, "upper": values.str.to_uppercase()})

    cache = DistinctCache(parse, "key", max_keys=4)
    first = cache.table(pl.Series(["a", "b"]))
    second = cache.table(pl.Series(["b", "c"]))
    assert parsed == [["a", "b"], ["c"]]
    assert sorted(first["key"]) == ["a", "b"] and sorted(second["key"]) == ["a", "b", "c"]
    assert cache.table(pl.Series(["a"])).height == 3 and len(parsed) == 2, "nothing new to parse"
    full = cache.table(pl.Series(["d", "e", "a"]))
    assert parsed[-1] == ["a", "d", "e"], "over max_keys: start over from the values at hand"
    assert sorted(full["key"]) == ["a", "d", "e"]
    assert lookup(pl.DataFrame({"key": ["e", None, "a"]}), full, "key")["upper"].to_list() == [
        "E",
        None,
        "A",
    ]
