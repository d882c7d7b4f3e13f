"""Prefect flows and the ``jobsphere`` command line.

Importing this package turns Prefect's telemetry off *before* Prefect itself is imported by any
flow module: this machine (and many production ones) has no route to the internet, and the
analytics client would otherwise try to phone home on every run. ``setdefault`` keeps an operator's
explicit choice.
"""

from __future__ import annotations

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
