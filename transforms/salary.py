"""Salary normalization (SPEC section 5): amounts, ISO 4217 currency, period, annual USD.

Everything is a Polars expression over the ``salary_*_raw`` string columns; the exchange rates
are joined, never looped over. Choices the SPEC leaves open:

- "Unknown currency" means not an ISO 4217 code (after mapping symbols): currency and USD figures
  are null. A valid code that is missing from ``fx_rates`` keeps its currency; only the USD
  figures are null.
- The currency field wins over a symbol written inside an amount (``"€50k"``); the symbol counts
  only when the field is missing or blank.
- The period comes from ``period`` whenever that names one, even when the currency is unknown.
  Inference needs the larger bound in USD: without a USD figure the period stays null, because a
  guess in an unknown unit would be worse than none. ``salary_period_inferred`` is true only for
  an inferred period, false for a given one, null when there is no period.
- Amounts: thousands separators (``,``, ``_``, spaces), ``k``/``m`` suffixes, exponents and a
  symbol or three-letter code before or after the number are understood. A negative, non-finite
  or otherwise unreadable amount is null. A decimal comma (``120.000,50``) is not understood.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import polars as pl
import pycountry

from transforms._lookup import DistinctCache, lookup

__all__ = ["ANNUAL_FACTORS", "SALARY_COLUMNS", "normalize_salary"]

SALARY_COLUMNS: Final[dict[str, pl.DataType]] = {
    "salary_min": pl.Float64(),
    "salary_max": pl.Float64(),
    "salary_currency": pl.String(),
    "salary_period": pl.String(),
    "salary_period_inferred": pl.Boolean(),
    "salary_min_usd_annual": pl.Float64(),
    "salary_max_usd_annual": pl.Float64(),
}

ANNUAL_FACTORS: Final[dict[str, float]] = {
    "hour": 2080.0,
    "day": 260.0,
    "week": 52.0,
    "month": 12.0,
    "year": 1.0,
}

_SYMBOLS: Final[dict[str, str]] = {
    "$": "USD",
    "us$": "USD",
    "c$": "CAD",
    "ca$": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "¥": "JPY",
}

_PERIODS: Final[dict[str, str]] = {
    **dict.fromkeys(["year", "years", "yearly", "annual", "annually", "yr", "annum"], "year"),
    **dict.fromkeys(["month", "months", "monthly", "mo"], "month"),
    **dict.fromkeys(["week", "weeks", "weekly", "wk"], "week"),
    **dict.fromkeys(["day", "days", "daily"], "day"),
    **dict.fromkeys(["hour", "hours", "hourly", "hr"], "hour"),
}

# The periods' positions here are how the per-row work refers to them (see normalize_salary).
_PERIOD_NAMES: Final[tuple[str, ...]] = tuple(ANNUAL_FACTORS)

# Thresholds on the larger bound in USD, per SPEC: under 250 hour, 1,500 day, 15,000 month.
_INFER_BELOW: Final[tuple[tuple[float, str], ...]] = (
    (250.0, "hour"),
    (1_500.0, "day"),
    (15_000.0, "month"),
)

_CURRENCY_TOKEN = r"us\$|ca?\$|au?\$|[$€£₹¥]|[a-z]{3}"
_AMOUNT = (
    rf"^(?<pre>{_CURRENCY_TOKEN})?\s*"
    r"(?<num>(?:\d[\d,_ ]*(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*"
    r"(?<mult>k|m)?\s*"
    rf"(?<post>{_CURRENCY_TOKEN})?$"
)


@lru_cache(maxsize=1)
def _iso_currencies() -> frozenset[str]:
    """ISO 4217 codes from pycountry, minus the 'no currency' and 'testing' codes."""
    return frozenset(c.alpha_3 for c in pycountry.currencies) - {"XXX", "XTS"}


def _currency_code(token: pl.Expr) -> pl.Expr:
    """A symbol or code (any case) -> ISO 4217 code, else null. Run it on distinct values."""
    key = token.str.strip_chars().str.to_lowercase()
    code = pl.coalesce(
        key.replace_strict(_SYMBOLS, default=None, return_dtype=pl.String),
        key.str.to_uppercase(),
    )
    return pl.when(code.is_in(sorted(_iso_currencies()))).then(code)


def _amounts(texts: pl.Series) -> pl.DataFrame:
    """Distinct amount texts -> (text, value, currency written next to the number).

    Staged ``with_columns`` so each regex runs once per distinct text (eager expressions are not
    de-duplicated).
    """
    parsed = (
        pl.DataFrame({"text": texts})
        .with_columns(
            pl.col("text")
            .str.strip_chars()
            .str.to_lowercase()
            .str.extract_groups(_AMOUNT)
            .alias("__groups")
        )
        .unnest("__groups")
        .with_columns(
            (
                pl.col("num").str.replace_all(r"[,_ ]", "").cast(pl.Float64, strict=False)
                * pl.col("mult")
                .replace_strict({"k": 1e3, "m": 1e6}, default=1.0, return_dtype=pl.Float64)
                .fill_null(1.0)
            ).alias("value"),
            _currency_code(pl.coalesce("pre", "post")).alias("currency"),
        )
    )
    value = pl.col("value")
    return parsed.select(
        "text", pl.when(value.is_finite() & (value >= 0)).then(value).alias("value"), "currency"
    )


_PARSED_AMOUNTS: Final = DistinctCache(_amounts, "text")


def _period(raw: pl.Expr) -> pl.Expr:
    key = raw.str.strip_chars().str.to_lowercase().str.replace(r"^(?:(?:per|a|an)\s+|/\s*)", "")
    return key.replace_strict(_PERIODS, default=None, return_dtype=pl.String)


def _usd_rates(fx_rates: pl.DataFrame) -> pl.DataFrame:
    """One usable rate per currency; with an ``as_of`` column the latest wins."""
    rates = fx_rates
    if "as_of" in rates.columns:
        rates = rates.sort("as_of", nulls_last=False)
    return (
        rates.select(
            pl.col("currency").cast(pl.String).str.strip_chars().str.to_uppercase(),
            pl.col("usd_per_unit").cast(pl.Float64, strict=False).alias("__usd_per_unit"),
        )
        .filter(pl.col("__usd_per_unit").is_finite() & (pl.col("__usd_per_unit") > 0))
        .unique("currency", keep="last", maintain_order=True)
    )


def normalize_salary(frame: pl.DataFrame, fx_rates: pl.DataFrame) -> pl.DataFrame:
    """Add ``SALARY_COLUMNS`` from the ``salary_*_raw`` columns; other columns pass through.

    Amounts, currencies and periods are parsed once per distinct text (they are few next to the
    rows) and handed to each row by position (``lookup``). Per row, currencies and periods stay
    positions in small tables (the ISO codes seen with their USD rates; ``_PERIOD_NAMES``) until
    one gather each for the output text, the rate and the annual factor: moving small integers
    instead of strings is most of what makes this fast, since every fresh 1M-row column costs
    page faults as well as the copying.
    """
    amount_texts = pl.concat(
        [frame.get_column("salary_min_raw"), frame.get_column("salary_max_raw")]
    )
    amounts = _PARSED_AMOUNTS.table(amount_texts.unique().drop_nulls())
    currencies = (
        frame.select(pl.col("salary_currency_raw").unique().drop_nulls())
        .with_columns(
            pl.col("salary_currency_raw").str.strip_chars().alias("__stripped"),
        )
        .select(
            "salary_currency_raw",
            (pl.col("__stripped").is_null() | (pl.col("__stripped") == "")).alias("__blank"),
            _currency_code(pl.col("__stripped")).alias("__given_currency"),
        )
    )
    periods = frame.select(pl.col("salary_period_raw").unique().drop_nulls()).with_columns(
        _period(pl.col("salary_period_raw"))
        .replace_strict(_PERIOD_NAMES, range(len(_PERIOD_NAMES)), return_dtype=pl.UInt8)
        .alias("__period_given")
    )
    # Currencies as positions in one small table of the ISO codes seen, with their USD rates:
    # per row only integers move until the final gathers of code and rate.
    seen = (
        pl.concat([amounts.get_column("currency"), currencies.get_column("__given_currency")])
        .unique()
        .drop_nulls()
        .sort()
    )
    known = pl.DataFrame({"currency": seen}).join(
        _usd_rates(fx_rates), on="currency", how="left", maintain_order="left"
    )
    position = pl.Enum(seen)
    amounts = amounts.with_columns(pl.col("currency").cast(position).to_physical())
    currencies = currencies.with_columns(pl.col("__given_currency").cast(position).to_physical())

    def side(name: str) -> pl.DataFrame:
        renamed = amounts.rename(
            {"text": f"salary_{name}_raw", "value": f"__{name}", "currency": f"__{name}_cur"}
        )
        return lookup(frame, renamed, f"salary_{name}_raw")

    staged = pl.concat(
        [
            side("min"),
            side("max"),
            lookup(frame, currencies, "salary_currency_raw"),
            lookup(frame, periods, "salary_period_raw"),
        ],
        how="horizontal",
    )

    lo, hi = pl.col("__min"), pl.col("__max")
    swap = lo.is_not_null() & hi.is_not_null() & (lo > hi)
    blank = pl.col("__blank").fill_null(True)
    staged = staged.with_columns(
        pl.when(swap).then(hi).otherwise(lo).alias("salary_min"),
        pl.when(swap).then(lo).otherwise(hi).alias("salary_max"),
        pl.when(blank)
        .then(pl.coalesce("__min_cur", "__max_cur"))
        .otherwise(pl.col("__given_currency"))
        .alias("__currency"),
    )
    currency = pl.col("__currency")
    staged = staged.with_columns(
        pl.lit(known.get_column("currency")).gather(currency).alias("salary_currency"),
        pl.lit(known.get_column("__usd_per_unit")).gather(currency).alias("__usd_per_unit"),
    )

    staged = staged.with_columns(
        (pl.max_horizontal("salary_min", "salary_max") * pl.col("__usd_per_unit")).alias(
            "__top_usd"
        )
    )
    # Periods as positions in ``_PERIOD_NAMES`` until the end: per-row work on small integers,
    # then one gather for the names and one for the annual factors.
    top_usd = pl.col("__top_usd")
    inferred: pl.Expr = pl.lit(_PERIOD_NAMES.index("year"), dtype=pl.UInt8)
    for limit, period in reversed(_INFER_BELOW):
        code = pl.lit(_PERIOD_NAMES.index(period), dtype=pl.UInt8)
        inferred = pl.when(top_usd < limit).then(code).otherwise(inferred)
    given = pl.col("__period_given")
    staged = staged.with_columns(
        pl.when(given.is_not_null())
        .then(given)
        .when(top_usd.is_not_null())
        .then(inferred)
        .alias("__period"),
        pl.when(given.is_not_null())
        .then(False)
        .when(top_usd.is_not_null())
        .then(True)
        .alias("salary_period_inferred"),
    )
    period = pl.col("__period")
    staged = staged.with_columns(
        pl.lit(pl.Series(_PERIOD_NAMES, dtype=pl.String)).gather(period).alias("salary_period"),
        (
            pl.col("__usd_per_unit")
            * pl.lit(pl.Series([ANNUAL_FACTORS[name] for name in _PERIOD_NAMES])).gather(period)
        ).alias("__to_usd_annual"),
    )
    staged = staged.with_columns(
        (pl.col("salary_min") * pl.col("__to_usd_annual")).alias("salary_min_usd_annual"),
        (pl.col("salary_max") * pl.col("__to_usd_annual")).alias("salary_max_usd_annual"),
    )
    return frame.with_columns(staged.select(list(SALARY_COLUMNS)).get_columns())
