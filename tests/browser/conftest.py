"""Headless Debian Chromium (Playwright) against the local stack, logged in as the gateway logs in: by cookie.

Playwright drives /usr/bin/chromium (CHROMIUM overrides it); it never uses a browser of its own download.
`make test` installs the chromium package first (`make browser-deps`). See docs/browser-tests.md; the helpers
are in tests/support/browser.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PAGE, USER, Tab, admin_headers
from tests.support.clients import make_token
from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make browser-deps` (installs Debian's chromium as root), "
                    "or set CHROMIUM, or deselect these tests with -m 'not browser'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright starts it on a fresh temporary profile and removes that afterwards
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The browser suite's own local stack (its bucket's CORS names the stack's origin, where the pages live)."""
    with running_stack() as started:
        yield started


@pytest.fixture(scope="module")
def open_tab(chromium: Any) -> Iterator[Callable[..., Tab]]:
    contexts: list[Any] = []

    def open_(stack: Stack, user: str = USER, role: str = "user") -> Tab:
        context = chromium.new_context()
        contexts.append(context)
        # as the gateway sets it: on the API's origin, sent with every same-origin credentialed request
        context.add_cookies([{"name": "gatwy_token", "value": make_token(user, role=role), "url": stack.base,
                              "httpOnly": True, "sameSite": "Lax"}])
        page = context.new_page()
        tab = Tab(page, stack.base)

        def log(response: Any) -> None:
            request = response.request
            tab.requests.append({"method": request.method, "url": request.url, "range": request.headers.get("range"),
                                 "status": response.status})

        page.on("response", log)
        page.on("requestfailed", lambda r: tab.requests.append(
            {"method": r.method, "url": r.url, "failure": r.failure}))
        page.goto(stack.base + PAGE)
        page.wait_for_function("() => window.browserCheck && window.AsciinemaPlayer")
        return tab

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def recording_enabled(stack: Stack) -> Stack:
    response = requests.put(f"{stack.base}/settings/recording", json={"enabled": True}, headers=admin_headers(),
                            timeout=10)
    assert response.status_code == 200, response.text
    return stack
