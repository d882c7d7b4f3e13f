"""``normalize_jobs`` and ``with_version_at``: the frame the warehouse loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import transforms
from transforms import NORMALIZED_SCHEMA, jobs_frame, normalize_jobs, with_version_at

from .test_records import records_strategy

EXPECTED_COLUMNS = [
    ("job_id", pl.String),
    ("title", pl.String),
    ("company", pl.String),
    ("employment_type", pl.String),
    ("location_raw", pl.String),
    ("city", pl.String),
    ("region", pl.String),
    ("country_code", pl.String),
    ("is_remote", pl.Boolean),
    ("salary_min", pl.Float64),
    ("salary_max", pl.Float64),
    ("salary_currency", pl.String),
    ("salary_period", pl.String),
    ("salary_period_inferred", pl.Boolean),
    ("salary_min_usd_annual", pl.Float64),
    ("salary_max_usd_annual", pl.Float64),
    ("posted_at", pl.Datetime("us", "UTC")),
    ("source_updated_at", pl.Datetime("us", "UTC")),
    ("raw", pl.String),
]


def test_public_surface() -> None:
    assert sorted(transforms.__all__) == sorted(
        [
            "NORMALIZED_SCHEMA",
            "jobs_frame",
            "normalize_jobs",
            "normalize_location",
            "normalize_salary",
            "with_version_at",
        ]
    )
    assert list(NORMALIZED_SCHEMA.items()) == EXPECTED_COLUMNS


@pytest.mark.parametrize(
    "records",
    [[], [{"id": "a"}], [{"id": "a", "salary_range": "x", "location": 5, "posted_at": []}]],
    ids=["empty", "bare-id", "odd-types"],
)
def test_output_schema_is_exactly_normalized_schema(
    records: list[dict[str, Any]], fx_rates: pl.DataFrame
) -> None:
    assert normalize_jobs(jobs_frame(records), fx_rates).schema == NORMALIZED_SCHEMA


def test_full_record(fx_rates: pl.DataFrame) -> None:
    record = {
        "id": "job_1",
        "title": "  Senior Data Engineer ",
        "company": "Acme",
        "type": "Full Time",
        "location": "Toronto, Ontario, Canada",
        "salary_range": {"min": "$150k", "max": 120000, "currency": "cad"},
        "posted_at": "2026-01-02T03:04:05.25+02:00",
        "updated_at": "2026-01-05T00:00:00Z",
        "skills": ["sql"],
    }
    raw = jobs_frame([record])
    expected = pl.DataFrame(
        {
            "job_id": ["job_1"],
            "title": ["Senior Data Engineer"],
            "company": ["Acme"],
            "employment_type": ["full_time"],
            "location_raw": ["Toronto, Ontario, Canada"],
            "city": ["Toronto"],
            "region": ["CA-ON"],
            "country_code": ["CA"],
            "is_remote": [False],
            "salary_min": [120000.0],
            "salary_max": [150000.0],
            "salary_currency": ["CAD"],
            "salary_period": ["year"],
            "salary_period_inferred": [True],
            "salary_min_usd_annual": [90000.0],
            "salary_max_usd_annual": [112500.0],
            "posted_at": [datetime(2026, 1, 2, 1, 4, 5, 250000, tzinfo=UTC)],
            "source_updated_at": [datetime(2026, 1, 5, tzinfo=UTC)],
            "raw": raw["raw"].to_list(),
        },
        schema=NORMALIZED_SCHEMA,
    )
    assert_frame_equal(normalize_jobs(raw, fx_rates), expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("full_time", "full_time"),
        ("full-time", "full_time"),
        ("Full Time", "full_time"),
        ("fulltime", "full_time"),
        ("FULL_TIME", "full_time"),
        (" part-time ", "part_time"),
        ("Part Time", "part_time"),
        ("parttime", "part_time"),
        ("contract", "contract"),
        ("Contract", "contract"),
        ("contractor", "contract"),
        ("Internship", "internship"),
        ("Temp to Hire", "temp_to_hire"),
        ("", None),
        ("   ", None),
        (None, None),
        (3, "3"),
    ],
    ids=lambda v: repr(v),
)
def test_employment_type(value: Any, expected: str | None, fx_rates: pl.DataFrame) -> None:
    frame = normalize_jobs(jobs_frame([{"id": "a", "type": value}]), fx_rates)
    assert frame["employment_type"].to_list() == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.123456+02:00", datetime(2026, 1, 2, 1, 4, 5, 123456, tzinfo=UTC)),
        ("2026-01-02T03:04:05.5-00:00", datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        ("2026-01-02T03:04:05.123456789Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2026-01-02t03:04:05z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02 03:04:05-05:30", datetime(2026, 1, 2, 8, 34, 5, tzinfo=UTC)),
        (" 2026-01-02T03:04:05+14:00 ", datetime(2026, 1, 1, 13, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-01T00:30:00+01:00", datetime(2025, 12, 31, 23, 30, tzinfo=UTC)),
        ("2024-02-29T12:00:00Z", datetime(2024, 2, 29, 12, tzinfo=UTC)),
        ("2026-02-30T00:00:00Z", None),
        ("2026-13-01T00:00:00Z", None),
        ("2026-01-02T24:00:01Z", None),
        ("2026-01-02", None),
        ("2026-01-02T03:04:05+0200", None),
        ("2026-01-02T03:04:05+25:00", None),
        ("2026-01-02T03:04:05.Z", None),
        ("+12026-01-01T00:00:00Z", None),
        ("9999-12-31T23:59:59-05:00", None),
        ("0001-01-01T00:00:00+01:00", None),
        ("garbage", None),
        ("", None),
        (1767323045, None),
        (None, None),
    ],
    ids=lambda v: repr(v),
)
def test_timestamps(text: Any, expected: datetime | None, fx_rates: pl.DataFrame) -> None:
    frame = normalize_jobs(
        jobs_frame([{"id": "a", "posted_at": text, "updated_at": text}]), fx_rates
    )
    assert frame.row(0, named=True)["posted_at"] == expected
    assert frame.row(0, named=True)["source_updated_at"] == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moments=st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
            st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_rfc3339_round_trip(moments: list[tuple[datetime, int, bool]]) -> None:
    texts, expected = [], []
    for moment, offset_minutes, zulu in moments:
        aware = moment.replace(tzinfo=UTC if zulu else timezone(timedelta(minutes=offset_minutes)))
        texts.append(aware.isoformat().replace("+00:00", "Z") if zulu else aware.isoformat())
        expected.append(aware.astimezone(UTC))
    records = [{"id": str(i), "posted_at": text} for i, text in enumerate(texts)]
    fx = pl.DataFrame({"currency": ["USD"], "usd_per_unit": [1.0]})
    assert normalize_jobs(jobs_frame(records), fx)["posted_at"].to_list() == expected


def test_rows_keep_their_order_and_count(fx_rates: pl.DataFrame) -> None:
    records = [
        {"id": f"j{i}", "location": loc, "salary_range": {"min": sal}, "type": typ}
        for i, (loc, sal, typ) in enumerate(
            [
                ("Remote", "1k", "contract"),
                ("Paris, France", None, None),
                ("Remote", "1k", "contract"),
            ]
            * 5
        )
    ]
    frame = normalize_jobs(jobs_frame(records), fx_rates)
    assert frame["job_id"].to_list() == [r["id"] for r in records]
    assert frame["country_code"].to_list() == [None, "FR", None] * 5


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=records_strategy)
def test_arbitrary_records_never_raise(records: list[dict[str, Any]]) -> None:
    fx = pl.DataFrame({"currency": ["USD", "EUR"], "usd_per_unit": [1.0, 1.5]})
    frame = normalize_jobs(jobs_frame(records), fx)
    assert frame.schema == NORMALIZED_SCHEMA
    assert frame["job_id"].to_list() == [r["id"] for r in records]
    lo, hi = frame["salary_min"], frame["salary_max"]
    assert ((lo <= hi) | lo.is_null() | hi.is_null()).all()


def test_with_version_at_prefers_source_updated_at(fx_rates: pl.DataFrame) -> None:
    frame = normalize_jobs(
        jobs_frame([{"id": "a", "updated_at": "2026-01-05T00:00:00Z"}, {"id": "b"}]), fx_rates
    )
    observed = datetime(2026, 2, 1, 12, tzinfo=timezone(timedelta(hours=1)))
    out = with_version_at(frame, observed)
    assert out.schema["version_at"] == pl.Datetime("us", "UTC")
    assert out["version_at"].to_list() == [
        datetime(2026, 1, 5, tzinfo=UTC),
        datetime(2026, 2, 1, 11, tzinfo=UTC),
    ]


def test_with_version_at_accepts_an_expression(fx_rates: pl.DataFrame) -> None:
    frame = normalize_jobs(
        jobs_frame([{"id": "a", "updated_at": "2026-01-05T00:00:00Z"}, {"id": "b"}]), fx_rates
    ).with_columns(
        pl.Series(
            "event_at", [datetime(2026, 3, 1, tzinfo=UTC)] * 2, dtype=pl.Datetime("ms", "UTC")
        )
    )
    out = with_version_at(frame, pl.col("event_at"))
    assert out["version_at"].to_list() == [
        datetime(2026, 1, 5, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    ]
    assert out.schema["version_at"] == pl.Datetime("us", "UTC")


def test_with_version_at_refuses_naive_datetime(fx_rates: pl.DataFrame) -> None:
    frame = normalize_jobs(jobs_frame([{"id": "a"}]), fx_rates)
    with pytest.raises(ValueError, match="timezone-aware"):
        with_version_at(frame, datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "event_at",
    [
        pl.Series(["2026-03-01T01:00:00+01:00"] * 2),
        pl.Series([datetime(2026, 3, 1)] * 2, dtype=pl.Datetime("ns")),
        pl.Series([datetime(2026, 3, 1, 9, tzinfo=UTC)] * 2).dt.convert_time_zone("Asia/Tokyo"),
    ],
    ids=["rfc3339-text", "naive-datetime-ns", "tokyo-datetime"],
)
def test_with_version_at_expression_of_any_time_type(
    event_at: pl.Series, fx_rates: pl.DataFrame
) -> None:
    frame = normalize_jobs(jobs_frame([{"id": "a"}, {"id": "b"}]), fx_rates)
    out = with_version_at(frame.with_columns(event_at.alias("event_at")), pl.col("event_at"))
    hour = 9 if "Tokyo" in str(event_at.dtype) else 0
    assert out["version_at"].to_list() == [datetime(2026, 3, 1, hour, tzinfo=UTC)] * 2
    assert out.schema["version_at"] == pl.Datetime("us", "UTC")


def test_with_version_at_refuses_a_number(fx_rates: pl.DataFrame) -> None:
    frame = normalize_jobs(jobs_frame([{"id": "a"}]), fx_rates)
    with pytest.raises(TypeError, match="Datetime or text"):
        with_version_at(frame, pl.lit(5))
