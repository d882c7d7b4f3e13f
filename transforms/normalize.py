"""The raw jobs frame -> the normalized frame the warehouse loads (``NORMALIZED_SCHEMA``).

Choices the SPEC leaves open:

- ``employment_type``: trimmed, lower-cased, spaces and hyphens as ``_``; ``fulltime``,
  ``parttime``, ``contractor`` map to ``full_time``, ``part_time``, ``contract``. Any other
  value is kept in that form (``internship``, ``temporary``) rather than dropped, so analysts see
  what the source sends; blank is null.
- ``title``, ``company``: trimmed; blank is null.
- Timestamps: RFC 3339 with ``Z`` or an offset, ``T`` or a space between date and time, any
  fraction (truncated to microseconds). A timestamp without an offset is read as UTC (many feeds
  drop the ``Z``); a date alone, an impossible date, an offset without its colon (``+0200``,
  not RFC 3339) or a UTC year outside 1..9999 is null.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import polars as pl

from transforms._lookup import lookup
from transforms.location import normalize_location
from transforms.salary import normalize_salary

__all__ = ["NORMALIZED_SCHEMA", "normalize_jobs", "with_version_at"]

_UTC: Final = pl.Datetime("us", "UTC")
_FIRST_MOMENT: Final = datetime(1, 1, 1, tzinfo=UTC)
_LAST_MOMENT: Final = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)

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


# What nearly every feed sends: second precision, ``Z``. Such a value needs none of the general
# path's clean-up, fraction or offset handling.
_CANONICAL = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
_RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"


def _timestamps(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """RFC 3339 text columns -> ``Datetime("us", "UTC")`` columns; unreadable -> null.

    Why not one ``str.to_datetime`` with ``%:z``: chrono's offset parsing is the slowest step of
    the whole normalization. The shape is checked with one regex, the fixed-width date-time
    prefix is parsed as a naive time on Polars' fast path (which still rejects impossible
    dates; naive is several times faster than parsing into a zone) and labelled UTC, and the
    fraction and offset are read from the tail with plain string slices. Stages are separate
    ``with_columns`` calls because eager expressions are not de-duplicated.
    """
    if _all_canonical(frame, columns):
        # One fixed-format parse straight into UTC, then the range check as its own stage (an
        # eager expression that names the parse twice would run it twice).
        frame = frame.with_columns(
            pl.col(src)
            .str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us", time_zone="UTC", strict=False)
            .alias(dst)
            for src, dst in columns.items()
        )
        return frame.with_columns(
            _in_year_range(pl.col(dst)).alias(dst) for dst in columns.values()
        )
    tmp = {src: f"__ts_{index}" for index, src in enumerate(columns)}
    text = {src: pl.col(tmp[src]) for src in columns}
    frame = frame.with_columns(
        pl.col(src)
        .str.strip_chars()
        .str.to_uppercase()
        .str.replace(" ", "T", literal=True)
        .alias(tmp[src])
        for src in columns
    )
    frame = frame.with_columns(
        pl.when(text[src].str.contains(_RFC3339)).then(text[src]).alias(tmp[src]) for src in columns
    )
    frame = frame.with_columns(
        expr
        for src in columns
        for expr in (
            text[src]
            .str.slice(0, 19)
            .str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us", strict=False)
            .dt.replace_time_zone("UTC")
            .alias(f"{tmp[src]}_base"),
            # "" (no offset: UTC), "Z", or "+hh:mm" -- the regex allows nothing else.
            pl.when(text[src].str.ends_with("Z"))
            .then(pl.lit(""))
            .otherwise(text[src].str.slice(19).str.slice(-6))
            .alias(f"{tmp[src]}_offset"),
            text[src].str.slice(19).str.strip_chars_end("Z").alias(f"{tmp[src]}_tail"),
        )
    )

    def offset_minutes(src: str) -> pl.Expr:
        offset = pl.col(f"{tmp[src]}_offset")
        minutes = offset.str.slice(1, 2).cast(pl.Int64, strict=False) * 60 + offset.str.slice(
            4, 2
        ).cast(pl.Int64, strict=False)
        signed = pl.when(offset.str.starts_with("-")).then(-minutes).otherwise(minutes)
        return pl.when(offset.str.len_bytes() == 6).then(signed).otherwise(0)

    def microseconds(src: str) -> pl.Expr:
        tail, offset = pl.col(f"{tmp[src]}_tail"), pl.col(f"{tmp[src]}_offset")
        fraction = pl.when(offset.str.len_bytes() == 6).then(tail.str.head(-6)).otherwise(tail)
        digits = fraction.str.slice(1, 6).str.pad_end(6, "0")
        return digits.cast(pl.Int64, strict=False).fill_null(0)

    frame = frame.with_columns(
        (
            pl.col(f"{tmp[src]}_base")
            + pl.duration(microseconds=microseconds(src), minutes=-offset_minutes(src))
        ).alias(tmp[src])
        for src in columns
    )
    return frame.with_columns(
        _in_year_range(text[src]).alias(dst) for src, dst in columns.items()
    ).drop(pl.selectors.starts_with("__ts_"))


def _all_canonical(frame: pl.DataFrame, columns: dict[str, str]) -> bool:
    """Whether every non-null value is ``YYYY-MM-DDTHH:MM:SSZ``: then the general path would only
    parse the first 19 characters, so the batch skips its clean-up and tail handling. One cheap
    regex pass decides for the whole batch; a single other value sends all of it the general way.
    """
    checks = frame.select(
        pl.col(src).str.contains(_CANONICAL).fill_null(True).all().alias(src) for src in columns
    )
    return all(checks.row(0))


def _in_year_range(stamp: pl.Expr) -> pl.Expr:
    """UTC year 1..9999, as two comparisons of the stored integer (no calendar arithmetic)."""
    return pl.when(stamp.is_between(_FIRST_MOMENT, _LAST_MOMENT)).then(stamp)


def _employment_types(frame: pl.DataFrame) -> pl.DataFrame:
    """Per distinct value (there are few): trimmed, lower case, ``_`` for blanks and hyphens."""
    distinct = frame.select(pl.col("employment_type").unique().drop_nulls())
    key = pl.col("employment_type").str.strip_chars().str.to_lowercase()
    key = key.str.replace_all(r"[\s\-]+", "_").replace(_EMPLOYMENT_SYNONYMS)
    mapping = distinct.with_columns(key.alias("__employment_type"))
    mapping = mapping.with_columns(
        pl.when(pl.col("__employment_type") != "").then(pl.col("__employment_type"))
    )
    looked_up = lookup(frame, mapping, "employment_type").to_series()
    return frame.with_columns(looked_up.alias("employment_type"))


def normalize_jobs(raw_frame: pl.DataFrame, fx_rates: pl.DataFrame) -> pl.DataFrame:
    """Normalize a ``jobs_frame`` output; the result has exactly ``NORMALIZED_SCHEMA``."""
    frame = raw_frame.with_columns(pl.col("title", "company").str.strip_chars())
    frame = frame.with_columns(
        pl.when(pl.col(name).str.len_bytes() > 0).then(pl.col(name)).alias(name)
        for name in ("title", "company")
    )
    frame = _timestamps(
        _employment_types(frame),
        {"posted_at_raw": "posted_at", "updated_at_raw": "source_updated_at"},
    )
    frame = normalize_location(normalize_salary(frame, fx_rates))
    return frame.select(pl.col(name).cast(dtype) for name, dtype in NORMALIZED_SCHEMA.items())


def with_version_at(frame: pl.DataFrame, default: datetime | pl.Expr) -> pl.DataFrame:
    """Add ``version_at``, the newest-wins key: the source's ``updated_at``, else ``default``.

    ``default`` is the webhook event's ``created_at`` or the sync's observation time. A naive
    ``datetime`` is refused: guessing its zone would silently reorder versions. An expression may
    be a ``Datetime`` in any zone (a zone-less one is read as UTC) or RFC 3339 text.
    """
    if isinstance(default, datetime):
        if default.tzinfo is None or default.utcoffset() is None:
            raise ValueError("with_version_at: default must be timezone-aware")
        fallback = pl.lit(default).dt.convert_time_zone("UTC").cast(_UTC)
        return frame.with_columns(
            pl.coalesce(pl.col("source_updated_at"), fallback).alias("version_at")
        )
    values = frame.select(default.alias("__default"))
    dtype = values.schema["__default"]
    if dtype == pl.String:
        values = _timestamps(values, {"__default": "__default"})
    elif isinstance(dtype, pl.Datetime):
        column = pl.col("__default")
        zoned = column.dt.replace_time_zone("UTC") if dtype.time_zone is None else column
        values = values.select(zoned.dt.convert_time_zone("UTC").cast(_UTC))
    else:
        raise TypeError(f"with_version_at: default must be a Datetime or text, not {dtype}")
    return frame.with_columns(
        pl.coalesce(pl.col("source_updated_at"), values.to_series()).alias("version_at")
    )
