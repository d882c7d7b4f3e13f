"""Defaults shared by the command line and the typed settings.

Plain constants in a module of their own, so that building the CLI (``jobsphere --help``, option
parsing) does not import pydantic just to learn two strings; ``flows.settings`` re-exports them.
"""

from __future__ import annotations

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_BATCH_ROWS", "DEFAULT_DB"]

DEFAULT_BASE_URL = "https://api.jobsphere.io/v2"
DEFAULT_DB = "./jobsphere.duckdb"
# Rows per warehouse transaction. Each batch pays a fixed cost (open, commit, the checkpoint on
# close) that dominates a re-sync's: 1M jobs with 1% changed load at ~230k rows/s in 25,000-row
# batches and ~340k in 50,000-row ones (bench transforms worker). Three batches are in memory at
# once (loading, preparing, filling); at 50,000 a 1M-job sync peaks near 440 MiB. Not every size
# is as good: the loader writes one slice per core, and how a slice splits into row groups
# (warehouse.connection) decides the speed. 40,000 (two slices of 20,000 rows) loaded an empty
# warehouse at ~200k rows/s, against ~300k at 45,000 and 50,000 (bench transforms worker).
DEFAULT_BATCH_ROWS = 50_000
