"""Defaults shared by the command line and the typed settings.

Plain constants in a module of their own, so that building the CLI (``jobsphere --help``, option
parsing) does not import pydantic just to learn two strings; ``flows.settings`` re-exports them.
"""

from __future__ import annotations

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_BATCH_ROWS", "DEFAULT_DB"]

DEFAULT_BASE_URL = "https://api.jobsphere.io/v2"
DEFAULT_DB = "./jobsphere.duckdb"
# Rows per warehouse transaction. Two batches are in memory at once (one loading, one filling);
# at 25,000 a 1M-job sync peaks under 500 MB, and per-batch costs (open, commit) stay small.
DEFAULT_BATCH_ROWS = 25_000
