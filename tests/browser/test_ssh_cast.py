"""An SSH session's asciinema v2 cast, uploaded as the proxy uploads it, played in asciinema-player (served by
the app itself from /viewer/vendor, no CDN); the terminal's text is read back from the DOM."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.browser import start_session, upload

LAST_LINE = "session-audit cast ok"


def cast_chunks() -> list[bytes]:
    header = {"version": 2, "width": 80, "height": 24, "timestamp": int(time.time()), "title": "browser-ssh"}
    output = [(0.1, "$ "), (0.4, "uname -a\r\n"), (0.6, "Linux web1 6.1.0 x86_64 GNU/Linux\r\n$ "),
              (1.0, "echo 'session-audit cast ok'\r\n"), (1.2, f"{LAST_LINE}\r\n$ ")]
    lines = [json.dumps(header)] + [json.dumps([elapsed, "o", text]) for elapsed, text in output]
    # appended as output arrives: the header in the first chunk, then a line or two per chunk
    return [(lines[0] + "\n").encode(), *(("\n".join(lines[i:i + 2]) + "\n").encode() for i in (1, 3, 5))]


@pytest.fixture(scope="module")
def cast_session(recording_enabled):
    session_id = start_session(recording_enabled, "ssh", "browser-ssh")
    upload(recording_enabled, session_id, cast_chunks(), "application/x-asciicast")
    return session_id


@pytest.mark.parametrize("via", ["text", "url"])
def test_the_cast_plays_in_asciinema_player(recording_enabled, open_tab, cast_session, via):
    tab = open_tab(recording_enabled)
    started = tab.call("playCast", cast_session, {"via": via})
    assert started["ok"], started
    terminal = tab.page.locator(f"{started['holder']} .ap-term-text")
    terminal.wait_for(state="attached", timeout=10_000)
    tab.page.wait_for_function("([selector, text]) => document.querySelector(selector)?.textContent.includes(text)",
                               arg=[f"{started['holder']} .ap-term-text", LAST_LINE], timeout=15_000)
    lines = [line.rstrip() for line in terminal.evaluate(
        "(el) => Array.from(el.querySelectorAll('.ap-line'), (line) => line.textContent)")]
    assert lines[:5] == ["$ uname -a", "Linux web1 6.1.0 x86_64 GNU/Linux", "$ echo 'session-audit cast ok'",
                         LAST_LINE, "$"]
    scripts = [r["url"] for r in tab.requests if r["url"].endswith(".js")]
    assert all(url.startswith(recording_enabled.base + "/viewer/") for url in scripts), scripts
