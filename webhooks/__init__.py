"""The JobSphere webhook receiver (SPEC section 2): ASGI app, durable SQLite inbox, applier.

Receiving and applying are decoupled: ``POST /webhooks/jobsphere`` verifies, validates and
fsyncs each event into the inbox before answering 2xx, and never opens DuckDB; the applier
process drains the inbox into the warehouse in micro-batches, one transaction each.
Importing this package stays light (no Polars/DuckDB); the load path is ``webhooks.applier``.
"""

from __future__ import annotations

from webhooks.app import WEBHOOK_PATH, create_app
from webhooks.inbox import Backlog, Inbox, InboxEvent, default_inbox_path
from webhooks.server import serve
from webhooks.settings import SECRET_ENV_VAR, ReceiverSettings, parse_secrets
from webhooks.worker import Applier, ApplyReport

__all__ = [
    "SECRET_ENV_VAR",
    "WEBHOOK_PATH",
    "Applier",
    "ApplyReport",
    "Backlog",
    "Inbox",
    "InboxEvent",
    "ReceiverSettings",
    "create_app",
    "default_inbox_path",
    "parse_secrets",
    "serve",
]
