"""Prefect flows and the ``jobsphere`` command line.

Importing this package turns Prefect's telemetry off *before* Prefect itself is imported by any
flow module: this machine (and many production ones) has no route to the internet, and the
analytics client would otherwise try to phone home on every run. ``setdefault`` keeps an operator's
explicit choice. The ephemeral API server (used when no ``PREFECT_API_URL`` is configured) gets
more than Prefect's default 20 s to start: on a busy 2-core machine it needs longer, and failing a
sync because the bookkeeping server was slow to boot helps nobody.

Polars allocates through its own jemalloc, which by default keeps freed pages resident for 10 s
and then only "muzzy": each batch's transient frames would then stack on top of the next one's.
Purging dirty pages after 1 s and skipping the muzzy stage keeps a 1M-job sync under 500 MB
(476 MB measured, against 521 MB with jemalloc's defaults; about 3% more wall time). It must be
in the environment before Polars is first imported, which is why it lives here.
"""

from __future__ import annotations

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")
# numpy's OpenBLAS starts a thread per core that spins after use; nothing here does linear
# algebra (numpy only sorts and searches the ids a scan has seen), and perf found those threads
# burning ~0.8% of a 1M-job sync's CPU.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
