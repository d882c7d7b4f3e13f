"""Salary ranges spelled every way SPEC section 5 says the warehouse must understand.

A job stores only a style number and three uniform draws; :func:`salary_range` turns them into the
JSON value, so a million jobs cost a few bytes each and the same inputs always give the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["SALARY_STYLES", "SALARY_STYLE_WEIGHTS", "salary_range"]

SalaryRange = dict[str, Any] | None
_Builder = Callable[[float, float, float], SalaryRange]


def _pick(options: tuple[Any, ...], u: float) -> Any:
    return options[min(int(u * len(options)), len(options) - 1)]


def _bounds(u1: float, u2: float, low: float, high: float, step: float) -> tuple[float, float]:
    """A plausible (min, max) pair between ``low`` and ``high``, rounded to ``step``."""
    lo = low + u1 * (high - low) * 0.7
    hi = lo + (0.1 + u2 * 0.4) * lo
    hi = min(hi, high)
    return round(lo / step) * step, round(hi / step) * step


def _num(value: float) -> int | float:
    """Whole numbers as JSON integers, fractions (hourly rates) as floats."""
    return int(value) if float(value).is_integer() else round(value, 2)


def _usd_numbers(u1: float, u2: float, u3: float) -> SalaryRange:
    lo, hi = _bounds(u1, u2, 60_000, 240_000, 1000)
    return {"min": _num(lo), "max": _num(hi), "currency": _pick(("USD", "USD", "usd", "$"), u3)}


def _k_strings(u1: float, u2: float, u3: float) -> SalaryRange:
    lo, hi = _bounds(u1, u2, 60_000, 240_000, 5000)
    suffix = _pick(("k", "K"), u3)
    return {
        "min": f"{int(lo // 1000)}{suffix}",
        "max": f"{int(hi // 1000)}{suffix}",
        "currency": "USD",
    }


def _dollar_strings(u1: float, u2: float, u3: float) -> SalaryRange:
    lo, hi = _bounds(u1, u2, 55_000, 220_000, 1000)
    currency = _pick(("USD", None), u3)
    out: dict[str, Any] = {"min": f"${int(lo):,}", "max": f"${int(hi):,}"}
    if currency:
        out["currency"] = currency
    return out


_SYMBOL_SCALES: tuple[tuple[str, float, float, float], ...] = (
    ("€", 45_000, 130_000, 1000),
    ("£", 40_000, 120_000, 1000),
    ("₹", 1_200_000, 6_000_000, 50_000),
    ("¥", 4_000_000, 14_000_000, 100_000),
    ("$", 70_000, 220_000, 1000),
)


def _symbols(u1: float, u2: float, u3: float) -> SalaryRange:
    symbol, low, high, step = _pick(_SYMBOL_SCALES, u3)
    lo, hi = _bounds(u1, u2, low, high, step)
    return {"min": _num(lo), "max": _num(hi), "currency": symbol}


_ISO_SCALES: tuple[tuple[str, float, float, float], ...] = (
    ("eur", 45_000, 130_000, 1000),
    ("gbp", 40_000, 120_000, 1000),
    ("cad", 70_000, 180_000, 1000),
    ("CAD", 70_000, 180_000, 1000),
    ("AUD", 80_000, 190_000, 1000),
    ("CHF", 90_000, 200_000, 1000),
    ("SGD", 60_000, 180_000, 1000),
    ("AED", 150_000, 500_000, 5000),
    ("BRL", 80_000, 300_000, 1000),
    ("jpy", 4_000_000, 14_000_000, 100_000),
    ("INR", 1_200_000, 6_000_000, 50_000),
    ("EUR", 45_000, 130_000, 1000),
)


def _iso_codes(u1: float, u2: float, u3: float) -> SalaryRange:
    code, low, high, step = _pick(_ISO_SCALES, u3)
    lo, hi = _bounds(u1, u2, low, high, step)
    return {"min": _num(lo), "max": _num(hi), "currency": code}


def _reversed(u1: float, u2: float, u3: float) -> SalaryRange:
    lo, hi = _bounds(u1, u2, 70_000, 200_000, 1000)
    return {"min": _num(hi), "max": _num(lo), "currency": _pick(("USD", "EUR"), u3)}


def _lone_bound(u1: float, u2: float, u3: float) -> SalaryRange:
    lo, hi = _bounds(u1, u2, 60_000, 200_000, 1000)
    if u3 < 0.4:
        return {"min": _num(lo), "currency": "USD"}
    if u3 < 0.7:
        return {"max": _num(hi), "currency": "GBP"}
    if u3 < 0.85:
        return {"min": None, "max": _num(hi), "currency": "USD"}
    return {"min": f"{int(lo // 1000)}k", "max": None, "currency": "EUR"}


def _null(u1: float, u2: float, u3: float) -> SalaryRange:
    return None


def _with_period(periods: tuple[str, ...], low: float, high: float, step: float) -> _Builder:
    def build(u1: float, u2: float, u3: float) -> SalaryRange:
        lo, hi = _bounds(u1, u2, low, high, step)
        return {
            "min": _num(lo),
            "max": _num(hi),
            "currency": _pick(("USD", "EUR", "GBP", "usd"), u2),
            "period": _pick(periods, u3),
        }

    return build


def _without_period(low: float, high: float, step: float) -> _Builder:
    """No period given: the magnitude (in USD, after FX) must imply it per SPEC section 5."""

    def build(u1: float, u2: float, u3: float) -> SalaryRange:
        lo, hi = _bounds(u1, u2, low, high, step)
        return {"min": _num(lo), "max": _num(hi), "currency": _pick(("USD", "EUR", "$"), u3)}

    return build


def _unknown_currency(u1: float, u2: float, u3: float) -> SalaryRange:
    lo, hi = _bounds(u1, u2, 50_000, 150_000, 1000)
    return {"min": _num(lo), "max": _num(hi), "currency": _pick(("XYZ", "BTC", "credits"), u3)}


def _partial(u1: float, u2: float, u3: float) -> SalaryRange:
    """Objects missing the currency, or empty: the 'may be partial' case."""
    lo, hi = _bounds(u1, u2, 60_000, 180_000, 1000)
    if u3 < 0.7:
        return {"min": _num(lo), "max": _num(hi)}
    return {}


# (name, builder, relative weight)
_STYLES: tuple[tuple[str, _Builder, float], ...] = (
    ("usd_numbers", _usd_numbers, 30),
    ("k_strings", _k_strings, 6),
    ("dollar_strings", _dollar_strings, 6),
    ("symbols", _symbols, 8),
    ("iso_codes", _iso_codes, 10),
    ("reversed", _reversed, 3),
    ("lone_bound", _lone_bound, 4),
    ("null", _null, 10),
    ("period_year", _with_period(("year", "annual", "yearly"), 50_000, 200_000, 1000), 4),
    ("period_month", _with_period(("month", "monthly"), 3_000, 14_000, 100), 3),
    ("period_week", _with_period(("week", "weekly"), 1_000, 4_000, 50), 1),
    ("period_day", _with_period(("day", "daily"), 250, 1_000, 10), 2),
    ("period_hour", _with_period(("hour", "hourly"), 20, 150, 0.5), 3),
    ("hourly_magnitude", _without_period(25, 160, 0.5), 3),
    ("daily_magnitude", _without_period(300, 1_200, 10), 2),
    ("monthly_magnitude", _without_period(3_000, 12_000, 100), 2),
    ("unknown_currency", _unknown_currency, 2),
    ("partial", _partial, 1),
)
SALARY_STYLES: tuple[str, ...] = tuple(name for name, _, _ in _STYLES)
SALARY_STYLE_WEIGHTS: tuple[float, ...] = tuple(weight for _, _, weight in _STYLES)
_BUILDERS: tuple[_Builder, ...] = tuple(builder for _, builder, _ in _STYLES)


def salary_range(style: int, u1: float, u2: float, u3: float) -> SalaryRange:
    """The ``salary_range`` JSON value for a style number and three draws in [0, 1)."""
    return _BUILDERS[style](u1, u2, u3)
