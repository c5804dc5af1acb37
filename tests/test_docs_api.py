"""docs/api.md is generated from the public names of the modules: it must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_is_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_api.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, (
        "docs/api.md is out of date: run `.venv/bin/python docs/make_api.py`\n" + proc.stderr
    )
