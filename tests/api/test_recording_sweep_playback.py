"""recording_sweep through the Chalice test client; playback by presigned URL; storage totals; encryption."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from tests.support.clients import TABLE, make_token
from tests.support.recording_harness import Clock, Gate, install
from tests.support.rig import ADMIN, ALICE, BOB, pattern


def test_the_sweep_completes_an_abandoned_rdp_recording_and_leaves_a_silent_ssh_one_open(rig):
    rdp = rig.start("rdp")
    rdp_chunks = [pattern(30_000, i) for i in range(4)]
    for body in rdp_chunks:
        assert rig.chunk(rdp, body).status_code == 200
    gappy = rig.start("vnc")
    gappy_chunks = [pattern(9_000, 10 + i) for i in range(5)]
    for i in (0, 1, 3, 4):
        assert rig.chunk(gappy, gappy_chunks[i], index=i).status_code == 200
    ssh = rig.start("ssh")
    cast = b'{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "$ "]\n'
    assert rig.chunk(ssh, cast, content_type="application/x-asciicast").status_code == 200
    busy = rig.start("rdp")
    assert rig.chunk(busy, b"a").status_code == 200

    rig.clock.advance(400)
    assert rig.chunk(busy, b"b").status_code == 200  # still sending: not idle
    rig.clock.advance(201)  # RDP/VNC idle for 601 s > IDLE_TIMEOUT_VIDEO_SECONDS
    result = rig.sweep()
    assert result["timedOut"] == 2

    assert rig.object(rdp) == b"".join(rdp_chunks)
    session = rig.session(rdp)
    assert session["recordingState"] == "timed_out" and session["hasRecording"] is True
    assert session["fileSize"] == sum(map(len, rdp_chunks))
    assert rig.chunk(rdp, b"late").status_code == 409

    assert rig.object(gappy) == b"".join(gappy_chunks[i] for i in (0, 1, 3, 4))
    assert rig.session(gappy)["missingChunks"] == [2]

    assert rig.session(ssh)["recordingState"] == "recording"  # a silent terminal is not idle yet
    assert rig.session(busy)["recordingState"] == "recording"
    more = b'[90000.0, "o", "still here"]\n'
    rig.clock.advance(80_000)
    assert rig.chunk(ssh, more, content_type="application/x-asciicast").status_code == 200
    rig.sweep()
    assert rig.session(ssh)["recordingState"] == "recording"
    rig.clock.advance(86_401)
    rig.sweep()
    assert rig.session(ssh)["recordingState"] == "timed_out"
    assert rig.object(ssh, "cast") == cast + more
    rig.clock.advance(3600)
    rig.sweep()
    for session_id in (rdp, gappy, ssh, busy):
        assert rig.staged(session_id) == []
    expected = sum(map(len, rdp_chunks)) + sum(len(gappy_chunks[i]) for i in (0, 1, 3, 4)) + len(cast + more) + 2
    assert rig.storage() == expected


def test_playback_redirects_to_a_presigned_sigv4_url(rig):
    session_id = rig.start("rdp")
    assert rig.chunk(session_id, b"webm bytes").status_code == 200
    pending = rig.api.get(f"/sessions/{session_id}/recording", ALICE)
    assert pending.status_code == 409 and pending.json["error"]
    assert rig.finalize(session_id).status_code == 200

    response = rig.api.get(f"/sessions/{session_id}/recording", ALICE)
    assert response.status_code == 302
    url = urlparse(response.headers["Location"])
    signed = parse_qs(url.query)
    assert url.path.endswith(f"/recordings/{session_id}.webm")
    assert signed["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert signed["X-Amz-Expires"] == ["3600"]
    assert signed["response-content-type"] == ["video/webm"]
    assert "response-content-disposition" not in signed

    download = rig.api.get(f"/sessions/{session_id}/recording?download=1", ALICE)
    disposition = parse_qs(urlparse(download.headers["Location"]).query)["response-content-disposition"]
    assert disposition == [f'attachment; filename="{session_id}.webm"']

    plain = rig.api.get(f"/sessions/{session_id}/recording?redirect=false", ALICE)
    assert plain.status_code == 200
    assert set(plain.json) == {"url", "expiresAt"}
    assert "X-Amz-Signature=" in plain.json["url"] and plain.json["expiresAt"].endswith("Z")

    assert rig.api.get(f"/sessions/{session_id}/recording", BOB).status_code == 404
    assert rig.api.get(f"/sessions/{session_id}/recording", ADMIN).status_code == 302
    assert rig.api.get("/sessions/nope/recording", ALICE).status_code == 404

    ssh = rig.start("ssh")
    assert rig.chunk(ssh, b'{"version": 2}\n', content_type="application/x-asciicast").status_code == 200
    assert rig.finalize(ssh).status_code == 200
    cast = parse_qs(urlparse(rig.api.get(f"/sessions/{ssh}/recording", ALICE).headers["Location"]).query)
    assert cast["response-content-type"] == ["application/x-asciicast"]


def test_storage_needs_settings_manage_and_counts_staged_bytes(rig):
    assert rig.api.get("/sessions/storage", ALICE).status_code == 403
    assert rig.storage() == 0
    session_id = rig.start()
    assert rig.chunk(session_id, b"x" * 1000).status_code == 200  # staged, not yet in any part
    assert rig.chunk(session_id, b"x" * 1000, token=BOB).status_code == 404
    assert rig.storage() == 1000
    rig.finalize(session_id)
    assert rig.storage() == 1000
    assert rig.api.get("/sessions/storage", make_token("ops", permissions=["settings.manage"])).json == {
        "bytes": 1000, "maxTotalBytes": None, "overLimit": False}


@pytest.fixture
def kms_key(moto, monkeypatch):
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("KMS_KEY_ID", key_id)
    return key_id


def test_recordings_are_encrypted_with_the_configured_kms_key(kms_key, api, recording_on):
    from chalicelib.settings import get_settings

    get_settings.cache_clear()
    rig_services = install(TABLE, Clock(0), Gate())
    assert rig_services.settings.kms_key_id == kms_key
    session_id = api.post("/sessions", ALICE, {"protocol": "rdp", "connectionId": "c"}).json["sessionId"]
    assert api.post(f"/sessions/{session_id}/recording/chunk", ALICE, b"secret",
                    content_type="application/octet-stream").status_code == 200
    assert api.post(f"/sessions/{session_id}/recording/finalize", ALICE, None).status_code == 200
    head = boto3.client("s3").head_object(Bucket="session-audit-test", Key=f"recordings/{session_id}.webm")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert kms_key in head["SSEKMSKeyId"]
