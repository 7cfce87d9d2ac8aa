"""bench/load.py checks what it claims: run against a tiny in-memory fake of the recording routes, it counts every
chunk and verifies every recording, and it reports a recording whose stored bytes differ from what was sent."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import load


class FakeRecordings(ThreadingHTTPServer):
    def __init__(self, drop_chunk: int | None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.drop_chunk = drop_chunk  # index of a chunk to lose, per session, to prove corruption is caught
        self.blobs: dict[str, list[bytes]] = {}
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeRecordings

    def log_message(self, *args: object) -> None:
        pass

    def answer(self, body: object, status: int = 200) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/sessions/rdp-session":
            with self.server.lock:
                session_id = f"s{len(self.server.blobs)}"
                self.server.blobs[session_id] = []
            return self.answer({"sessionId": session_id, "shouldRecord": True})
        match = re.fullmatch(r"/sessions/([^/]+)/recording/(chunk|finalize)", self.path)
        assert match
        if match[2] == "chunk":
            with self.server.lock:
                chunks = self.server.blobs[match[1]]
                chunks.append(b"" if len(chunks) == self.server.drop_chunk else body)
        return self.answer({"ok": True})

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/sessions":
            return self.answer({"sessions": []})
        if match := re.fullmatch(r"/blob/([^/]+)", path):
            return self.answer(b"".join(self.server.blobs[match[1]]))
        if match := re.fullmatch(r"/sessions/([^/]+)/recording", path):
            return self.answer({"url": f"{self.server.base}/blob/{match[1]}", "expiresAt": "2099-01-01T00:00:00Z"})
        if re.fullmatch(r"/sessions/([^/]+)", path):
            return self.answer({"recordingState": "complete"})
        return self.answer({"error": "no route"}, 404)


@pytest.fixture
def fake(request) -> Iterator[FakeRecordings]:
    server = FakeRecordings(drop_chunk=getattr(request, "param", None))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=5)


def test_counts_every_chunk_and_verifies_every_recording(fake):
    result = load.run_phase(fake.base, recorders=3, readers=1, chunks=4, chunk_kb=8, seed=7,
                            deadline=time.monotonic() + 30)
    assert result["recordings"] == 3 and result["corrupted"] == [] and result["error_count"] == 0
    counts = {row["operation"]: row["count"] for row in result["latency"]}
    assert counts["chunk"] == 12 and counts["finalize"] == 3 and counts["verify:download"] == 3


@pytest.mark.parametrize("fake", [1], indirect=True)
def test_reports_a_recording_that_lost_a_chunk(fake):
    result = load.run_phase(fake.base, recorders=2, readers=0, chunks=3, chunk_kb=8, seed=7,
                            deadline=time.monotonic() + 30)
    assert len(result["corrupted"]) == 2
