"""`chalice package` as `make package` runs it, for the deploy tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.clients import ROOT

BIN = Path(sys.executable).parent

# chalice package reads no AWS account, but botocore wants a region and credentials to exist.
PACKAGE_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "packaging-needs-no-credentials",
               "AWS_SECRET_ACCESS_KEY": "packaging-needs-no-credentials"}


def package(stage: str, out: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PACKAGE_ENV)
    subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", stage, "--merge-template", "infra/resources.yaml", str(out)],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )
    return out / "sam.yaml"
