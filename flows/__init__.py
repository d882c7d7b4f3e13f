"""Prefect flows and the ``jobsphere`` command line.

Importing this package turns Prefect's telemetry off *before* Prefect itself is imported by any
flow module: this machine (and many production ones) has no route to the internet, and the
analytics client would otherwise try to phone home on every run. ``setdefault`` keeps an operator's
explicit choice. The ephemeral API server (used when no ``PREFECT_API_URL`` is configured) gets
more than Prefect's default 20 s to start: on a busy 2-core machine it needs longer, and failing a
sync because the bookkeeping server was slow to boot helps nobody.
"""

from __future__ import annotations

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
