"""Running the sandbox under uvicorn, blocking, for the ``jobsphere sandbox`` command."""

from __future__ import annotations

import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxConfig

__all__ = ["serve", "uvicorn_config"]


def uvicorn_config(config: SandboxConfig, host: str, port: int) -> uvicorn.Config:
    """The one uvicorn setup used by the CLI and by tests: no access log, lifespan on."""
    return uvicorn.Config(
        create_app(config),
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


def serve(config: SandboxConfig, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted (Ctrl+C / SIGTERM)."""
    uvicorn.Server(uvicorn_config(config, host, port)).run()
