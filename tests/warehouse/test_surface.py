"""The public surface of ``warehouse`` is what ``__all__`` says, and every name resolves."""

from __future__ import annotations

import warehouse


def test_every_exported_name_exists() -> None:
    assert sorted(warehouse.__all__) == sorted(set(warehouse.__all__))
    for name in warehouse.__all__:
        assert hasattr(warehouse, name), name


def test_the_documented_entry_points_are_exported() -> None:
    expected = {
        "open_warehouse",
        "migrate",
        "load_jobs",
        "LoadResult",
        "get_state",
        "set_state",
        "start_run",
        "finish_run",
        "fail_stale_runs",
        "mark_vanished",
        "read_fx_rates",
        "import_fx_rates",
        "warehouse_status",
        "WarehouseError",
        "WarehouseLockedError",
    }
    assert expected <= set(warehouse.__all__)
