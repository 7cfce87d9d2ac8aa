"""The layer rule of docs/architecture.md, read off the code: every import of every module of the service points
down (api -> container -> domain -> store -> media -> model), and only app.py and the api layer know Chalice.

The checker reads imports with `ast` (those inside functions and under TYPE_CHECKING count too: a lazy import is
still a dependency), so the rule holds for the code as written, not as documented.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each layer may import from the service; anything else of chalicelib's is an upward (or sideways) import.
# Chalice is allowed where "chalice" is listed.
ALLOWED: dict[str, set[str]] = {
    "app": {"api", "chalice", "logs", "settings"},  # the process: its routes, its log format, its level
    "api": {"api", "container", "domain", "model", "errors", "settings", "chalice"},
    "container": {"container", "domain", "store", "media", "model", "errors", "settings", "aws"},
    "domain": {"domain", "store", "media", "model", "errors", "settings"},
    "store": {"store", "media", "model", "errors", "settings", "aws"},
    "media": {"media", "model", "errors"},
    "model": {"model", "errors"},
    "settings": {"settings", "errors"},
    "aws": {"aws"},
    "logs": {"logs"},
    "errors": {"errors"},
}


def layer_of(path: Path, root: Path) -> str:
    """app.py is "app"; chalicelib/<layer>/... or chalicelib/<layer>.py is <layer>."""
    parts = path.relative_to(root).with_suffix("").parts
    if parts == ("app",):
        return "app"
    assert parts[0] == "chalicelib" and len(parts) >= 2, path
    return "chalicelib" if parts[1] == "__init__" else parts[1]


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted module) of every import; `from chalicelib import aws` names chalicelib.aws."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "chalicelib":
                found += [(node.lineno, f"chalicelib.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def target_layer(module: str) -> str | None:
    """The layer a dotted module belongs to, "chalice" for the framework, None for anything else."""
    parts = module.split(".")
    if parts[0] == "chalice":
        return "chalice"
    if parts[0] == "chalicelib" and len(parts) >= 2:
        return parts[1]
    if parts[0] == "app":
        return "app"
    return None


def violations(root: Path) -> list[str]:
    """Every import that breaks the rule, as "path:line: layer imports module"."""
    files = [root / "app.py", *sorted((root / "chalicelib").rglob("*.py"))]
    found = []
    for path in files:
        if not path.exists():
            continue
        layer = layer_of(path, root)
        allowed = ALLOWED.get(layer)
        for line, module in imported(ast.parse(path.read_text(), str(path))):
            target = target_layer(module)
            if target is None:
                continue
            if allowed is None or target not in allowed:
                found.append(f"{path.relative_to(root)}:{line}: {layer} imports {module}")
    return found


def test_every_import_of_the_service_points_down() -> None:
    assert violations(ROOT) == []


def write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


@pytest.mark.parametrize(("relative", "source", "expected"), [
    ("chalicelib/store/recordings.py", "from chalicelib.domain.compaction import Segment\n",
     "chalicelib/store/recordings.py:1: store imports chalicelib.domain.compaction"),
    ("chalicelib/domain/sessions.py", "def f():\n    from chalicelib.api import shapes\n",
     "chalicelib/domain/sessions.py:2: domain imports chalicelib.api"),
    ("chalicelib/errors.py", "from chalice.app import ChaliceUnhandledError\n",
     "chalicelib/errors.py:1: errors imports chalice.app"),
    ("chalicelib/model/recording.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from chalicelib.store.keys import SESSION\n",
     "chalicelib/model/recording.py:3: model imports chalicelib.store.keys"),
    ("chalicelib/media/webm.py", "from chalicelib import aws\n",
     "chalicelib/media/webm.py:1: media imports chalicelib.aws"),
    ("chalicelib/newlayer/x.py", "from chalicelib.store import keys\n",
     "chalicelib/newlayer/x.py:1: newlayer imports chalicelib.store"),
])
def test_the_checker_catches_an_upward_import(tmp_path: Path, relative: str, source: str, expected: str) -> None:
    """The checker proven on a broken tree: each of these upward imports is reported, and a clean tree is not."""
    write(tmp_path, "app.py", "from chalicelib.api import http\nfrom chalice import Chalice\n")
    write(tmp_path, "chalicelib/domain/ok.py", "from chalicelib.store import keys\nfrom chalicelib.model import x\n")
    assert violations(tmp_path) == []
    write(tmp_path, relative, source)
    assert violations(tmp_path) == [expected]
