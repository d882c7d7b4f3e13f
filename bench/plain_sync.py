"""``python -m bench.plain_sync sync --db F --base-url U --api-key K``: the sync without its flow.

The same body the ``jobsphere sync`` flow runs (``flows.sync.run_sync``, incremental mode, which
loads everything into an empty warehouse), called directly, so the orchestration scenario can
tell what the ``@flow`` wrapper itself costs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from flows.settings import SyncSettings
from flows.sync import run_sync

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["sync"])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--no-progress", action="store_true", help="accepted for CLI parity")
    args = parser.parse_args(argv)
    settings = SyncSettings(db=args.db, base_url=args.base_url, api_key=SecretStr(args.api_key))
    run_sync(settings, mode="incremental")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
