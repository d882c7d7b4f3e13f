"""The fx_rates table: USD conversion rates used to annualize salaries in USD.

The project ships dated rates (``sql/seed/fx_rates.csv``) that are loaded into an empty warehouse;
users replace them wholesale from their own CSV. Validation is strict and all-or-nothing because a
silently wrong rate skews every salary figure downstream.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl
import pycountry

from warehouse._arrow import frame_of, register_frame
from warehouse.errors import FxRatesError
from warehouse.transaction import transaction

__all__ = ["FX_COLUMNS", "import_fx_rates", "load_seed_fx_rates", "read_fx_rates"]

FX_COLUMNS = ("currency", "usd_per_unit", "as_of")


def read_fx_rates(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Rates as the transforms expect them: ``(currency: String, usd_per_unit: Float64)``."""
    frame = frame_of(con.sql("SELECT currency, usd_per_unit FROM fx_rates ORDER BY currency"))
    return frame.cast({"currency": pl.String, "usd_per_unit": pl.Float64})


def import_fx_rates(con: duckdb.DuckDBPyConnection, csv_path: str | Path) -> int:
    """Replace every rate with the ones in ``csv_path``; return how many rates are now stored.

    USD is added at 1.0 when the file omits it, so USD salaries always convert.
    """
    path = Path(csv_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FxRatesError(f"cannot read fx rates file {path}: {exc.strerror or exc}") from exc
    rates = _validate(data, source=str(path))
    _replace(con, rates)
    return rates.height


def load_seed_fx_rates(con: duckdb.DuckDBPyConnection) -> int:
    """Load the rates shipped with the package (used by migrations on an empty table)."""
    rates = _validate(_seed_bytes(), source="sql/seed/fx_rates.csv")
    _replace(con, rates)
    return rates.height


@cache
def _seed_bytes() -> bytes:
    return resources.files("sql").joinpath("seed", "fx_rates.csv").read_bytes()


@cache
def _iso_currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def _validate(data: bytes, *, source: str) -> pl.DataFrame:
    try:
        raw = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise FxRatesError(f"fx rates file {source} is not a readable CSV: {exc}") from exc
    columns = [c.strip().lower() for c in raw.columns]
    missing = [c for c in FX_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in FX_COLUMNS]
    if missing or unknown:
        raise FxRatesError(
            f"fx rates file {source} must have exactly the columns {','.join(FX_COLUMNS)} "
            f"(missing: {missing or 'none'}, unexpected: {unknown or 'none'})"
        )
    raw = raw.rename(dict(zip(raw.columns, columns, strict=True)))
    if raw.height == 0:
        raise FxRatesError(f"fx rates file {source} has no rates")
    frame = raw.with_row_index("line", offset=2).select(
        "line",
        pl.col("currency").str.strip_chars().str.to_uppercase().alias("currency"),
        pl.col("usd_per_unit")
        .str.strip_chars()
        .cast(pl.Float64, strict=False)
        .alias("usd_per_unit"),
        pl.col("as_of").str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias("as_of"),
        pl.col("usd_per_unit").alias("rate_text"),
        pl.col("as_of").alias("date_text"),
        pl.col("currency").alias("currency_text"),
    )
    checks: list[tuple[pl.Expr, str]] = [
        (
            ~pl.col("currency").is_in(list(_iso_currencies())).fill_null(False),
            "currency {currency_text!r} is not an ISO 4217 code",
        ),
        (
            ~(pl.col("usd_per_unit").is_finite() & (pl.col("usd_per_unit") > 0)).fill_null(False),
            "usd_per_unit {rate_text!r} is not a positive number",
        ),
        (pl.col("as_of").is_null(), "as_of {date_text!r} is not a YYYY-MM-DD date"),
        (
            pl.col("currency").is_duplicated() & pl.col("currency").is_not_null(),
            "currency {currency_text!r} appears more than once",
        ),
    ]
    for condition, template in checks:
        bad = frame.filter(condition)
        if bad.height:
            first = bad.row(0, named=True)
            more = f" (and {bad.height - 1} more rows)" if bad.height > 1 else ""
            raise FxRatesError(
                f"fx rates file {source} line {first['line']}: {template.format(**first)}{more}"
            )
    rates = frame.select("currency", "usd_per_unit", "as_of")
    if not (rates["currency"] == "USD").any():
        usd = pl.DataFrame(
            {"currency": ["USD"], "usd_per_unit": [1.0], "as_of": [rates["as_of"].max()]},
            schema=rates.schema,
        )
        rates = pl.concat([rates, usd])
    return rates


def _replace(con: duckdb.DuckDBPyConnection, rates: pl.DataFrame) -> None:
    register_frame(con, "_fx_incoming", rates)
    try:
        with transaction(con):
            con.execute("DELETE FROM fx_rates")
            con.execute(
                "INSERT INTO fx_rates SELECT currency, usd_per_unit, as_of FROM _fx_incoming"
            )
    finally:
        con.unregister("_fx_incoming")
