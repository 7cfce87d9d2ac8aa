"""Cold start: importing app.py must cost little more than importing boto3 (nothing heavy at import).

Runs each import in a fresh interpreter N times and reports the median wall time and what got imported.

    .venv/bin/python -m bench.cold_start [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "python (baseline)": "pass",
    "import boto3": "import boto3",
    "import app": "import app",
}


def once(code: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                   env={"PYTHONDONTWRITEBYTECODE": "0", "PATH": "/usr/bin:/bin"})
    return time.perf_counter() - began


def heavy_modules() -> list[str]:
    probe = ("import sys, app; print(' '.join(sorted(m for m in ('jwt', 'yaml', 'moto', 'cryptography', "
             "'botocore.session', 'boto3') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True)
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for code in CASES.values():
        once(code)  # warm the file cache and .pyc files
    print("| import | median ms | min ms |")
    print("|---|---:|---:|")
    for label, code in CASES.items():
        times = [once(code) * 1000 for _ in range(args.runs)]
        print(f"| {label} | {statistics.median(times):.0f} | {min(times):.0f} |")
    print(f"\nmodules loaded by `import app` among jwt, yaml, moto, cryptography, botocore.session, boto3: "
          f"{', '.join(heavy_modules()) or 'none'}")


if __name__ == "__main__":
    main()
