"""A WebM recording made through the routes becomes seekable after completion; the client's bytes stay provable."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from chalicelib.media import webm
from chalicelib.store import keys
from tests.support import webm as wf
from tests.support.clients import BUCKET
from tests.support.rig import ADMIN, DELETER, finished


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if not wf.have_ffmpeg():
        pytest.fail(wf.FFMPEG_MISSING)
    return wf.chrome_style(wf.encode(tmp_path_factory.mktemp("rec") / "r.webm", seconds=4.0))


def meta(rig: Any, session_id: str) -> dict[str, Any]:
    item: dict[str, Any] = rig.table.get_item(Key={"PK": keys.session_pk(session_id), "SK": keys.META})["Item"]
    return item


def send(rig: Any, data: bytes, seed: int = 1) -> str:
    """MediaRecorder's blobs: cut anywhere, some inside element headers."""
    session_id: str = rig.start()
    rng, at = random.Random(seed), 0
    while at < len(data):
        size = rng.randrange(1, 30_000)
        assert rig.chunk(session_id, data[at:at + size]).status_code == 200
        at += size
    assert rig.finalize(session_id).json["recordingState"] == "complete"
    return session_id


def test_a_finished_webm_becomes_seekable_and_the_client_bytes_stay_provable(rig: Any, recording: bytes,
                                                                            tmp_path: Path) -> None:
    session_id = send(rig, recording)
    assert rig.object(session_id) == recording  # completion itself writes the client's bytes, as before
    parts = rig.table.query(KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
                            ExpressionAttributeValues={":pk": keys.session_pk(session_id), ":p": "PART#"})["Items"]
    assert len(parts) > 1 and all("scan" in p for p in parts)  # learnt part by part on the way in
    assert json.loads(parts[-1]["scan"])["pos"] == len(recording)
    rig.settle()
    session = rig.session(session_id)
    assert session["sha256"] == hashlib.sha256(recording).hexdigest()
    assert session["fileSize"] == len(recording)
    found = meta(rig, session_id)
    assert found["recordingKey"] == keys.seekable_key(session_id)
    assert found["seekable"]["indexed"] is True and found["seekable"]["cues"] >= 3
    stored: bytes = rig.s3.get_object(Bucket=BUCKET, Key=keys.seekable_key(session_id))["Body"].read()
    assert stored == webm.plan(webm.scan(recording)).assemble(recording)  # as one pass over the whole file
    # the storage total counts what is stored (head and Cues included); fileSize stays the client's
    assert len(stored) > len(recording) and rig.storage() == len(stored)
    assert hashlib.sha256(webm.rebuild(stored)).hexdigest() == session["sha256"]  # the rebuilt original
    listed = rig.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"recordings/{session_id}")["Contents"]
    assert [o["Key"] for o in listed] == [keys.seekable_key(session_id)]  # replaced, not doubled
    out = tmp_path / "played.webm"
    out.write_bytes(stored)
    duration = wf.ffprobe_duration(out)
    assert duration is not None and abs(duration - 4.0) <= 0.1 + 1e-6
    played = rig.api.get(f"/sessions/{session_id}/recording?redirect=false", ADMIN)
    assert played.status_code == 200 and ".seekable.webm" in played.json["url"]
    # retention's reconciliation knows the seekable object: neither an orphan nor drift of the client's bytes
    rig.clock.advance(2 * 3600)
    report = rig.retention_sweep()
    assert report["orphansDeleted"] == 0 and report["driftRepaired"] == 0
    assert rig.session(session_id)["fileSize"] == len(recording) and rig.storage() == len(stored)
    assert [o["Key"] for o in rig.s3.list_objects_v2(Bucket=BUCKET, Prefix="recordings/")["Contents"]] == [
        keys.seekable_key(session_id)]


def test_retention_deletes_the_seekable_object_and_all_the_bytes_it_counted(rig: Any, recording: bytes) -> None:
    session_id = send(rig, recording)
    rig.settle()
    assert meta(rig, session_id)["recordingKey"] == keys.seekable_key(session_id)
    stored_size = rig.storage()
    rig.clock.advance(2 * 86_400)
    assert rig.api.put("/settings/recording", ADMIN, {"retentionDays": 1}).status_code == 200
    report = rig.retention_sweep()
    assert report["recordingsByAge"] == 1 and report["bytesFreed"] == stored_size
    assert report["orphansDeleted"] == 0  # retention deleted the seekable object itself, not left it behind
    assert rig.storage() == 0
    assert rig.s3.list_objects_v2(Bucket=BUCKET, Prefix="recordings/").get("Contents", []) == []


