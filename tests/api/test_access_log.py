"""The access log spread over shards (ACCESS#00..15): newest-first pages stay exact across shards, with page=N
and with the signed cursor, and entries written in the one partition before the sharding are still listed
(docs/purge-retention.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from chalicelib.domain.access import Caller
from chalicelib.domain.access_log import AccessLog
from chalicelib.model.clock import Clock
from chalicelib.store import keys
from chalicelib.store.access_log import AccessLogRepository
from tests.support.clients import make_token
from tests.support.rig import ADMIN, file_session

MANAGER = make_token("manager", permissions=["settings.manage"])
START = datetime(2026, 1, 1, tzinfo=UTC)


def seeded_log(table, entries: int, legacy: int) -> list[str]:
    """`legacy` entries in the old single partition, then `entries` through the service, several in the same
    millisecond; the targets, newest first."""
    for n in range(legacy):
        at = (START + timedelta(seconds=n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        table.put_item(Item={"PK": keys.ACCESS_PK, "SK": keys.access_sk(at, f"legacy{n:04d}"), "kind": "access",
                             "at": at, "userId": "old", "username": "old", "action": "recording.play",
                             "target": f"sessions/legacy-{n}"})
    ticks = count()
    log = AccessLog(AccessLogRepository(table),
                    clock=Clock(lambda: START.timestamp() + legacy + next(ticks) // 3),  # 3 entries a moment
                    new_id=iter(f"{n:012x}" for n in range(entries)).__next__)
    who = Caller("admin", "admin", "admin", frozenset())
    for n in range(entries):
        log.record(who, "recording.play", f"sessions/new-{n}", "127.0.0.1")
    return [f"sessions/new-{n}" for n in reversed(range(entries))] + \
        [f"sessions/legacy-{n}" for n in reversed(range(legacy))]


def targets(page) -> list[str]:
    return [e["target"] for e in page["entries"]]


def test_entries_are_spread_over_shards_and_paged_newest_first_exactly(rig):
    expected = seeded_log(rig.table, entries=60, legacy=5)
    partitions = {str(i["PK"]) for i in rig.table.scan()["Items"] if i.get("kind") == "access"}
    assert keys.ACCESS_PK in partitions  # only the legacy entries
    new_partitions = partitions - {keys.ACCESS_PK}
    assert new_partitions <= {keys.access_pk(s) for s in range(keys.ACCESS_SHARDS)}
    assert len(new_partitions) >= 8  # 60 entries at random over 16 shards

    walked: list[str] = []
    cursor = None
    pages = 0
    while True:
        answer = rig.api.get("/access-log?limit=7" + (f"&cursor={cursor}" if cursor else ""), MANAGER)
        assert answer.status_code == 200, answer.body
        walked += targets(answer.json)
        pages += 1
        cursor = answer.json["nextCursor"]
        if cursor is None:
            break
    assert walked == expected
    assert pages == 10  # 65 entries, 7 a page: the last page is not followed by an empty one

    by_page = []
    for page in range(1, 11):
        by_page += targets(rig.api.get(f"/access-log?limit=7&page={page}", MANAGER).json)
    assert by_page == expected
    assert rig.api.get("/access-log?limit=7&page=11", MANAGER).json == {
        "entries": [], "page": 11, "limit": 7, "nextCursor": None}
    everything = rig.api.get("/access-log?limit=100", MANAGER).json
    assert targets(everything) == expected and everything["nextCursor"] is None


def test_a_cursor_is_signed(rig):
    seeded_log(rig.table, entries=4, legacy=0)
    cursor = rig.api.get("/access-log?limit=2", MANAGER).json["nextCursor"]
    assert cursor
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    assert rig.api.get(f"/access-log?limit=2&cursor={tampered}", MANAGER).status_code == 400


def test_audit_reads_are_logged_like_playback(rig):
    ssh = rig.start("ssh")
    file_session(rig, "fs-read")
    assert rig.api.get(f"/sessions/{ssh}/commands", ADMIN).status_code == 200
    rig.clock.advance(1)
    assert rig.api.get(f"/sessions/{ssh}/recording/events?limit=5", ADMIN).status_code == 200
    rig.clock.advance(1)
    assert rig.api.get("/file-sessions/fs-read/events", ADMIN).status_code == 200
    assert rig.api.get("/sessions/nope/commands", ADMIN).status_code == 404  # refused: not logged
    entries = rig.api.get("/access-log?limit=10", MANAGER).json["entries"]
    assert [(e["action"], e["target"], e["userId"]) for e in entries] == [
        ("file-events.read", "file-sessions/fs-read", "admin"),
        ("events.read", f"sessions/{ssh}", "admin"),
        ("commands.read", f"sessions/{ssh}", "admin"),
    ]
