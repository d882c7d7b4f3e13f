"""The raw jobs frame -> the normalized frame the warehouse loads (``NORMALIZED_SCHEMA``).

Choices the SPEC leaves open:

- ``employment_type``: trimmed, lower-cased, spaces and hyphens as ``_``; ``fulltime``,
  ``parttime``, ``contractor`` map to ``full_time``, ``part_time``, ``contract``. Any other
  value is kept in that form (``internship``, ``temporary``) rather than dropped, so analysts see
  what the source sends; blank is null.
- ``title``, ``company``: trimmed; blank is null.
- Timestamps: RFC 3339 with ``Z`` or an offset, ``T`` or a space between date and time, any
  fraction (truncated to microseconds). A timestamp without an offset is read as UTC (many feeds
  drop the ``Z``); a date alone, an impossible date, or a year outside 1..9999 is null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import polars as pl

from transforms.location import normalize_location
from transforms.salary import normalize_salary

__all__ = ["NORMALIZED_SCHEMA", "normalize_jobs", "parse_timestamp", "with_version_at"]

_UTC: Final = pl.Datetime("us", "UTC")

NORMALIZED_SCHEMA: Final[pl.Schema] = pl.Schema(
    {
        "job_id": pl.String(),
        "title": pl.String(),
        "company": pl.String(),
        "employment_type": pl.String(),
        "location_raw": pl.String(),
        "city": pl.String(),
        "region": pl.String(),
        "country_code": pl.String(),
        "is_remote": pl.Boolean(),
        "salary_min": pl.Float64(),
        "salary_max": pl.Float64(),
        "salary_currency": pl.String(),
        "salary_period": pl.String(),
        "salary_period_inferred": pl.Boolean(),
        "salary_min_usd_annual": pl.Float64(),
        "salary_max_usd_annual": pl.Float64(),
        "posted_at": _UTC,
        "source_updated_at": _UTC,
        "raw": pl.String(),
    }
)

_EMPLOYMENT_SYNONYMS: Final[dict[str, str]] = {
    "fulltime": "full_time",
    "parttime": "part_time",
    "contractor": "contract",
}


def _text(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return pl.when(value != "").then(value)


def _employment_type(column: str) -> pl.Expr:
    key = _text(column).str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
    return key.replace(_EMPLOYMENT_SYNONYMS)


def parse_timestamp(text: pl.Expr) -> pl.Expr:
    """RFC 3339 text -> ``Datetime("us", "UTC")``; anything unreadable -> null."""
    canonical = (
        text.str.strip_chars()
        .str.to_uppercase()
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
        .str.replace(r"Z$", "+00:00")
    )
    # No offset at all: read as UTC.
    canonical = (
        pl.when(canonical.str.contains(r"T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$"))
        .then(canonical + "+00:00")
        .otherwise(canonical)
    )
    parsed = canonical.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC", strict=False
    )
    return pl.when(parsed.dt.year().is_between(1, 9999)).then(parsed)


def normalize_jobs(raw_frame: pl.DataFrame, fx_rates: pl.DataFrame) -> pl.DataFrame:
    """Normalize a ``jobs_frame`` output; the result has exactly ``NORMALIZED_SCHEMA``."""
    frame = raw_frame.with_columns(
        _text("title").alias("title"),
        _text("company").alias("company"),
        _employment_type("employment_type").alias("employment_type"),
        parse_timestamp(pl.col("posted_at_raw")).alias("posted_at"),
        parse_timestamp(pl.col("updated_at_raw")).alias("source_updated_at"),
    )
    frame = normalize_location(normalize_salary(frame, fx_rates))
    return frame.select(
        pl.col(name).cast(dtype) for name, dtype in NORMALIZED_SCHEMA.items()
    )


def with_version_at(frame: pl.DataFrame, default: datetime | pl.Expr) -> pl.DataFrame:
    """Add ``version_at``, the newest-wins key: the source's ``updated_at``, else ``default``.

    ``default`` is the webhook event's ``created_at`` or the sync's observation time. A naive
    ``datetime`` is refused: guessing its zone would silently reorder versions.
    """
    if isinstance(default, datetime):
        if default.tzinfo is None or default.utcoffset() is None:
            raise ValueError("with_version_at: default must be timezone-aware")
        fallback = pl.lit(default).dt.convert_time_zone("UTC").cast(_UTC)
    else:
        fallback = default.cast(_UTC)
    return frame.with_columns(pl.coalesce(pl.col("source_updated_at"), fallback).alias("version_at"))
