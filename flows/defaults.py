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
# is as good: the loader writes one slice per core, and the row groups (warehouse.connection)
# they end in decide the checkpoint's work. Slices are cut so that their partial tails never
# merge (warehouse._arrow.slice_bounds; 40,000 went from ~205k to ~290k rows/s into an empty
# warehouse), but a batch whose size leaves a tiny remainder of a row group still re-syncs
# slowly: 49,200 (a 48-row tail per batch, which the checkpoint merges with neighbours the
# re-sync's deletes have shrunk) at ~216k rows/s against ~345k at 50,000 (bench transforms
# worker, 1M jobs, 1% changed).
DEFAULT_BATCH_ROWS = 50_000
