"""Warehouse errors, each carrying one plain line the CLI can print as is.

WarehouseError            -- base: anything the warehouse cannot do; message says what to do
├── WarehouseLockedError  -- another process kept the file locked past the lock timeout (retry later)
├── WarehouseMissingError -- read-only open of a file that does not exist (run a sync first)
├── MigrationError        -- the file's schema cannot be brought up to date (fatal)
└── FxRatesError          -- an fx rates CSV is invalid (fix the file)
"""

from __future__ import annotations

__all__ = [
    "FxRatesError",
    "MigrationError",
    "WarehouseError",
    "WarehouseLockedError",
    "WarehouseMissingError",
]


class WarehouseError(Exception):
    """Base class; ``str(exc)`` is a complete, secret-free sentence for the operator."""


class WarehouseLockedError(WarehouseError):
    """Another process held the DuckDB file for longer than the caller was willing to wait."""


class WarehouseMissingError(WarehouseError):
    """A read-only open found no warehouse file (read-only opens never create one)."""


class MigrationError(WarehouseError):
    """The schema cannot be migrated, e.g. the file was written by a newer jobsphere."""


class FxRatesError(WarehouseError):
    """An fx rates file failed validation; nothing was replaced."""
