"""Change detection: which attributes make a new job version, and how they are fingerprinted.

DuckDB's ``hash()`` is fast and deterministic across processes, but not promised stable across
DuckDB releases. Stored hashes are therefore guarded by a probe: the migration runner compares
``hash()`` of a fixed tuple with the value recorded at the last open and recomputes every stored
hash once if it moved, so an upgrade never turns unchanged rows into spurious new versions.
"""

from __future__ import annotations

from typing import Final

__all__ = ["HASH_PROBE_SQL", "TRACKED_COLUMNS", "raw_hash_sql", "row_hash_sql"]

#: A new SCD2 version is written only when one of these changes.
TRACKED_COLUMNS: Final = (
    "title",
    "company",
    "employment_type",
    "location_raw",
    "city",
    "region",
    "country_code",
    "is_remote",
    "salary_min",
    "salary_max",
    "salary_currency",
    "salary_period",
    "salary_period_inferred",
    "salary_min_usd_annual",
    "salary_max_usd_annual",
    "posted_at",
)

#: One value per column type used in TRACKED_COLUMNS and raw, NULLs included.
HASH_PROBE_SQL: Final = (
    "SELECT CAST(hash('jobsphere', NULL::VARCHAR, true, NULL::BOOLEAN, 1.5::DOUBLE, "
    "NULL::DOUBLE, TIMESTAMPTZ '2020-01-02 03:04:05.678901+00', NULL::TIMESTAMPTZ) AS VARCHAR)"
)


def row_hash_sql(alias: str) -> str:
    """``hash()`` over the tracked attributes of the row called ``alias``."""
    return "hash(" + ", ".join(f"{alias}.{c}" for c in TRACKED_COLUMNS) + ")"


def raw_hash_sql(alias: str) -> str:
    """``hash()`` of the raw JSON text, to notice payload-only changes without comparing text."""
    return f"hash({alias}.raw)"
