"""The packaged prod template, built once per test session the way `make package` builds it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture(scope="session")
def prod_template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package("prod", tmp_path_factory.mktemp("package-prod"))


@pytest.fixture(scope="session")
def prod_template(prod_template_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(prod_template_path.read_text())
    return loaded
