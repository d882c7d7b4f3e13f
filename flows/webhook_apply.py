"""The webhook apply step as a Prefect flow, for scheduled or ad-hoc drains of an inbox.

Why the serving loop does not use it: the receiver applies a micro-batch every ~0.5 s, and a
Prefect flow run (API round trips, state transitions, logging) costs more than the batch itself,
so ``webhooks.server`` calls the plain :func:`webhooks.applier.apply_pending` from its applier
thread. This flow wraps the same function, so a drain after a receiver outage, or of an inbox
copied from a replica, is observable in Prefect like the syncs are; one flow run drains at most
``max_events`` events in batches of ``batch_size``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from warehouse import WarehouseLockedError
from webhooks.applier import ApplyReport, apply_pending
from webhooks.inbox import Inbox, default_inbox_path

__all__ = ["apply_webhook_events"]


@flow(name="apply-webhook-events", log_prints=False)
def apply_webhook_events(
    db_path: str,
    inbox_path: str | None = None,
    max_events: int = 100_000,
    batch_size: int = 1_000,
    lock_timeout: float = 30.0,
) -> dict[str, Any]:
    """Drain up to ``max_events`` stored events into the warehouse; return the counts.

    Fails (so the flow run is marked failed and can be retried) when the warehouse stays locked
    for ``lock_timeout`` seconds; nothing is lost, the events wait in the inbox.
    """
    path = Path(inbox_path) if inbox_path is not None else default_inbox_path(db_path)
    totals = {"applied": 0, "stale": 0, "ignored": 0, "redelivered": 0}
    with Inbox(path) as inbox:
        while sum(totals.values()) < max_events:
            limit = min(batch_size, max_events - sum(totals.values()))
            report: ApplyReport = apply_pending(
                db_path, inbox, max_events=limit, lock_timeout=lock_timeout
            )
            if report.locked:
                raise WarehouseLockedError(
                    f"warehouse {db_path} stayed locked for {lock_timeout:g}s; "
                    f"{inbox.backlog().count} events wait in the inbox"
                )
            if report.events == 0:
                break
            for key in totals:
                totals[key] += getattr(report, key)
        totals["remaining"] = inbox.backlog().count
    return totals
