"""The DuckDB warehouse: open the file per batch, migrate it, load batches, keep run state.

Typical writer batch::

    with open_warehouse(db_path) as con:                 # waits out other writers, migrates
        result = load_jobs(con, frame, observed_at=now, change_source="sync",
                           run_id=run_id, rejected=bad, counters={"pages": 1},
                           state={"cursor": cursor})       # one transaction

Webhook-specific writers live in ``warehouse.applications`` and ``warehouse.events``.
"""

from __future__ import annotations

from warehouse.connection import open_warehouse
from warehouse.errors import (
    FxRatesError,
    MigrationError,
    WarehouseError,
    WarehouseLockedError,
    WarehouseMissingError,
)
from warehouse.fx import import_fx_rates, read_fx_rates
from warehouse.load import (
    NORMALIZED_SCHEMA,
    OUTCOMES,
    TRACKED_COLUMNS,
    ChangeSource,
    LoadResult,
    load_jobs,
)
from warehouse.migrations import migrate, schema_version
from warehouse.reconcile import mark_vanished
from warehouse.runs import (
    RUN_COUNTERS,
    RunMode,
    RunStatus,
    fail_if_running,
    fail_stale_runs,
    finish_run,
    start_run,
)
from warehouse.state import all_state, get_state, set_state
from warehouse.status import CONTRACT_TABLES, warehouse_status
from warehouse.transaction import transaction

__all__ = [
    "CONTRACT_TABLES",
    "NORMALIZED_SCHEMA",
    "OUTCOMES",
    "RUN_COUNTERS",
    "TRACKED_COLUMNS",
    "ChangeSource",
    "FxRatesError",
    "LoadResult",
    "MigrationError",
    "RunMode",
    "RunStatus",
    "WarehouseError",
    "WarehouseLockedError",
    "WarehouseMissingError",
    "all_state",
    "fail_if_running",
    "fail_stale_runs",
    "finish_run",
    "get_state",
    "import_fx_rates",
    "load_jobs",
    "mark_vanished",
    "migrate",
    "open_warehouse",
    "read_fx_rates",
    "schema_version",
    "set_state",
    "start_run",
    "transaction",
    "warehouse_status",
]
