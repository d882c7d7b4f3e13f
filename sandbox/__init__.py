"""A local JobSphere-compatible API: seeded data, fault injection and signed webhooks."""

from __future__ import annotations

from sandbox.app import SandboxApp, create_app
from sandbox.config import SandboxConfig
from sandbox.generate import Filters
from sandbox.server import serve
from sandbox.store import JobStore, JobValidationError
from sandbox.testing import SandboxHandle, running_sandbox

__all__ = [
    "Filters",
    "JobStore",
    "JobValidationError",
    "SandboxApp",
    "SandboxConfig",
    "SandboxHandle",
    "create_app",
    "running_sandbox",
    "serve",
]
