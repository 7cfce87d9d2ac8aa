"""The packaged prod template, built once per test session the way `make package` builds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.packaging import package


@pytest.fixture(scope="session")
def prod_template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package("prod", tmp_path_factory.mktemp("package-prod"))


@pytest.fixture(scope="session")
def prod_template(prod_template_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(prod_template_path.read_text())
    return loaded
