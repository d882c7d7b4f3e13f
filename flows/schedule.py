"""``jobsphere schedule``: the nightly incremental sync and the weekly reconciliation as deployments.

Scheduling lives in a Prefect *server*: the ephemeral API that Prefect starts on demand accepts
``serve`` but never schedules a run, so this command refuses to start without ``PREFECT_API_URL``
and says how to get one. The deployments carry no API key among their parameters; each run reads
``JOBSPHERE_API_KEY`` from the serving process's environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import NoPrefectServerError

__all__ = ["build_deployments", "serve_schedules"]

INCREMENTAL_DEPLOYMENT = "nightly-incremental"
FULL_DEPLOYMENT = "weekly-full-reconcile"


def build_deployments(
    *, db: Path, base_url: str, cron: str, full_cron: str, timezone: str
) -> list[Any]:
    """The two runner deployments, with their schedules, ready for ``prefect.serve``."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from .sync import sync_flow

    common = {"db": str(db), "base_url": base_url}
    return [
        sync_flow.to_deployment(
            name=INCREMENTAL_DEPLOYMENT,
            schedule=Cron(cron, timezone=timezone),
            parameters={**common, "full": False},
            description="Incremental JobSphere sync since the stored cursor.",
            tags=["jobsphere"],
            # By module, not file path: a regular (non-editable) install runs from site-packages.
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
        sync_flow.to_deployment(
            name=FULL_DEPLOYMENT,
            schedule=Cron(full_cron, timezone=timezone),
            parameters={**common, "full": True},
            description="Full scan with reconciliation of deleted jobs.",
            tags=["jobsphere"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
    ]


def serve_schedules(*, db: Path, base_url: str, cron: str, full_cron: str, timezone: str) -> None:
    """Block, serving both deployments until interrupted."""
    if not os.environ.get("PREFECT_API_URL"):
        raise NoPrefectServerError(
            "scheduling needs a Prefect server: run `prefect server start` in another terminal, "
            "then `export PREFECT_API_URL=http://127.0.0.1:4200/api` and rerun."
        )
    from prefect import serve

    serve(
        *build_deployments(
            db=db, base_url=base_url, cron=cron, full_cron=full_cron, timezone=timezone
        )
    )
