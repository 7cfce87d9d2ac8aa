"""The player files the app serves are those of the locked npm package (viewer/package-lock.json)."""

from __future__ import annotations

import json

import pytest

from chalicelib.api import static_routes
from tests.support.clients import ROOT

VIEWER = ROOT / "viewer"
DIST = VIEWER / "node_modules" / "asciinema-player" / "dist" / "bundle"


def test_the_served_player_files_are_the_locked_packages():
    lock = json.loads((VIEWER / "package-lock.json").read_text())
    wanted = json.loads((VIEWER / "package.json").read_text())["dependencies"]["asciinema-player"]
    assert lock["packages"]["node_modules/asciinema-player"]["version"] == wanted
    installed = VIEWER / "node_modules" / "asciinema-player" / "package.json"
    if not installed.exists():
        pytest.fail("viewer/node_modules is missing: run `make viewer-deps` (npm ci)")
    assert json.loads(installed.read_text())["version"] == wanted
    for name in static_routes.VENDOR_FILES:
        assert (static_routes.VENDOR / name).read_bytes() == (DIST / name).read_bytes(), \
            f"{name} differs from the npm package: run `make viewer-vendor` and commit"


def test_the_page_loads_nothing_from_elsewhere(stack, open_tab):
    tab = open_tab(stack)
    assert tab.page.evaluate("() => typeof window.AsciinemaPlayer.create") == "function"
    assert tab.requests and all(r["url"].startswith(stack.base + "/") for r in tab.requests), tab.requests
    assert {r["status"] for r in tab.requests} == {200}
