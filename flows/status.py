"""``jobsphere status``: what an operator checks first — cursor, last runs, rows, webhook backlog.

The warehouse is opened read-only (analysts and a running sync's between-batch gaps allow it) and
the webhook inbox is read directly, because the backlog lives there until it is applied.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["collect_status", "render_status"]


def collect_status(db: Path, inbox: Path | None, *, lock_timeout: float = 10.0) -> dict[str, Any]:
    from warehouse import open_warehouse, warehouse_status

    with open_warehouse(db, read_only=True, lock_timeout=lock_timeout) as con:
        info: dict[str, Any] = dict(warehouse_status(con))
    from webhooks.inbox import Inbox, default_inbox_path

    inbox_path = inbox or default_inbox_path(db)
    backlog: dict[str, Any] = {"inbox": str(inbox_path), "pending": 0, "oldest_pending_at": None}
    if inbox_path.exists():
        with Inbox(inbox_path) as box:
            pending = box.backlog()
        backlog["pending"] = pending.count
        oldest = pending.oldest_received_at
        if oldest is not None:
            backlog["oldest_pending_at"] = oldest.isoformat()
            backlog["lag_seconds"] = round((datetime.now(UTC) - oldest).total_seconds(), 1)
    info["webhook_backlog"] = backlog
    return info


def _kv_table(title: str, mapping: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in mapping.items():
        table.add_row(str(key), "" if value is None else str(value))
    return table


def render_status(info: dict[str, Any], console: Console | None = None) -> None:
    out = console or Console()
    for key, value in info.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            for sub, inner in value.items():
                out.print(_kv_table(f"{key}: {sub}", inner))
        elif isinstance(value, dict):
            out.print(_kv_table(key, value))
        else:
            out.print(f"[bold]{key}[/]: {value}")
