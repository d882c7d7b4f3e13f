"""SPEC section 5, salary: one table of source ``salary_range`` values and their full output."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from transforms import jobs_frame, normalize_salary

# (salary_range, (min, max, currency, period, period_inferred, min_usd_annual, max_usd_annual))
Expected = tuple[
    float | None, float | None, str | None, str | None, bool | None, float | None, float | None
]
N = None
CASES: list[tuple[str, Any, Expected]] = [
    (
        "plain-usd",
        {"min": 100000, "max": 150000, "currency": "USD"},
        (100000, 150000, "USD", "year", True, 100000, 150000),
    ),
    (
        "k-suffix",
        {"min": "120k", "max": "150k", "currency": "USD"},
        (120000, 150000, "USD", "year", True, 120000, 150000),
    ),
    (
        "upper-K",
        {"min": "120K", "max": "150K", "currency": "USD"},
        (120000, 150000, "USD", "year", True, 120000, 150000),
    ),
    (
        "dollar-symbol-no-currency",
        {"min": "$120,000", "max": "$150,000"},
        (120000, 150000, "USD", "year", True, 120000, 150000),
    ),
    (
        "decimals-and-commas",
        {"min": "120,000.50", "max": "130,000.75", "currency": "usd"},
        (120000.5, 130000.75, "USD", "year", True, 120000.5, 130000.75),
    ),
    (
        "m-suffix-jpy-month",
        {"min": "1.2m", "max": "1.5m", "currency": "JPY"},
        (1.2e6, 1.5e6, "JPY", "month", True, 112500, 140625),
    ),
    (
        "spaces-everywhere",
        {"min": " 95000 ", "max": " 105000 ", "currency": " EUR "},
        (95000, 105000, "EUR", "year", True, 142500, 157500),
    ),
    (
        "euro-symbol-k",
        {"min": "€50k", "max": "€60k"},
        (50000, 60000, "EUR", "year", True, 75000, 90000),
    ),
    (
        "currency-field-beats-symbol",
        {"min": "€50k", "max": "€60k", "currency": "GBP"},
        (50000, 60000, "GBP", "year", True, 100000, 120000),
    ),
    (
        "reversed-bounds",
        {"min": 150000, "max": 100000, "currency": "USD"},
        (100000, 150000, "USD", "year", True, 100000, 150000),
    ),
    (
        "reversed-strings",
        {"min": "150k", "max": "$90,000"},
        (90000, 150000, "USD", "year", True, 90000, 150000),
    ),
    ("lone-min", {"min": 90000, "currency": "USD"}, (90000, N, "USD", "year", True, 90000, N)),
    ("lone-max", {"max": 90000, "currency": "USD"}, (N, 90000, "USD", "year", True, N, 90000)),
    (
        "null-min",
        {"min": None, "max": "80k", "currency": "USD"},
        (N, 80000, "USD", "year", True, N, 80000),
    ),
    (
        "negative-min",
        {"min": -5, "max": 100000, "currency": "USD"},
        (N, 100000, "USD", "year", True, N, 100000),
    ),
    (
        "negative-string",
        {"min": "-100", "max": "200", "currency": "USD"},
        (N, 200, "USD", "hour", True, N, 416000),
    ),
    ("nan-strings", {"min": "NaN", "max": "nan", "currency": "USD"}, (N, N, "USD", N, N, N, N)),
    (
        "infinity-string",
        {"min": "inf", "max": "Infinity", "currency": "USD"},
        (N, N, "USD", N, N, N, N),
    ),
    (
        "garbage-words",
        {"min": "competitive", "max": "DOE", "currency": "USD"},
        (N, N, "USD", N, N, N, N),
    ),
    (
        "unknown-currency",
        {"min": 100000, "max": 120000, "currency": "XYZ"},
        (100000, 120000, N, N, N, N, N),
    ),
    (
        "unknown-currency-keeps-given-period",
        {"min": 50, "max": 60, "currency": "BTC", "period": "hourly"},
        (50, 60, N, "hour", False, N, N),
    ),
    (
        "unknown-currency-word",
        {"min": 10, "max": 20, "currency": "credits"},
        (10, 20, N, N, N, N, N),
    ),
    (
        "iso-code-without-rate",
        {"min": 100, "max": 200, "currency": "CHF"},
        (100, 200, "CHF", N, N, N, N),
    ),
    (
        "iso-code-without-rate-given-period",
        {"min": 100000, "max": 120000, "currency": "chf", "period": "year"},
        (100000, 120000, "CHF", "year", False, N, N),
    ),
    (
        "period-annual",
        {"min": 100, "max": 200, "currency": "USD", "period": "annual"},
        (100, 200, "USD", "year", False, 100, 200),
    ),
    (
        "period-yearly",
        {"min": 100, "max": 200, "currency": "USD", "period": "yearly"},
        (100, 200, "USD", "year", False, 100, 200),
    ),
    (
        "period-Annually-per-year",
        {"min": 100, "max": 200, "currency": "USD", "period": "Per Year"},
        (100, 200, "USD", "year", False, 100, 200),
    ),
    (
        "period-monthly-cad",
        {"min": 4000, "max": 5000, "currency": "CAD", "period": "monthly"},
        (4000, 5000, "CAD", "month", False, 36000, 45000),
    ),
    (
        "period-Per-Month",
        {"min": 4000, "max": 5000, "currency": "USD", "period": " Per Month "},
        (4000, 5000, "USD", "month", False, 48000, 60000),
    ),
    (
        "period-weekly",
        {"min": 1000, "max": 1500, "currency": "USD", "period": "weekly"},
        (1000, 1500, "USD", "week", False, 52000, 78000),
    ),
    (
        "period-week",
        {"min": 1000, "max": 1500, "currency": "USD", "period": "week"},
        (1000, 1500, "USD", "week", False, 52000, 78000),
    ),
    (
        "period-daily-eur",
        {"min": 300, "max": 400, "currency": "EUR", "period": "daily"},
        (300, 400, "EUR", "day", False, 117000, 156000),
    ),
    (
        "period-day",
        {"min": 300, "max": 400, "currency": "USD", "period": "DAY"},
        (300, 400, "USD", "day", False, 78000, 104000),
    ),
    (
        "period-hourly",
        {"min": 25, "max": 40, "currency": "USD", "period": "hourly"},
        (25, 40, "USD", "hour", False, 52000, 83200),
    ),
    (
        "period-HOUR",
        {"min": 25, "max": 40, "currency": "USD", "period": "HOUR"},
        (25, 40, "USD", "hour", False, 52000, 83200),
    ),
    (
        "period-unknown-word-infers",
        {"min": 25, "max": 40, "currency": "USD", "period": "fortnightly"},
        (25, 40, "USD", "hour", True, 52000, 83200),
    ),
    (
        "period-not-a-string-infers",
        {"min": 25, "max": 40, "currency": "USD", "period": 7},
        (25, 40, "USD", "hour", True, 52000, 83200),
    ),
    (
        "infer-hour-just-below-250",
        {"min": 100, "max": 249.5, "currency": "USD"},
        (100, 249.5, "USD", "hour", True, 208000, 518960),
    ),
    (
        "infer-day-at-250",
        {"min": 100, "max": 250, "currency": "USD"},
        (100, 250, "USD", "day", True, 26000, 65000),
    ),
    (
        "infer-day-below-1500",
        {"min": 1000, "max": 1499, "currency": "USD"},
        (1000, 1499, "USD", "day", True, 260000, 389740),
    ),
    (
        "infer-month-at-1500",
        {"min": 1000, "max": 1500, "currency": "USD"},
        (1000, 1500, "USD", "month", True, 12000, 18000),
    ),
    (
        "infer-month-below-15000",
        {"min": 10000, "max": 14999, "currency": "USD"},
        (10000, 14999, "USD", "month", True, 120000, 179988),
    ),
    (
        "infer-year-at-15000",
        {"min": 10000, "max": 15000, "currency": "USD"},
        (10000, 15000, "USD", "year", True, 10000, 15000),
    ),
    (
        "infer-uses-usd-not-face-value",
        {"min": 150, "max": 200, "currency": "GBP"},
        (150, 200, "GBP", "day", True, 78000, 104000),
    ),
    (
        "infer-from-lone-min",
        {"min": 3000, "currency": "USD"},
        (3000, N, "USD", "month", True, 36000, N),
    ),
    (
        "rupee-symbol",
        {"min": "₹1,200,000", "max": "₹1,800,000"},
        (1.2e6, 1.8e6, "INR", "year", True, 15000, 22500),
    ),
    (
        "yen-symbol",
        {"min": "¥5,000,000", "max": "¥7,000,000"},
        (5e6, 7e6, "JPY", "year", True, 39062.5, 54687.5),
    ),
    (
        "pound-symbol-k",
        {"min": "£40k", "max": "£50k"},
        (40000, 50000, "GBP", "year", True, 80000, 100000),
    ),
    (
        "symbol-only-on-max",
        {"min": "40000", "max": "£50000"},
        (40000, 50000, "GBP", "year", True, 80000, 100000),
    ),
    (
        "blank-currency-uses-symbol",
        {"min": "€10", "max": "€20", "currency": ""},
        (10, 20, "EUR", "hour", True, 31200, 62400),
    ),
    (
        "symbol-in-currency-field",
        {"min": 100000, "max": 120000, "currency": "$"},
        (100000, 120000, "USD", "year", True, 100000, 120000),
    ),
    (
        "euro-sign-in-currency-field",
        {"min": 100000, "max": 120000, "currency": "€"},
        (100000, 120000, "EUR", "year", True, 150000, 180000),
    ),
    (
        "us-dollar-prefix",
        {"min": 100000, "max": 120000, "currency": "US$"},
        (100000, 120000, "USD", "year", True, 100000, 120000),
    ),
    (
        "code-prefix-in-amount",
        {"min": "USD 120,000", "max": "USD 140,000"},
        (120000, 140000, "USD", "year", True, 120000, 140000),
    ),
    (
        "code-suffix-in-amount",
        {"min": "120000 EUR", "max": "140000 EUR"},
        (120000, 140000, "EUR", "year", True, 180000, 210000),
    ),
    (
        "currency-not-a-string",
        {"min": 100000, "max": 120000, "currency": 123},
        (100000, 120000, N, N, N, N, N),
    ),
    (
        "float-amounts",
        {"min": 85000.5, "max": 90000.25, "currency": "USD"},
        (85000.5, 90000.25, "USD", "year", True, 85000.5, 90000.25),
    ),
    (
        "exponent-string",
        {"min": "1e5", "max": "1.5e5", "currency": "USD"},
        (100000, 150000, "USD", "year", True, 100000, 150000),
    ),
    (
        "space-thousands",
        {"min": "100 000", "max": "120 000", "currency": "EUR"},
        (100000, 120000, "EUR", "year", True, 150000, 180000),
    ),
    (
        "equal-bounds",
        {"min": 70000, "max": 70000, "currency": "USD"},
        (70000, 70000, "USD", "year", True, 70000, 70000),
    ),
    (
        "zero-min",
        {"min": 0, "max": 50000, "currency": "USD"},
        (0, 50000, "USD", "year", True, 0, 50000),
    ),
    (
        "bool-amount",
        {"min": True, "max": 50000, "currency": "USD"},
        (N, 50000, "USD", "year", True, N, 50000),
    ),
    (
        "object-amount",
        {"min": {"value": 1}, "max": 50000, "currency": "USD"},
        (N, 50000, "USD", "year", True, N, 50000),
    ),
    (
        "list-amount",
        {"min": [1, 2], "max": 50000, "currency": "USD"},
        (N, 50000, "USD", "year", True, N, 50000),
    ),
    ("symbol-alone", {"min": "$", "max": "$", "currency": "USD"}, (N, N, "USD", N, N, N, N)),
    (
        "period-without-bounds",
        {"currency": "USD", "period": "year"},
        (N, N, "USD", "year", False, N, N),
    ),
    ("empty-object", {}, (N, N, N, N, N, N, N)),
    ("null-range", None, (N, N, N, N, N, N, N)),
    ("string-range", "100k-120k", (N, N, N, N, N, N, N)),
    ("list-range", [100000, 120000], (N, N, N, N, N, N, N)),
    ("number-range", 100000, (N, N, N, N, N, N, N)),
]


@pytest.mark.parametrize(
    ("salary_range", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_salary_case(salary_range: Any, expected: Expected, fx_rates: pl.DataFrame) -> None:
    frame = normalize_salary(jobs_frame([{"id": "j1", "salary_range": salary_range}]), fx_rates)
    row = frame.row(0, named=True)
    got = (
        row["salary_min"],
        row["salary_max"],
        row["salary_currency"],
        row["salary_period"],
        row["salary_period_inferred"],
        row["salary_min_usd_annual"],
        row["salary_max_usd_annual"],
    )
    assert _close(got, expected), f"{got} != {expected}"


def _close(got: tuple[Any, ...], expected: tuple[Any, ...]) -> bool:
    """Exact for text, flags and nulls; floats to 1e-12 relative (the FX rates are exact)."""
    return len(got) == len(expected) and all(
        g == pytest.approx(e, rel=1e-12)
        if isinstance(e, int | float) and not isinstance(e, bool)
        else g == e and type(g) is type(e)
        for g, e in zip(got, expected, strict=True)
    )


def test_all_cases_in_one_frame_keep_row_order(fx_rates: pl.DataFrame) -> None:
    """Distinct-value joins must not reorder rows: a batch equals its cases one by one."""
    records = [{"id": f"j{i}", "salary_range": c[1]} for i, c in enumerate(CASES)]
    frame = normalize_salary(jobs_frame(records), fx_rates)
    assert frame["job_id"].to_list() == [r["id"] for r in records]
    assert frame["salary_currency"].to_list() == [c[2][2] for c in CASES]
    assert frame["salary_period"].to_list() == [c[2][3] for c in CASES]


def test_output_dtypes(fx_rates: pl.DataFrame) -> None:
    frame = normalize_salary(jobs_frame([{"id": "j1"}]), fx_rates)
    assert frame.select(
        "salary_min",
        "salary_max",
        "salary_currency",
        "salary_period",
        "salary_period_inferred",
        "salary_min_usd_annual",
        "salary_max_usd_annual",
    ).schema == pl.Schema(
        {
            "salary_min": pl.Float64,
            "salary_max": pl.Float64,
            "salary_currency": pl.String,
            "salary_period": pl.String,
            "salary_period_inferred": pl.Boolean,
            "salary_min_usd_annual": pl.Float64,
            "salary_max_usd_annual": pl.Float64,
        }
    )


def test_fx_rates_latest_as_of_wins_and_codes_are_normalized() -> None:
    fx = pl.DataFrame(
        {
            "currency": ["eur ", "EUR", "EUR", "USD", "GBP"],
            "usd_per_unit": [9.0, 1.5, 3.0, 1.0, -2.0],
            "as_of": ["2025-01-01", "2025-06-01", "2024-01-01", "2025-01-01", "2025-01-01"],
        }
    ).with_columns(pl.col("as_of").str.to_date())
    records = [
        {"id": "a", "salary_range": {"min": 100000, "currency": "EUR"}},
        {"id": "b", "salary_range": {"min": 100000, "currency": "GBP"}},
    ]
    frame = normalize_salary(jobs_frame(records), fx)
    assert frame["salary_min_usd_annual"].to_list() == [150000.0, None]
    assert frame["salary_currency"].to_list() == ["EUR", "GBP"]


def test_other_columns_pass_through(fx_rates: pl.DataFrame) -> None:
    raw = jobs_frame([{"id": "a", "title": "T", "salary_range": {"min": 1}}])
    frame = normalize_salary(raw, fx_rates)
    assert frame.select(raw.columns).equals(raw)
