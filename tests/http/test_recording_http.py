"""The recording pipeline over real HTTP: chalice local + moto server, a multi-chunk WebM and a cast,
followed through the redirect to S3, with Range reads and the credentialed CORS a browser player needs."""

from __future__ import annotations

import hashlib
import itertools
import time

import requests

from chalicelib.media.webm import rebuild
from tests.support.clients import make_token
from tests.support.sessions import start_session_http
from tests.support.webm import synthetic_webm

ADMIN = make_token("admin", role="admin")
ALICE = make_token("alice")


def post_chunks(stack, session_id: str, data: bytes, cuts: list[int], content_type: str, token: str = ALICE) -> None:
    """The recording's chunks, as alice's browser (RDP) or the gateway's SSH proxy (`token` ADMIN) sends them."""
    bounds = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(bounds):
        response = requests.post(f"{stack.base}/sessions/{session_id}/recording/chunk", data=data[start:end],
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
                                 timeout=30)
        assert response.status_code == 200, response.text


def start(stack, protocol: str) -> str:
    """Recording on, then alice's session."""
    assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True},
                        headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10).status_code == 200
    return start_session_http(stack.base, {"Authorization": f"Bearer {ALICE}"}, protocol, "web")


def test_a_multi_chunk_webm_plays_back_exactly_with_ranges_and_credentialed_cors(stack):
    session_id = start(stack, "rdp")
    webm = synthetic_webm(clusters=24, frame_bytes=26_000)  # ~6.2 MiB: one 5 MiB part plus a tail
    cuts = [777, 1_500_000, 3_000_001, 4_400_000, 5_700_000]
    post_chunks(stack, session_id, webm, cuts, "application/octet-stream")
    finalized = requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize",
                              headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    assert finalized.status_code == 200 and finalized.json() == {"ok": True, "recordingState": "complete"}

    # the sweep digests the client's bytes, then rewrites the WebM with Duration and Cues (docs/seekable-webm.md)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = requests.get(f"{stack.base}/sessions/{session_id}/recording?redirect=false",
                              cookies={"gatwy_token": ALICE}, timeout=10).json()
        if ".seekable.webm" in listed["url"]:
            break
        time.sleep(1)
    else:
        raise AssertionError("the recording was not made seekable within a minute")

    redirect = requests.get(f"{stack.base}/sessions/{session_id}/recording", cookies={"gatwy_token": ALICE},
                            allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    url = redirect.headers["Location"]
    assert url.startswith(stack.storage)
    played = requests.get(url, timeout=30)
    assert played.status_code == 200
    assert played.headers["Content-Type"] == "video/webm"
    assert hashlib.sha256(rebuild(played.content)).hexdigest() == hashlib.sha256(webm).hexdigest()
    stored = played.content

    origin = stack.base
    ranged = requests.get(url, headers={"Range": "bytes=5242870-5242899", "Origin": origin}, timeout=10)
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes 5242870-5242899/{len(stored)}"
    assert ranged.content == stored[5242870:5242900]
    assert ranged.headers["Access-Control-Allow-Origin"] == origin
    assert ranged.headers["Access-Control-Allow-Credentials"] == "true"

    followed = requests.get(f"{stack.base}/sessions/{session_id}/recording", cookies={"gatwy_token": ALICE},
                            timeout=30)
    assert rebuild(followed.content) == webm
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
    post_chunks(stack, session_id, cast, [10, 500, 501, 4000], "application/x-asciicast", token=ADMIN)
    assert requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize",
                         headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30).status_code == 200
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


def test_a_chunk_past_the_daily_user_cap_is_a_json_429_over_http(stack):
    admin = {"Authorization": f"Bearer {ADMIN}"}
    token = {"Authorization": f"Bearer {make_token('quota-http')}"}
    user = {**token, "Content-Type": "application/octet-stream"}
    assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True, "maxUserBytesPerDay": 1000},
                        headers=admin, timeout=10).status_code == 200
    try:
        session_id = start_session_http(stack.base, token, "rdp", "web")
        chunk = f"{stack.base}/sessions/{session_id}/recording/chunk"
        assert requests.post(chunk, data=b"a" * 1000, headers=user, timeout=10).status_code == 200
        refused = requests.post(chunk, data=b"b", headers=user, timeout=10)
        assert refused.status_code == 429
        assert refused.headers["Content-Type"].startswith("application/json")
        assert set(refused.json()) == {"error"} and "maxUserBytesPerDay" in refused.json()["error"]
        shown = requests.get(f"{stack.base}/sessions/{session_id}", headers=admin, timeout=10).json()
        assert shown["quotaExceeded"] is True
    finally:  # the stack is shared by the suite: no cap for the tests after this one
        assert requests.put(f"{stack.base}/settings/recording", json={"maxUserBytesPerDay": None},
                            headers=admin, timeout=10).status_code == 200
