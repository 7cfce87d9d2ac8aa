"""A crash after each AWS call of the append and finalize paths, then the client's retry (or the next chunk,
finalize, or the sweep), still ends in the exact bytes, counted once, with no staging object left."""

from __future__ import annotations

import pytest

from chalicelib.store import keys
from tests.support.recording_harness import Crash
from tests.support.rig import ADMIN, alice, pattern

# 64 KiB parts: the first chunk makes a part on the way in, the second is the tail finalize uploads last
MULTIPART = [pattern(70_000, 0), pattern(10_000, 1)]
SINGLE = [pattern(10_000, i) for i in range(2)]  # never reaches a part: one PutObject at completion


def run(rig, chunks, indexed: bool, crash_after: int, in_finalize: bool) -> tuple[bool, int]:
    """One recording with a crash after `crash_after` AWS calls of the chosen path: (crashed, calls the
    path made)."""
    session_id = rig.start()
    crashed = False
    if not in_finalize:
        rig.gate.arm(crash_after)
        first_call = rig.gate.calls
    for i, body in enumerate(chunks):
        while True:
            try:
                rig.recordings.append(alice(), session_id, body, i if indexed else None)
                break
            except Crash:
                crashed = True
                rig.clock.advance(5)
                if not indexed and int(rig.rec(session_id)["chunks"]) > i:
                    break  # it was committed: an unindexed chunk must not be sent twice (see the docs)
    if in_finalize:
        rig.gate.arm(crash_after)
        first_call = rig.gate.calls
    else:
        path_calls = rig.gate.calls - first_call
        rig.gate.crash_at = None  # the append path may have run out of calls before the crash point
    for _attempt in range(3):
        try:
            rig.recordings.finalize(alice(), session_id)
            break
        except Crash:
            crashed = True
            rig.clock.advance(5)
    if in_finalize:
        path_calls = rig.gate.calls - first_call
    rig.gate.crash_at = None
    rig.clock.advance(3600)  # leases of the dead expire; the sweep completes and cleans up
    rig.sweep()
    rig.clock.advance(3600)
    rig.sweep()
    assert rig.object(session_id) == b"".join(chunks), f"crash after {crash_after} calls"
    session = rig.session(session_id)
    assert session["recordingState"] == "complete", session
    assert session["fileSize"] == sum(map(len, chunks))
    assert rig.staged(session_id) == []
    rig.forget(session_id)
    return crashed, path_calls


@pytest.mark.parametrize(
    ("chunks", "indexed", "in_finalize"),
    [(MULTIPART, False, False), (MULTIPART, True, False), (MULTIPART, False, True), (MULTIPART, True, True),
     (SINGLE, False, True)],
    ids=["append", "append-indexed", "finalize", "finalize-indexed", "finalize-single-put"],
)
def test_a_crash_after_every_aws_call_loses_and_duplicates_nothing(rig, chunks, indexed, in_finalize):
    before = rig.storage()
    crashed, path_calls = run(rig, chunks, indexed, 10**6, in_finalize)
    assert not crashed and path_calls >= 5
    for crash_after in range(path_calls):  # a crash right after each call the path makes
        crashed, _ = run(rig, chunks, indexed, crash_after, in_finalize)
        assert crashed
    assert rig.storage() - before == (path_calls + 1) * sum(map(len, chunks))  # each byte counted once


@pytest.mark.parametrize("indexed", [False, True], ids=["append", "append-indexed"])
def test_under_a_daily_cap_a_crash_after_every_aws_call_counts_each_byte_once_for_the_user(rig, indexed):
    """The user's counter of the day rides in the commit's transaction: a crash never counts a chunk twice or
    loses its count (the cap is high enough never to refuse here)."""
    assert rig.api.put("/settings/recording", ADMIN, {"maxUserBytesPerDay": 10**12}).status_code == 200

    def charged() -> int:
        found = rig.table.query(KeyConditionExpression="PK = :pk",
                                ExpressionAttributeValues={":pk": keys.user_bytes_pk("alice")})["Items"]
        return sum(int(item["bytes"]) for item in found)

    crashed, path_calls = run(rig, MULTIPART, indexed, 10**6, False)
    assert not crashed and path_calls >= 5
    for crash_after in range(path_calls):
        crashed, _ = run(rig, MULTIPART, indexed, crash_after, False)
        assert crashed
    assert charged() == (path_calls + 1) * sum(map(len, MULTIPART))
