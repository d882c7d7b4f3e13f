"""fx_rates: shipped seed, replacement from a user CSV, all-or-nothing validation."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from warehouse import FxRatesError, import_fx_rates, read_fx_rates


def test_seed_rates_are_read_in_the_transforms_shape(con: duckdb.DuckDBPyConnection) -> None:
    rates = read_fx_rates(con)
    assert rates.schema == pl.Schema({"currency": pl.String, "usd_per_unit": pl.Float64})
    assert rates.height >= 30
    assert {"USD", "EUR", "GBP", "INR", "JPY"} <= set(rates["currency"])
    assert rates.filter(pl.col("currency") == "USD")["usd_per_unit"].item() == 1.0


def test_a_valid_csv_replaces_every_rate(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    csv = tmp_path / "rates.csv"
    csv.write_text("Currency, usd_per_unit ,as_of\neur,1.25,2026-02-01\n GBP ,1.5,2026-02-01\n")

    assert import_fx_rates(con, csv) == 3  # USD is added at 1.0

    stored = con.execute(
        "SELECT currency, usd_per_unit, CAST(as_of AS VARCHAR) FROM fx_rates ORDER BY 1"
    ).fetchall()
    assert stored == [
        ("EUR", 1.25, "2026-02-01"),
        ("GBP", 1.5, "2026-02-01"),
        ("USD", 1.0, "2026-02-01"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("currency,rate,as_of\nEUR,1.1,2026-01-01\n", "must have exactly the columns"),
        ("currency,usd_per_unit,as_of\n", "has no rates"),
        (
            "currency,usd_per_unit,as_of\nEUR,1.1,2026-01-01\nXYZ,2,2026-01-01\n",
            "line 3: currency 'XYZ' is not an ISO 4217",
        ),
        (
            "currency,usd_per_unit,as_of\nEUR,-1,2026-01-01\n",
            "usd_per_unit '-1' is not a positive number",
        ),
        ("currency,usd_per_unit,as_of\nEUR,abc,2026-01-01\n", "usd_per_unit 'abc'"),
        ("currency,usd_per_unit,as_of\nEUR,inf,2026-01-01\n", "usd_per_unit 'inf'"),
        (
            "currency,usd_per_unit,as_of\nEUR,1.1,01/02/2026\n",
            "as_of '01/02/2026' is not a YYYY-MM-DD date",
        ),
        (
            "currency,usd_per_unit,as_of\nEUR,1.1,2026-01-01\neur,1.2,2026-01-01\n",
            "appears more than once",
        ),
    ],
    ids=[
        "columns",
        "empty",
        "iso-code",
        "negative",
        "not-a-number",
        "infinite",
        "date",
        "duplicate",
    ],
)
def test_invalid_files_are_refused_and_change_nothing(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, content: str, message: str
) -> None:
    before = read_fx_rates(con)
    csv = tmp_path / "rates.csv"
    csv.write_text(content)

    with pytest.raises(FxRatesError, match=message) as caught:
        import_fx_rates(con, csv)

    assert str(csv) in str(caught.value)
    assert read_fx_rates(con).equals(before)


def test_a_missing_file_is_a_clear_error(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(FxRatesError, match="cannot read fx rates file"):
        import_fx_rates(con, tmp_path / "nope.csv")
