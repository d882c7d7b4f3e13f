"""Decoded job records -> one loose, string-typed row per record.

Why NDJSON and not ``pl.from_dicts``: the source promises nothing about value types, and
``from_dicts`` raises as soon as an object or list sits where a string was expected. Each record
is serialized once with orjson (that text *is* the ``raw`` column, so the work is not wasted) and
the joined NDJSON buffer is parsed by Polars' multi-threaded JSON reader against an all-String
schema. The reader turns numbers and booleans into their text and nested values into JSON-like
text; a ``salary_range`` that is not an object becomes a null struct (``ignore_errors``), never an
exception. orjson output never contains a raw newline, so one record is exactly one line.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from typing import Any, Final

import orjson
import polars as pl

__all__ = ["RECORDS_SCHEMA", "jobs_frame"]

_S = pl.String

RECORDS_SCHEMA: Final[pl.Schema] = pl.Schema(
    {
        "job_id": _S,
        "title": _S,
        "company": _S,
        "employment_type": _S,
        "location_raw": _S,
        "salary_min_raw": _S,
        "salary_max_raw": _S,
        "salary_currency_raw": _S,
        "salary_period_raw": _S,
        "posted_at_raw": _S,
        "updated_at_raw": _S,
        "raw": _S,
    }
)

# Source field -> frame column, for the top-level scalar fields.
_TOP_LEVEL: Final[dict[str, str]] = {
    "id": "job_id",
    "title": "title",
    "company": "company",
    "type": "employment_type",
    "location": "location_raw",
    "posted_at": "posted_at_raw",
    "updated_at": "updated_at_raw",
}
_SALARY: Final[dict[str, str]] = {
    "min": "salary_min_raw",
    "max": "salary_max_raw",
    "currency": "salary_currency_raw",
    "period": "salary_period_raw",
}
_READ_SCHEMA: Final[dict[str, pl.DataType]] = {
    **dict.fromkeys(_TOP_LEVEL, _S),
    "salary_range": pl.Struct(dict.fromkeys(_SALARY, _S)),
}


def jobs_frame(records: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """One row per record, columns as ``RECORDS_SCHEMA``; never raises on odd value types."""
    if not records:
        return pl.DataFrame(schema=RECORDS_SCHEMA)
    lines = _serialize(records)
    parsed = pl.read_ndjson(io.BytesIO(b"\n".join(lines)), schema=_READ_SCHEMA, ignore_errors=True)
    if parsed.height != len(records):  # one valid JSON object per line: cannot happen
        raise RuntimeError(f"parsed {parsed.height} rows from {len(records)} records")
    raw = pl.Series("raw", lines, dtype=pl.Binary).cast(pl.String)
    return parsed.select(
        *(pl.col(src).alias(dst) for src, dst in _TOP_LEVEL.items()),
        *(pl.col("salary_range").struct.field(src).alias(dst) for src, dst in _SALARY.items()),
        pl.lit(raw),
    ).select(RECORDS_SCHEMA.names())


def _serialize(records: Sequence[dict[str, Any]]) -> list[bytes]:
    """orjson for the whole batch; the slow, forgiving path only if some record defeats it."""
    try:
        return list(map(orjson.dumps, records))
    except (orjson.JSONEncodeError, TypeError):
        return [_dumps_forgiving(record) for record in records]


def _dumps_forgiving(record: dict[str, Any]) -> bytes:
    """Integers beyond 64 bits, non-string keys, lone surrogates: valid JSON all the same."""
    try:
        return orjson.dumps(record)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(
            _jsonable(record), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()


def _jsonable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_jsonable(str(key)): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return _jsonable(str(value))
