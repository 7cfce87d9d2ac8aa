"""Importing the app touches no AWS and loads nothing heavy (the cold start of every Lambda)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("boto3", "botocore", "jwt", "cryptography", "yaml", "moto")


def test_import_app_loads_no_heavy_module():
    probe = f"import sys, app; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
