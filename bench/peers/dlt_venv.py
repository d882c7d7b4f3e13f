"""dlt's own virtual environment, created on first use so dlt never joins our dependencies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["DLT_PIPELINE_SCRIPT", "REQUIREMENTS", "VENV_DIR", "ensure_dlt_python"]

BENCH_DIR = Path(__file__).resolve().parent.parent
VENV_DIR = BENCH_DIR / ".dlt-venv"
REQUIREMENTS = BENCH_DIR / "requirements-dlt.txt"
DLT_PIPELINE_SCRIPT = Path(__file__).resolve().parent / "dlt_pipeline.py"
_STAMP = VENV_DIR / ".installed-requirements"


def ensure_dlt_python() -> Path:
    """Return the dlt venv's interpreter, creating or updating the venv when the pin changed.

    The stamp holds the requirements text that was installed, so editing the pin reinstalls and
    an unchanged pin costs nothing.
    """
    python = VENV_DIR / "bin" / "python"
    wanted = REQUIREMENTS.read_text()
    if python.exists() and _STAMP.exists() and _STAMP.read_text() == wanted:
        return python
    if not python.exists():
        base = shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(VENV_DIR)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    _STAMP.write_text(wanted)
    return python