def test_reconciliation_moves_a_total_that_counted_the_client_bytes_to_the_stored_size(rig: Any,
                                                                                     recording: bytes) -> None:
    """Recordings made seekable before the total counted stored bytes: the reconciliation repairs the total and
    REC, and leaves fileSize (the client's bytes) alone."""
    session_id = send(rig, recording)
    rig.settle()
    stored_size = rig.storage()
    pk = keys.session_pk(session_id)
    rig.table.update_item(Key={"PK": pk, "SK": keys.REC}, UpdateExpression="SET #b = :n",
                          ExpressionAttributeNames={"#b": "bytes"}, ExpressionAttributeValues={":n": len(recording)})
    rig.table.update_item(Key={"PK": "STATS#00", "SK": keys.META}, UpdateExpression="ADD #b :d",
                          ExpressionAttributeNames={"#b": "bytes"},
                          ExpressionAttributeValues={":d": len(recording) - stored_size})
    assert rig.storage() == len(recording)
    rig.clock.advance(2 * 3600)
    assert rig.retention_sweep()["driftRepaired"] == stored_size - len(recording)
    assert rig.storage() == stored_size
    assert rig.session(session_id)["fileSize"] == len(recording)


def test_a_recording_that_is_not_webm_stays_as_recorded(rig: Any) -> None:
    body = b"webm bytes, but not WebM" * 50
    session_id = send(rig, body)
    rig.settle()
    found = meta(rig, session_id)
    assert found["recordingKey"] == keys.recording_key(session_id, "webm")
    assert found["seekable"]["indexed"] is False and found["seekable"]["reason"]
    assert rig.object(session_id) == body
    assert rig.session(session_id)["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_recording_cut_short_is_indexed_and_keeps_every_byte(rig: Any, recording: bytes) -> None:
    cut = recording[:-777]  # the last blob never came, the tab died: the sweep times it out
    session_id = rig.start()
    for at in range(0, len(cut), 20_000):
        assert rig.chunk(session_id, cut[at:at + 20_000]).status_code == 200
    rig.settle()  # times it out
    rig.settle()  # digest, then the rewrite
    session = rig.session(session_id)
    assert session["recordingState"] == "timed_out"
    assert meta(rig, session_id)["seekable"]["indexed"] is True
    stored: bytes = rig.s3.get_object(Bucket=BUCKET, Key=keys.seekable_key(session_id))["Body"].read()
    assert webm.rebuild(stored) == cut
    assert hashlib.sha256(cut).hexdigest() == session["sha256"]


def test_the_switch_counts_the_stored_size_once_and_never_after_an_expiry(rig: Any) -> None:
    repo = rig.recordings._repo
    kept, expired = finished(rig, size=1000, seed=1), finished(rig, size=2000, seed=2)
    original, target = keys.recording_key(kept, "webm"), keys.seekable_key(kept)
    assert repo.switch_to_seekable(kept, original, target, 1000, 1100, {"indexed": True, "storedSize": 1100})
    assert rig.storage() == 1100 + 2000
    assert rig.rec(kept)["bytes"] == 1100 and meta(rig, kept)["recordingKey"] == target
    retain = rig.table.get_item(Key={"PK": keys.session_pk(kept), "SK": keys.RETAIN})["Item"]
    assert retain["bytes"] == 1100 and retain["key"] == target  # what retention will delete and free
    assert not repo.switch_to_seekable(kept, original, target, 1000, 1100, {"indexed": True})  # once only
    assert rig.storage() == 1100 + 2000

    rig.clock.advance(2 * 86_400)
    assert rig.api.put(f"/sessions/{kept}/hold", DELETER).status_code == 200  # kept out of the expiry below
    assert rig.api.put("/settings/recording", ADMIN, {"retentionDays": 1}).status_code == 200
    assert rig.retention_sweep()["recordingsByAge"] == 1
    assert rig.storage() == 1100
    # a rewrite that finishes after its recording expired changes nothing
    assert not repo.switch_to_seekable(expired, keys.recording_key(expired, "webm"), keys.seekable_key(expired),
                                       2000, 2100, {"indexed": True})
    assert rig.storage() == 1100 and "recordingKey" not in meta(rig, expired)
