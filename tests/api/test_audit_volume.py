"""A session's records are bounded and read in pages: the caps on commands, input events and file events (a batch
past one is 409 and stores nothing), `limit`/`cursor` pages that give exactly what the whole answer gives, and the
whole answer streamed to S3 part after part when large (docs/audit-records.md)."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote, urlparse

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from chalicelib import container
from chalicelib.domain.audit import AuditLimits
from chalicelib.settings import get_settings
from chalicelib.store import keys
from chalicelib.store.exports import ExportUpload
from tests.support.clients import BUCKET, make_token

ALICE = make_token("alice")
BOB = make_token("bob")
GATEWAY = make_token("gateway", role="service", permissions=["sessions.ingest"])  # who writes audit records


def for_alice(body):
    """A file batch as the gateway sends it for alice (the first batch names the file session's owner)."""
    return {**body, "userId": "alice", "username": "alice"}


@pytest.fixture
def session_id(api, recording_on):
    response = api.post("/sessions", ALICE, {"protocol": "ssh", "connectionId": "web-1"})
    assert response.status_code == 200
    return response.json["sessionId"]


def rows(table, pk, prefix):
    return table.query(KeyConditionExpression=Key("PK").eq(pk) & Key("SK").begins_with(prefix))["Items"]


def walk(api, path, field, limit, token=ALICE):
    """Every page of `path` at `limit`, following nextCursor: the records in order, and the number of pages."""
    found, cursor, pages = [], None, 0
    while True:
        answer = api.get(f"{path}?limit={limit}" + (f"&cursor={cursor}" if cursor else ""), token)
        assert answer.status_code == 200, answer.body
        assert answer.json["limit"] == limit and len(answer.json[field]) <= limit
        found += answer.json[field]
        pages += 1
        cursor = answer.json["nextCursor"]
        if cursor is None:
            return found, pages


# ---- caps


def test_the_default_caps_are_documented_figures():
    assert AuditLimits() == AuditLimits(commands=100_000, input_events=2_000_000, file_events=100_000)


def test_a_command_batch_past_the_cap_is_refused_whole_and_a_retry_of_an_accepted_one_is_not(api, session_id, table):
    pk = keys.session_pk(session_id)
    table.put_item(Item={"PK": pk, "SK": keys.AUDIT_TOTALS, "commands": 99_999})
    two = [{"elapsed": 1, "command": "a"}, {"elapsed": 2, "command": "b"}]
    refused = api.post(f"/sessions/{session_id}/commands", GATEWAY, two)
    assert refused.status_code == 409
    assert refused.json == {"error": "the session's commands limit is reached: 99,999 stored, at most 100,000 kept",
                            "stored": 99_999, "limit": 100_000}
    assert rows(table, pk, keys.COMMAND_PREFIX) == []
    one = [{"elapsed": 3, "command": "c"}]
    assert api.post(f"/sessions/{session_id}/commands", GATEWAY, one).status_code == 200
    assert api.post(f"/sessions/{session_id}/commands", GATEWAY, one).status_code == 200  # a retry: counted once
    assert table.get_item(Key={"PK": pk, "SK": keys.AUDIT_TOTALS})["Item"]["commands"] == 100_000
    assert [c["command"] for c in api.get(f"/sessions/{session_id}/commands", ALICE).json["commands"]] == ["c"]
    assert api.post(f"/sessions/{session_id}/commands", GATEWAY, [{"elapsed": 4, "command": "d"}]).status_code == 409


def test_input_events_past_the_cap_are_refused_whole(api, session_id, table):
    pk = keys.session_pk(session_id)
    table.put_item(Item={"PK": pk, "SK": keys.AUDIT_TOTALS, "events": 1_999_999})
    flush = [{"elapsed": i, "type": "move"} for i in range(6_000)]  # two packs: neither may be written
    refused = api.post(f"/sessions/{session_id}/recording/events", GATEWAY, flush)
    assert refused.status_code == 409 and refused.json["limit"] == 2_000_000
    assert rows(table, pk, keys.EVENTS_PREFIX) == []
    assert api.post(f"/sessions/{session_id}/recording/events", GATEWAY, [{"elapsed": 1, "type": "key"}]
                    ).status_code == 200
    assert api.get(f"/sessions/{session_id}/recording/events", ALICE).json == {
        "events": [{"elapsed": 1, "event_type": "key"}]}


def test_the_caps_count_every_batch_once_under_a_small_limit(api, session_id, table):
    container.services().audit.limits = AuditLimits(commands=5, input_events=5)
    for n in range(2):
        batch = [{"elapsed": n * 10 + i, "command": f"c{n}{i}"} for i in range(2)]
        assert api.post(f"/sessions/{session_id}/commands", GATEWAY, batch).status_code == 200
        assert api.post(f"/sessions/{session_id}/commands", GATEWAY, batch).status_code == 200  # retried
    assert api.post(f"/sessions/{session_id}/commands", GATEWAY,
                    [{"elapsed": 30, "command": "x"}, {"elapsed": 31, "command": "y"}]).status_code == 409
    assert api.post(f"/sessions/{session_id}/commands", GATEWAY, [{"elapsed": 30, "command": "x"}]).status_code == 200
    assert len(api.get(f"/sessions/{session_id}/commands", ALICE).json["commands"]) == 5
    assert api.post(f"/sessions/{session_id}/recording/events", GATEWAY,
                    [{"elapsed": i, "type": "move"} for i in range(6)]).status_code == 409


def test_file_events_past_the_cap_are_refused_whole(api, recording_on, table):
    first = {"protocol": "sftp", "connectionId": "files", "events": [{"action": "upload", "path": "/a"}]}
    assert api.post("/file-sessions/fs-cap/events", GATEWAY, for_alice(first)).status_code == 200
    pk = keys.file_session_pk("fs-cap")
    table.update_item(Key={"PK": pk, "SK": keys.META}, UpdateExpression="SET eventCount = :n",
                      ExpressionAttributeValues={":n": 99_999})
    two = {**first, "events": [{"action": "upload", "path": "/b"}, {"action": "upload", "path": "/c"}]}
    refused = api.post("/file-sessions/fs-cap/events", GATEWAY, for_alice(two))
    assert refused.status_code == 409 and refused.json["stored"] == 99_999 and refused.json["limit"] == 100_000
    assert len(rows(table, pk, keys.FILE_EVENT_PREFIX)) == 1 and len(rows(table, pk, keys.FILE_BATCH_PREFIX)) == 1
    later = {**for_alice(first), "events": [{"action": "upload", "path": "/d"}]}
    assert api.post("/file-sessions/fs-cap/events", GATEWAY, later).status_code == 200
    assert [e["path"] for e in api.get("/file-sessions/fs-cap/events", ALICE).json["events"]] == ["/a", "/d"]


def test_a_retried_file_batch_without_timestamps_lands_on_the_same_records(api, recording_on, table):
    body = {"protocol": "sftp", "connectionId": "files", "events": [{"action": "browse", "path": "/x"}]}
    assert api.post("/file-sessions/fs-retry/events", GATEWAY, for_alice(body)).status_code == 200
    first = api.get("/file-sessions/fs-retry/events", ALICE).json["events"]
    time.sleep(0.01)  # the retry arrives later: its events keep the first arrival's time
    assert api.post("/file-sessions/fs-retry/events", GATEWAY, for_alice(body)).status_code == 200
    assert api.get("/file-sessions/fs-retry/events", ALICE).json["events"] == first
    assert len(rows(table, keys.file_session_pk("fs-retry"), keys.FILE_EVENT_PREFIX)) == 1


# ---- pages


def test_command_pages_give_exactly_the_whole_answer(api, session_id):
    for n in range(3):
        batch = [{"elapsed": (i * 7 + n) % 23 + n / 4, "command": f"cmd {n}.{i}"} for i in range(9)]
        assert api.post(f"/sessions/{session_id}/commands", GATEWAY, batch).status_code == 200
    whole = api.get(f"/sessions/{session_id}/commands", ALICE).json
    assert set(whole) == {"commands"} and len(whole["commands"]) == 27
    for limit in (1, 7, 9, 27, 1000):
        paged, pages = walk(api, f"/sessions/{session_id}/commands", "commands", limit)
        assert paged == whole["commands"], limit
        assert pages == max(1, -(-27 // limit)), limit  # no empty page after the last
    for bad in ("0", "1001", "x", "-1"):
        assert api.get(f"/sessions/{session_id}/commands?limit={bad}", ALICE).status_code == 400


def test_input_event_pages_follow_the_sorted_order_even_when_flushes_overlap(api, session_id):
    flushes = [
        [{"elapsed": e, "type": "move"} for e in range(0, 100, 10)],
        [{"elapsed": e, "type": "click"} for e in (5, 15, 55, 55, 90)],  # inside the first flush's range
        [{"elapsed": e, "type": "key"} for e in (100, 100.5, 120)],  # starts where the others end
        [{"elapsed": e, "type": "key"} for e in (300, 301)],
    ]
    for flush in flushes:
        assert api.post(f"/sessions/{session_id}/recording/events", GATEWAY, flush).status_code == 200
    whole = api.get(f"/sessions/{session_id}/recording/events", ALICE).json["events"]
    sent = [(e["elapsed"], e["type"]) for flush in flushes for e in flush]
    assert [(e["elapsed"], e["event_type"]) for e in whole] == sorted(sent, key=lambda pair: pair[0])
    for limit in (1, 2, 3, 4, 14, 20, 10_000):
        paged, pages = walk(api, f"/sessions/{session_id}/recording/events", "events", limit)
        assert paged == whole, limit
        assert pages == max(1, -(-len(whole) // limit)), limit
    assert api.get(f"/sessions/{session_id}/recording/events?limit=10001", ALICE).status_code == 400


def test_file_event_pages_follow_time_order_with_events_stored_before_the_time_keys(api, recording_on, table):
    body = {"protocol": "sftp", "connectionId": "files", "events": [
        {"action": "upload", "path": f"/new/{i}", "timestamp": f"2024-01-01T00:00:{i * 7 % 50:02d}Z"}
        for i in range(8)]}
    assert api.post("/file-sessions/fs-pages/events", GATEWAY, for_alice(body)).status_code == 200
    pk = keys.file_session_pk("fs-pages")
    for i in range(5):  # as the service stored them before: keyed by batch, read back sorted
        doc = {"id": f"evt_{'ab' * 8}{i:04d}", "timestamp": f"2024-01-01T00:00:{i * 11 % 50:02d}.000Z",
               "action": "download", "path": f"/old/{i}", "detail": None, "receivedAt": "2024-01-01T00:01:00.000Z"}
        table.put_item(Item={"PK": pk, "SK": keys.legacy_file_event_sk("ab" * 8, i), "kind": "fileEvent",
                             "doc": json.dumps(doc)})
    whole = api.get("/file-sessions/fs-pages/events", ALICE).json["events"]
    assert len(whole) == 13
    assert [e["timestamp"] for e in whole] == sorted(e["timestamp"] for e in whole)
    assert {e["path"] for e in whole} == {f"/new/{i}" for i in range(8)} | {f"/old/{i}" for i in range(5)}
    for limit in (1, 2, 5, 13, 1000):
        paged, _ = walk(api, "/file-sessions/fs-pages/events", "events", limit)
        assert paged == whole, limit


def test_a_cursor_is_signed_and_bound_to_its_session_and_kind(api, session_id):
    other = api.post("/sessions", ALICE, {"protocol": "ssh", "connectionId": "web-1"}).json["sessionId"]
    for sid in (session_id, other):
        batch = [{"elapsed": i, "command": f"c{i}"} for i in range(3)]
        assert api.post(f"/sessions/{sid}/commands", GATEWAY, batch).status_code == 200
        assert api.post(f"/sessions/{sid}/recording/events", GATEWAY,
                        [{"elapsed": i, "type": "key"} for i in range(3)]).status_code == 200
    cursor = api.get(f"/sessions/{session_id}/commands?limit=1", ALICE).json["nextCursor"]
    assert api.get(f"/sessions/{session_id}/commands?cursor={cursor}", ALICE).status_code == 200
    assert api.get(f"/sessions/{other}/commands?cursor={cursor}", ALICE).status_code == 400
    assert api.get(f"/sessions/{session_id}/recording/events?cursor={cursor}", ALICE).status_code == 400
    assert api.get(f"/sessions/{session_id}/commands?cursor=forged", ALICE).status_code == 400
    assert api.get(f"/sessions/{session_id}/commands?limit=1", BOB).status_code == 404  # rights before paging


# ---- the whole answer, streamed


@pytest.fixture
def small_answers(monkeypatch):
    """Answers above 2,000 bytes go through S3, and S3 takes parts of 4 KB (its floor is 5 MiB in production)."""
    import moto.s3.models

    monkeypatch.setenv("MAX_RESPONSE_BYTES", "2000")
    monkeypatch.setattr(ExportUpload, "MIN_PART", 4096)
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 4096)
    get_settings.cache_clear()
    container.use(None)


def parked(response):
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
    key = unquote(urlparse(response.headers["Location"]).path).lstrip("/").removeprefix(f"{BUCKET}/")
    assert key.startswith("exports/")
    obj = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)
    etag = obj["ETag"].strip('"')  # a multipart object's ETag ends in -<number of parts>
    return obj["Body"].read(), int(etag.rsplit("-", 1)[1]) if "-" in etag else 1


def test_a_large_whole_answer_is_written_to_s3_part_after_part_and_equals_its_pages(api, session_id, small_answers):
    flush = [{"elapsed": i / 4, "type": "move"} for i in range(2_000)]
    assert api.post(f"/sessions/{session_id}/recording/events", GATEWAY, flush).status_code == 200
    body, parts = parked(api.get(f"/sessions/{session_id}/recording/events", ALICE))
    assert parts > 1
    expected = {"events": [{"elapsed": i / 4, "event_type": "move"} for i in range(2_000)]}
    assert body.decode() == json.dumps(expected, separators=(",", ":"))
    assert boto3.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    # a small answer stays inline
    assert api.get(f"/sessions/{session_id}/commands", ALICE).body == b'{"commands":[]}'
