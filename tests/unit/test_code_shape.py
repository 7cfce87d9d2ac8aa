"""The shape the service's code keeps (issue 14): units small enough to read in one sitting, and AWS errors told
apart by their codes, never by their text. Read off the code with `ast`, each checker proven on a broken source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60


def too_long(source: str, where: str) -> list[str]:
    """Every class over MAX_CLASS_LINES and function over MAX_FUNCTION_LINES lines (decorators excluded)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        limit = (MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else
                 MAX_FUNCTION_LINES if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None)
        if limit is None:
            continue
        lines = (node.end_lineno or node.lineno) - node.lineno + 1
        if lines > limit:
            found.append(f"{where}:{node.lineno}: {node.name} has {lines} lines (at most {limit})")
    return found


def matched_by_text(source: str, where: str) -> list[str]:
    """`"..." in exc.message`, `"..." in str(exc)` or `str(exc).startswith(...)` inside an except block."""
    found = []
    for handler in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ExceptHandler)):
        names = {handler.name} if handler.name else set()  # the caught error's name
        for node in ast.walk(handler):
            text = None
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn, ast.Eq)) for op in node.ops):
                text = node.comparators[0] if isinstance(node.ops[0], (ast.In, ast.NotIn)) else node.left
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("startswith", "endswith", "find", "count"):
                text = node.func.value
            if text is not None and _reads_error_text(text, names):
                found.append(f"{where}:{node.lineno}: an error matched by its text")
    return found


def _reads_error_text(node: ast.AST, names: set[str]) -> bool:
    if isinstance(node, ast.Attribute) and node.attr in ("message", "args") and \
            isinstance(node.value, ast.Name) and node.value.id in names:
        return True
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("str", "repr")
            and len(node.args) == 1 and isinstance(node.args[0], ast.Name) and node.args[0].id in names)


def sources() -> list[tuple[str, str]]:
    return [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted((ROOT / "chalicelib").rglob("*.py"))]


def test_no_class_or_function_is_too_long_to_read() -> None:
    assert [problem for where, source in sources() for problem in too_long(source, where)] == []


def test_no_error_is_matched_by_its_text() -> None:
    assert [problem for where, source in sources() for problem in matched_by_text(source, where)] == []


LONG_FUNCTION = "def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES
LONG_CLASS = "class C:\n" + "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(90))


def test_the_length_checker_catches_long_units() -> None:
    assert too_long("def f():\n    return 1\n", "x.py") == []
    assert too_long(LONG_FUNCTION, "x.py") == [f"x.py:1: f has {MAX_FUNCTION_LINES + 1} lines (at most 60)"]
    assert too_long(LONG_CLASS, "x.py") == ["x.py:1: C has 270 lines (at most 250)"]


@pytest.mark.parametrize("body", [
    'if "NoSuchKey" in exc.message:\n        pass',
    'if "ConditionalCheckFailed" in str(exc):\n        pass',
    'if str(exc).startswith("An error occurred (NoSuchKey)"):\n        pass',
    'if exc.args == ("boom",):\n        pass',
])
def test_the_text_checker_catches_an_error_matched_by_its_text(body: str) -> None:
    source = f"try:\n    f()\nexcept Exception as exc:\n    {body}\n"
    assert matched_by_text(source, "x.py") == ["x.py:4: an error matched by its text"]


def test_the_text_checker_leaves_codes_alone() -> None:
    source = 'try:\n    f()\nexcept Exception as exc:\n    if error_code(exc) == "NoSuchKey":\n        pass\n'
    assert matched_by_text(source, "x.py") == []
