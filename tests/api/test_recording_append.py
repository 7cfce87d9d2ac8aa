"""Chunks in, one exact object out: sizes, parts, concurrency, indices, refusals."""

from __future__ import annotations

import hashlib
import random
import threading

import pytest

from tests.support.rig import ALICE, BOB, SMALL_PART, SOFT, pattern


def record(rig, sizes, protocol="rdp", indexed=False, seed=0):
    session_id = rig.start(protocol)
    chunks = [pattern(size, seed + i) for i, size in enumerate(sizes)]
    for i, body in enumerate(chunks):
        response = rig.chunk(session_id, body, index=i if indexed else None)
        assert response.status_code == 200, response.body
        assert response.json == {"ok": True}
    return session_id, b"".join(chunks)


@pytest.mark.parametrize(
    ("chunk", "total"),
    [(1, 1), (1, 100), (1000, 1000), (4093, 3 * SMALL_PART + 17), (SMALL_PART, 4 * SMALL_PART),
     (SMALL_PART + 1, 3 * SMALL_PART + 3), (4 * 1024 * 1024, 4 * 1024 * 1024 + 5)],
)
def test_the_object_is_exactly_the_chunks_in_order(rig, chunk, total):
    sizes = [chunk] * (total // chunk) + ([total % chunk] if total % chunk else [])
    session_id, expected = record(rig, sizes)
    finalized = rig.finalize(session_id)
    assert finalized.status_code == 200 and finalized.json == {"ok": True, "recordingState": "complete"}
    assert rig.object(session_id) == expected
    session = rig.session(session_id)
    assert session["hasRecording"] is True and session["fileSize"] == total
    assert session["recordingState"] == "complete" and session["endedAt"]
    rig.settle()
    assert rig.session(session_id)["sha256"] == hashlib.sha256(expected).hexdigest()
    assert rig.staged(session_id) == []
    assert rig.storage() == total


def test_a_multi_part_recording_uses_parts_of_at_least_the_part_size(rig):
    sizes = [random.Random(5).randrange(1, 40_000) for _ in range(60)]
    session_id, expected = record(rig, sizes)
    rec = rig.rec(session_id)
    assert rec["parts"] >= 3  # compaction ran on the way in, not only at the end
    assert rig.finalize(session_id).status_code == 200
    assert rig.object(session_id) == expected
    parts = rig.recordings._repo.parts(session_id)
    assert [n for n, _, _ in parts] == list(range(1, len(parts) + 1))
    assert all(size >= SMALL_PART for _, _, size in parts[:-1])
    assert sum(size for _, _, size in parts) == len(expected)


def test_tiny_chunks_are_merged_so_the_live_item_stays_small(rig):
    sizes = [37] * (SOFT * 3)
    session_id, expected = record(rig, sizes, protocol="ssh")
    rec = rig.rec(session_id)
    assert len(rec["queue"]) < SOFT
    assert any(entry.rsplit("|", 1)[1] != "0" for entry in rec["queue"])  # merged segments exist
    assert rig.finalize(session_id).status_code == 200
    assert rig.object(session_id, "cast") == expected
    rig.settle()
    assert rig.staged(session_id) == []


@pytest.mark.parametrize("part_size", [5 * 1024 * 1024])
def test_the_real_five_mib_part_path(rig, part_size):
    sizes = [1024 * 1024 + 3] * 12
    session_id, expected = record(rig, sizes)
    assert rig.rec(session_id)["parts"] == 2
    assert rig.finalize(session_id).status_code == 200
    assert rig.object(session_id) == expected
    head = rig.s3.head_object(Bucket="session-audit-test", Key=f"recordings/{session_id}.webm")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "video/webm"
    assert [size for _, _, size in rig.recordings._repo.parts(session_id)] == [
        5 * (1024 * 1024 + 3), 5 * (1024 * 1024 + 3), 2 * (1024 * 1024 + 3)]


def test_overlapping_unindexed_appends_keep_every_chunk_exactly_once(rig):
    session_id = rig.start()
    chunk_size = 9_000
    chunks = [pattern(chunk_size, i) for i in range(48)]
    errors = []

    def send(mine):
        for body in mine:
            response = rig.chunk(session_id, body)
            if response.status_code != 200:
                errors.append(response.body)

    threads = [threading.Thread(target=send, args=(chunks[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rig.finalize(session_id).status_code == 200
    stored = rig.object(session_id)
    pieces = [stored[i:i + chunk_size] for i in range(0, len(stored), chunk_size)]
    assert sorted(pieces) == sorted(chunks)  # each chunk once, whole; their order is the commit order


def test_overlapping_indexed_appends_land_in_index_order(rig):
    session_id = rig.start()
    chunks = [pattern(7_001 + i, i) for i in range(40)]
    order = list(range(40))
    random.Random(7).shuffle(order)

    def send(mine):
        for i in mine:
            assert rig.chunk(session_id, chunks[i], index=i).status_code == 200

    threads = [threading.Thread(target=send, args=(order[i::5],)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rig.finalize(session_id).status_code == 200
    assert rig.object(session_id) == b"".join(chunks)


def test_indexed_out_of_order_retries_gaps_and_empty_chunks(rig):
    session_id = rig.start()
    chunks = [pattern(20_000, i) for i in range(10)]
    chunks[4] = b""  # an empty indexed chunk fills its place
    for i in (3, 0, 9, 1, 2, 8, 4):
        assert rig.chunk(session_id, chunks[i], index=i).status_code == 200
    assert rig.chunk(session_id, chunks[3], index=3).status_code == 200  # a retry: no-op
    other = rig.chunk(session_id, chunks[5], index=3)
    assert other.status_code == 409 and "3" in other.json["error"]
    missing = rig.finalize(session_id)
    assert missing.status_code == 409
    assert missing.json["missing"] == [5, 6, 7]
    for i in (7, 5, 6):
        assert rig.chunk(session_id, chunks[i], index=i).status_code == 200
    assert rig.finalize(session_id).status_code == 200
    assert rig.object(session_id) == b"".join(chunks)
    assert rig.chunk(session_id, chunks[2], index=2).status_code == 200  # a late retry of a stored chunk
    assert rig.chunk(session_id, chunks[5], index=10).status_code == 409  # closed
    rig.settle()
    assert rig.staged(session_id) == []
    assert rig.storage() == sum(map(len, chunks))


def test_refusals(rig):
    session_id = rig.start()
    assert rig.chunk(session_id, b"abc").status_code == 200
    mixed = rig.chunk(session_id, b"def", index=1)
    assert mixed.status_code == 409 and mixed.json["error"]
    assert rig.chunk(session_id, b"", token=ALICE).status_code == 200  # an empty unindexed chunk: no-op
    assert rig.chunk(session_id, b"x", token=BOB).status_code == 404  # not bob's to write
    assert rig.chunk("sess_nope", b"x").status_code == 404
    assert rig.chunk("bad id!", b"x").status_code == 400
    assert rig.chunk(session_id, b"x", content_type="application/json").status_code == 415
    too_big = rig.chunk(session_id, b"\0" * (4 * 1024 * 1024 + 1))
    assert too_big.status_code == 413 and too_big.json["error"]
    bad_index = rig.api.post(f"/sessions/{session_id}/recording/chunk", ALICE, b"x",
                             content_type="application/octet-stream", headers={"X-Chunk-Index": "-1"})
    assert bad_index.status_code == 400
    for content_type in ("video/webm", "application/x-asciicast"):
        assert rig.chunk(session_id, b"!", content_type=content_type).status_code == 200
    assert rig.finalize(session_id, token=BOB).status_code == 404
    assert rig.finalize(session_id).json["recordingState"] == "complete"
    assert rig.finalize(session_id).status_code == 200  # twice is harmless
    late = rig.chunk(session_id, b"late")
    assert late.status_code == 409 and late.json["error"]
    assert rig.object(session_id) == b"abc!!"
    ahead = rig.start()
    assert rig.chunk(ahead, b"x", index=10_001).status_code == 409


def test_a_straggler_within_the_grace_period_is_kept(rig):
    session_id = rig.start()
    assert rig.chunk(session_id, b"first ").status_code == 200
    rig.clock.advance(30)
    # the straggler commits while finalize waits (at its first pause), as an overtaken upload would
    rig.clock.on_sleep.append(lambda: rig.chunk(session_id, b"straggler"))
    assert rig.finalize(session_id).status_code == 200
    assert rig.object(session_id) == b"first straggler"


def test_an_empty_recording_completes_without_an_object(rig):
    session_id = rig.start()
    assert rig.finalize(session_id).json["recordingState"] == "complete"
    session = rig.session(session_id)
    assert session["hasRecording"] is False and session["fileSize"] == 0
    assert rig.api.get(f"/sessions/{session_id}/recording", ALICE).status_code == 404
