"""Pure Polars transforms: decoded job records -> the normalized jobs frame. No I/O."""

from __future__ import annotations

from transforms.location import normalize_location
from transforms.normalize import NORMALIZED_SCHEMA, normalize_jobs, with_version_at
from transforms.records import jobs_frame
from transforms.salary import normalize_salary

__all__ = [
    "NORMALIZED_SCHEMA",
    "jobs_frame",
    "normalize_jobs",
    "normalize_location",
    "normalize_salary",
    "with_version_at",
]
