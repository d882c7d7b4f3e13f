"""``python -m webhooks``: the receiver without the CLI (used by the crash tests and operators).

Secrets come from ``JOBSPHERE_WEBHOOK_SECRET`` only (comma-separated during rotation), never from
the command line, where they would show in ``ps``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from webhooks.server import serve
from webhooks.settings import SECRET_ENV_VAR, parse_secrets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webhooks", description=__doc__)
    parser.add_argument("--db", default=os.environ.get("JOBSPHERE_DB", "./jobsphere.duckdb"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--inbox", default=None, help="default: <db>.inbox.sqlite3")
    parser.add_argument("--tolerance", type=float, default=300.0)
    parser.add_argument("--apply-interval", type=float, default=0.5)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    args = parser.parse_args(argv)
    secrets = parse_secrets(os.environ.get(SECRET_ENV_VAR))
    if not secrets:
        print(f"error: set {SECRET_ENV_VAR} (comma-separated during rotation)", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    serve(
        db_path=args.db,
        secrets=secrets,
        host=args.host,
        port=args.port,
        tolerance=args.tolerance,
        inbox_path=args.inbox,
        apply_interval=args.apply_interval,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
