"""What the browser tests share: headless Debian Chromium (Playwright) on the viewer's check page, logged in as the
gateway logs in (by cookie), and the local stack's recordings seen from there. The fixtures that start Chromium
and the stack are in tests/browser/conftest.py; docs/browser-tests.md tells the whole story.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.clients import make_token
from tests.support.sessions import start_session_http
from tests.support.stack import Stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PAGE = "/viewer/browser-check.html"
USER = "browser-user"
BUCKET = "session-audit-http"  # running_stack()'s bucket


@dataclass
class Tab:
    """A page of the viewer on the API's origin, with the user's token in the gatwy_token cookie."""

    page: Any
    base: str
    requests: list[dict[str, Any]] = field(default_factory=list)

    def call(self, function: str, *args: Any) -> Any:
        """window.browserCheck.<function>(...args), awaited."""
        return self.page.evaluate(f"(args) => window.browserCheck.{function}(...args)", list(args))


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('browser-admin', role='admin')}"}


def fixtures_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "fixtures" / "webm"


def second_shown(rgb: list[int], palette: list[list[int]]) -> int | None:
    """Which second of recording a frame's colour stands for (the page paints palette[second % len]); None if
    the colour is near none of them (VP9 moves flat colours by a few levels, never by 60)."""
    distance, index = min((max(abs(a - b) for a, b in zip(rgb, colour, strict=True)), i)
                          for i, colour in enumerate(palette))
    return index if distance < 60 else None


def wait_playable(stack: Stack, session_id: str, timeout: float = 15) -> dict[str, Any]:
    """The playback answer ({url, expiresAt}) once the recording is complete (finalize may leave the last step
    to the sweep, which the local stack runs every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{stack.base}/sessions/{session_id}/recording", params={"redirect": "false"},
                                headers=admin_headers(), timeout=10)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            found: dict[str, Any] = response.json()
            return found
        time.sleep(0.2)


def seekable_url(stack: Stack, session_id: str, timeout: float = 60) -> str:
    """The playback URL once the sweep has rewritten the WebM with Duration and Cues (docs/seekable-webm.md): after
    that nothing in the background changes the recording or the storage total any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(f"{stack.base}/sessions/{session_id}/recording", params={"redirect": "false"},
                                headers=admin_headers(), timeout=10)
        if response.status_code == 200 and ".seekable.webm" in response.json()["url"]:
            return str(response.json()["url"])
        time.sleep(0.5)
    raise AssertionError("the sweep did not make the recording seekable in time")


def start_session(stack: Stack, protocol: str, connection_id: str, user: str = USER) -> str:
    """A session owned by `user`, started as the gateway's proxy does (an admin token on the user's behalf)."""
    if protocol == "rdp":
        return start_session_http(stack.base, admin_headers(), None, connection_id, path="/sessions/rdp-session",
                                  userId=user, username=user)
    return start_session_http(stack.base, admin_headers(), protocol, connection_id, userId=user, username=user)


def upload(stack: Stack, session_id: str, chunks: list[bytes], content_type: str) -> None:
    """Chunks then finalize, as a recorder does; waits until the recording can be played."""
    for chunk in chunks:
        response = requests.post(f"{stack.base}/sessions/{session_id}/recording/chunk", data=chunk,
                                 headers={**admin_headers(), "Content-Type": content_type}, timeout=10)
        assert response.status_code == 200, response.text
    response = requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize", headers=admin_headers(),
                             timeout=30)
    assert response.status_code == 200, response.text
    wait_playable(stack, session_id)


def fixture_chunks(name: str) -> list[bytes]:
    """A fixture WebM cut at the chunk boundaries the recorder made."""
    data = (fixtures_dir() / name).read_bytes()
    sizes = json.loads((fixtures_dir() / "fixtures.json").read_text())["files"][name]["chunkSizes"]
    chunks, at = [], 0
    for size in sizes:
        chunks.append(data[at:at + size])
        at += size
    return chunks


@dataclass
class Link:
    """A tab's network throttled through the DevTools protocol, counting the bytes the tab received."""

    received: int = 0
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (time.time() on arrival, bytes)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def received_by(self, epoch_ms: float) -> int:
        """Bytes that had arrived by a page's Date.now() (same machine clock; CDP delivery adds a few ms)."""
        return sum(length for at, length in self.arrivals if at * 1000 <= epoch_ms)


def throttle(page: Any, bytes_per_second: int) -> Link:
    """Throttle the page's downloads (media Range requests included) to `bytes_per_second`, so the player cannot
    read ahead of what it asks for; logs every request's Range header.

    Chromium 156 does not throttle the leg after a cross-origin redirect of a CORS-mode request (a `<video
    crossorigin>` following the API's 302 to the bucket): that response arrives at loopback speed, up to what the
    player buffers ahead. Without `crossorigin`, or straight from the presigned URL, every leg is throttled."""
    link = Link()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                  "downloadThroughput": bytes_per_second, "uploadThroughput": -1})

    def count(event: dict[str, Any]) -> None:
        length = int(event.get("dataLength", 0))
        link.received += length
        link.arrivals.append((time.time(), length))

    cdp.on("Network.dataReceived", count)
    page.on("request", lambda request: link.requests.append({"url": request.url,
                                                              "range": request.headers.get("range")}))
    return link


def range_start(header: str | None) -> int | None:
    """The first byte of a `bytes=N-` / `bytes=N-M` Range header."""
    if not header or not header.startswith("bytes="):
        return None
    return int(header[len("bytes="):].split("-", 1)[0])
