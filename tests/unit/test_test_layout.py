"""The tests' own layout holds (docs/testing.md, "Where the tests live"): no module imports a test module or a
conftest (pytest alone reads conftests, for their fixtures), shared helpers live in tests/support and import
nothing above it, test modules take from tests/ only tests/support and tests/fixtures, bench/ takes only
tests/support, and a conftest holds fixtures and pytest hooks, nothing else."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

from tests.support.clients import ROOT

SUPPORT = "tests.support"
FIXTURES = "tests.fixtures"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return name.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def imports(name: str, source: str, known: set[str]) -> set[str]:
    """Every module of `known` that `source` (the module `name`) imports, at any depth of its code; `from P import m`
    counts as importing P.m when that is a module (and P when a name is not one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: level 1 is the module's own package (a package's own name)
                is_package = any(other.startswith(name + ".") for other in known)
                package = name.split(".")[:len(name.split(".")) - node.level + is_package]
                base = ".".join([*package, base] if base else package)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules if len(submodules) == len(node.names) else {base, *submodules})
    return {module for module in found if module in known}


def conftest_problems(name: str, source: str) -> list[str]:
    """Top-level functions of a conftest that are neither fixtures nor pytest hooks, and any class."""
    problems = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            problems.append(f"{name} defines the class {node.name}: helpers belong in tests/support")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("pytest_"):
            decorators = [ast.unparse(d) for d in node.decorator_list]
            if not any(d.startswith(("pytest.fixture", "fixture")) for d in decorators):
                problems.append(f"{name} defines {node.name}(), not a fixture: helpers belong in tests/support")
    return problems


def layout_problems(sources: Mapping[str, str]) -> list[str]:
    """What breaks the layout among `sources` ({module name: its source}, every module of tests/ and bench/)."""
    known = set(sources)
    problems = []
    for name, source in sorted(sources.items()):
        if name.rsplit(".", 1)[-1] == "conftest":
            problems += conftest_problems(name, source)
        for imported in sorted(imports(name, source, known)):
            if not within(imported, "tests"):
                continue
            if is_test_module(imported):
                problems.append(f"{name} imports the test module {imported}")
            elif within(name, "bench") and not within(imported, SUPPORT):
                problems.append(f"{name} (a bench) imports {imported}, outside tests/support")
            elif within(name, SUPPORT) and not within(imported, SUPPORT):
                problems.append(f"{name} (a helper) imports {imported}, above tests/support")
            elif is_test_module(name) and not (within(imported, SUPPORT) or within(imported, FIXTURES)):
                problems.append(f"{name} imports {imported}: a test shares only tests/support and tests/fixtures")
    return problems


def project_sources() -> dict[str, str]:
    files = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    return {module_name(path): path.read_text() for path in files}


def test_the_tests_and_benches_keep_the_layout():
    sources = project_sources()
    assert "tests.support.clients" in sources and "tests.api.conftest" in sources  # the walk found the folders
    assert layout_problems(sources) == []


def test_the_check_catches_each_kind_of_breakage():
    sources = {
        "tests.api.test_a": "from tests.api import test_b\nfrom tests.support.rig import Rig\n",
        "tests.api.test_b": "def test_b():\n    from tests.api.conftest import rig\n",
        "tests.api.conftest": "import pytest\n\n@pytest.fixture\ndef rig(): ...\n\ndef helper(): ...\n\n"
                              "class Helper: ...\n\ndef pytest_collection_modifyitems(items): ...\n",
        "tests.browser.test_c": "from ..http import helpers\n",
        "tests.http.helpers": "",
        "tests.support": "",
        "tests.support.rig": "from tests.http import helpers\n",
        "bench.x": "def main():\n    from tests.http import helpers\n    from tests.support import rig\n",
    }
    assert layout_problems(sources) == [
        "bench.x (a bench) imports tests.http.helpers, outside tests/support",
        "tests.api.conftest defines helper(), not a fixture: helpers belong in tests/support",
        "tests.api.conftest defines the class Helper: helpers belong in tests/support",
        "tests.api.test_a imports the test module tests.api.test_b",
        "tests.api.test_b imports the test module tests.api.conftest",
        "tests.browser.test_c imports tests.http.helpers: a test shares only tests/support and tests/fixtures",
        "tests.support.rig (a helper) imports tests.http.helpers, above tests/support",
    ]
