"""The recording pipeline over real HTTP: chalice local + moto server, a multi-chunk WebM and a cast,
followed through the redirect to S3, with Range reads and the credentialed CORS a browser player needs."""

from __future__ import annotations

import hashlib
import itertools
import os
import time

import requests

from tests.conftest import make_token

ADMIN = make_token("admin", role="admin")
ALICE = make_token("alice")


def vint(size: int) -> bytes:
    """An EBML size in 8 bytes."""
    return bytes([0x01]) + size.to_bytes(7, "big")


def element(element_id: bytes, payload: bytes) -> bytes:
    return element_id + vint(len(payload)) + payload


def synthetic_webm(clusters: int, frame_bytes: int) -> bytes:
    """An EBML stream shaped like MediaRecorder's WebM: header, a Segment of unknown size, then Clusters of
    SimpleBlocks. The service treats the bytes opaquely; the shape makes chunk boundaries split elements."""
    header = element(b"\x1a\x45\xdf\xa3", element(b"\x42\x82", b"webm") + element(b"\x42\x87", b"\x04"))
    tracks = element(b"\x16\x54\xae\x6b", element(b"\xae", element(b"\xd7", b"\x01") + element(b"\x86", b"V_VP9")))
    body = b""
    for n in range(clusters):
        frames = b"".join(element(b"\xa3", b"\x81" + (i * 33).to_bytes(2, "big") + b"\x80" + os.urandom(frame_bytes))
                          for i in range(10))
        body += element(b"\x1f\x43\xb6\x75", element(b"\xe7", (n * 5000).to_bytes(4, "big")) + frames)
    return header + b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff" + tracks + body


def post_chunks(stack, session_id: str, data: bytes, cuts: list[int], content_type: str) -> None:
    bounds = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(bounds):
        response = requests.post(f"{stack.base}/sessions/{session_id}/recording/chunk", data=data[start:end],
                                 headers={"Authorization": f"Bearer {ALICE}", "Content-Type": content_type},
                                 timeout=30)
        assert response.status_code == 200, response.text


def start(stack, protocol: str) -> str:
    assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True},
                        headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10).status_code == 200
    response = requests.post(f"{stack.base}/sessions", json={"protocol": protocol, "connectionId": "web"},
                             headers={"Authorization": f"Bearer {ALICE}"}, timeout=10)
    session_id: str = response.json()["sessionId"]
    return session_id


def test_a_multi_chunk_webm_plays_back_exactly_with_ranges_and_credentialed_cors(stack):
    session_id = start(stack, "rdp")
    webm = synthetic_webm(clusters=24, frame_bytes=26_000)  # ~6.2 MiB: one 5 MiB part plus a tail
    cuts = [777, 1_500_000, 3_000_001, 4_400_000, 5_700_000]
    post_chunks(stack, session_id, webm, cuts, "application/octet-stream")
    finalized = requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize",
                              headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    assert finalized.status_code == 200 and finalized.json() == {"ok": True, "recordingState": "complete"}

    redirect = requests.get(f"{stack.base}/sessions/{session_id}/recording", cookies={"gatwy_token": ALICE},
                            allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    url = redirect.headers["Location"]
    assert url.startswith(stack.storage)
    played = requests.get(url, timeout=30)
    assert played.status_code == 200
    assert played.headers["Content-Type"] == "video/webm"
    assert hashlib.sha256(played.content).hexdigest() == hashlib.sha256(webm).hexdigest()

    origin = stack.base
    ranged = requests.get(url, headers={"Range": "bytes=5242870-5242899", "Origin": origin}, timeout=10)
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes 5242870-5242899/{len(webm)}"
    assert ranged.content == webm[5242870:5242900]
    assert ranged.headers["Access-Control-Allow-Origin"] == origin
    assert ranged.headers["Access-Control-Allow-Credentials"] == "true"

    followed = requests.get(f"{stack.base}/sessions/{session_id}/recording", cookies={"gatwy_token": ALICE},
                            timeout=30)
    assert followed.content == webm
    deadline = time.monotonic() + 30
    digest = None
    while time.monotonic() < deadline and digest is None:  # the sweep computes a multipart object's digest
        time.sleep(1)
        session = requests.get(f"{stack.base}/sessions/{session_id}", cookies={"gatwy_token": ALICE},
                               timeout=10).json()
        digest = session.get("sha256")
    assert digest == hashlib.sha256(webm).hexdigest()
    assert session["fileSize"] == len(webm) and session["hasRecording"] is True


def test_a_cast_plays_back_as_text(stack):
    session_id = start(stack, "ssh")
    lines = [b'{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000, "title": "web"}\n']
    lines += [f'[{i * 0.25:.2f}, "o", "line {i} \\u00e9\\r\\n"]\n'.encode() for i in range(200)]
    cast = b"".join(lines)
    post_chunks(stack, session_id, cast, [10, 500, 501, 4000], "application/x-asciicast")
    assert requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize",
                         headers={"Authorization": f"Bearer {ALICE}"}, timeout=30).status_code == 200
    played = requests.get(f"{stack.base}/sessions/{session_id}/recording", cookies={"gatwy_token": ALICE},
                          timeout=10)
    assert played.status_code == 200
    assert played.headers["Content-Type"] == "application/x-asciicast"
    assert hashlib.sha256(played.content).hexdigest() == hashlib.sha256(cast).hexdigest()
    assert played.text.splitlines()[1] == '[0.00, "o", "line 0 \\u00e9\\r\\n"]'
    session = requests.get(f"{stack.base}/sessions/{session_id}", cookies={"gatwy_token": ALICE}, timeout=10).json()
    assert session["sha256"] == hashlib.sha256(cast).hexdigest()
    storage = requests.get(f"{stack.base}/sessions/storage", headers={"Authorization": f"Bearer {ADMIN}"},
                           timeout=10).json()
    assert storage["bytes"] >= len(cast)
