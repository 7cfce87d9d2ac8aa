"""/file-sessions: created by the first batch, counted, listed, read, exported (JSON, CSV, or via S3 when large)."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from chalicelib import aws, container
from chalicelib.api.file_export import CSV_COLUMNS
from chalicelib.settings import get_settings
from chalicelib.store.counters import Counters
from tests.support.clients import BUCKET, TABLE, make_token

ALICE = make_token("alice")
BOB = make_token("bob")
VIEWER = make_token("auditor", permissions=["sessions.view_any"])
INGEST = make_token("gateway", permissions=["sessions.ingest"])


def batch(*events, protocol="sftp", connection="files-1", **extra):
    return {"protocol": protocol, "connectionId": connection, "events": list(events), **extra}


def as_alice(body):
    """A batch the gateway's file browser sends for alice (file events need sessions.ingest)."""
    return {**body, "userId": "alice", "username": "alice"}


def post(api, token, session_id, body):
    return api.post(f"/file-sessions/{session_id}/events", token, body)


def stored(table, session_id):
    return table.query(KeyConditionExpression=Key("PK").eq(f"FILES#{session_id}"))["Items"]


def file_session_total():
    return Counters(aws.table(TABLE)).generation(0)["fileSessions"]


def test_first_batch_creates_and_counts_the_session_later_batches_move_it(api, admin):
    assert api.put("/connections/files-1", admin, {"name": "Files Server"}).status_code == 200
    first = batch({"action": "browse", "path": "/var/www", "timestamp": "2024-01-01T00:00:00Z"},
                  {"action": "upload", "path": "/var/www/index.html", "detail": {"size": 12700},
                   "timestamp": "2024-01-01T00:05:00Z"})
    assert post(api, INGEST, "fsess_1", as_alice(first)).json == {"ok": True}
    (row,) = api.get("/file-sessions", ALICE).json["sessions"]
    assert row == {"id": "fsess_1", "userId": "alice", "protocol": "sftp", "startedAt": "2024-01-01T00:00:00.000Z",
                   "endedAt": "2024-01-01T00:05:00.000Z", "connectionName": "Files Server", "username": "alice",
                   "eventCount": 2, "connectionId": "files-1"}
    assert file_session_total() == 1

    later = batch({"action": "delete", "path": "/tmp/x", "detail": "12.4 KB", "timestamp": "2024-01-01T00:30:00Z"})
    assert post(api, INGEST, "fsess_1", as_alice(later)).status_code == 200
    assert post(api, INGEST, "fsess_1", as_alice(later)).status_code == 200  # a retry: stored and counted once
    listed = api.get("/file-sessions", ALICE).json
    assert listed["page"] == 1 and listed["limit"] == 25 and listed["nextCursor"] is None
    (row,) = listed["sessions"]
    assert row["eventCount"] == 3 and row["endedAt"] == "2024-01-01T00:30:00.000Z"
    assert file_session_total() == 1  # counted when created, not per batch

    events = api.get("/file-sessions/fsess_1/events", ALICE).json["events"]
    assert [(e["action"], e["path"], e["detail"]) for e in events] == [
        ("browse", "/var/www", None),
        ("upload", "/var/www/index.html", {"size": 12700}),
        ("delete", "/tmp/x", "12.4 KB"),
    ]
    assert set(events[0]) == {"id", "timestamp", "action", "path", "detail"}
    assert events[0]["id"].startswith("evt_") and events[2]["timestamp"] == "2024-01-01T00:30:00.000Z"
    # an earlier batch arriving late does not move endedAt back
    late = batch({"action": "mkdir", "path": "/a", "timestamp": "2024-01-01T00:10:00Z"})
    assert post(api, INGEST, "fsess_1", as_alice(late)).status_code == 200
    assert api.get("/file-sessions", ALICE).json["sessions"][0]["endedAt"] == "2024-01-01T00:30:00.000Z"


def test_events_without_timestamps_take_the_arrival_time_and_keep_their_order(api):
    downloads = batch(*({"action": "download", "path": f"/f{i}"} for i in range(30)))
    response = post(api, INGEST, "fs-3", as_alice(downloads))
    assert response.status_code == 200
    events = api.get("/file-sessions/fs-3/events", ALICE).json["events"]
    assert [e["path"] for e in events] == [f"/f{i}" for i in range(30)]
    session = next(s for s in api.get("/file-sessions", ALICE).json["sessions"] if s["id"] == "fs-3")
    assert session["startedAt"] == session["endedAt"] == events[0]["timestamp"]
    assert session["eventCount"] == 30


def test_ingest_names_the_owner_others_cannot_write_or_read(api, table):
    on_behalf = batch({"action": "browse", "path": "/"}, userId="alice", username="Alice A.", protocol="smb")
    assert post(api, INGEST, "fs-a", on_behalf).status_code == 200
    (row,) = api.get("/file-sessions", ALICE).json["sessions"]
    assert (row["userId"], row["username"], row["protocol"]) == ("alice", "Alice A.", "smb")
    # the gateway's file browsers write file events: without sessions.ingest nothing is created, whatever it names
    assert post(api, BOB, "fs-b", batch({"action": "browse", "path": "/"}, userId="alice")).status_code == 403
    assert post(api, BOB, "fs-b", batch({"action": "browse", "path": "/"})).status_code == 403
    assert api.get("/file-sessions", BOB).json["sessions"] == []

    before = stored(table, "fs-a")
    assert post(api, BOB, "fs-a", batch({"action": "delete", "path": "/evil"})).status_code == 403
    assert post(api, ALICE, "fs-a", batch({"action": "mkdir", "path": "/mine"})).status_code == 403  # owner too
    assert stored(table, "fs-a") == before
    assert post(api, INGEST, "fs-a", as_alice(batch({"action": "mkdir", "path": "/new"}))).status_code == 200
    assert api.get("/file-sessions/fs-a/events", BOB).status_code == 404
    assert api.get("/file-sessions/fs-a/export", BOB).status_code == 404
    assert api.get("/file-sessions/fs-a/events", INGEST).status_code == 404
    assert len(api.get("/file-sessions/fs-a/events", VIEWER).json["events"]) == 2
    assert api.get("/file-sessions/nope/events", VIEWER).status_code == 404
    assert sorted(s["id"] for s in api.get("/file-sessions", VIEWER).json["sessions"]) == ["fs-a"]


def test_list_filters_and_pages_like_sessions(api):
    for index, protocol in enumerate(("sftp", "ftp", "smb", "sftp")):
        event = {"action": "browse", "path": "/", "timestamp": f"2024-01-0{index + 1}T00:00:00Z"}
        assert post(api, INGEST, f"fs-{index}", as_alice(batch(event, protocol=protocol))).status_code == 200
    assert [s["id"] for s in api.get("/file-sessions?protocol=sftp", ALICE).json["sessions"]] == ["fs-3", "fs-0"]
    assert api.get("/file-sessions?protocol=rdp", ALICE).status_code == 400
    assert [s["id"] for s in api.get("/file-sessions?from=2024-01-02&to=2024-01-03", VIEWER).json["sessions"]] == [
        "fs-2", "fs-1"]
    assert api.get("/file-sessions?userId=alice", BOB).json["sessions"] == []
    first = api.get("/file-sessions?limit=3", ALICE).json
    assert [s["id"] for s in first["sessions"]] == ["fs-3", "fs-2", "fs-1"] and first["nextCursor"]
    assert [s["id"] for s in api.get("/file-sessions?limit=3&page=2", ALICE).json["sessions"]] == ["fs-0"]
    cursor = api.get(f"/file-sessions?limit=3&cursor={first['nextCursor']}", ALICE).json
    assert [s["id"] for s in cursor["sessions"]] == ["fs-0"] and cursor["nextCursor"] is None


BAD_FILE_BATCHES = [
    [{"action": "browse", "path": "/"}],  # not an object
    batch({"action": "explode", "path": "/"}),
    batch({"action": "browse"}),
    batch({"action": "browse", "path": ""}),
    batch({"action": "browse", "path": "/", "detail": 12}),
    batch({"action": "browse", "path": "/", "detail": "x" * 5000}),
    batch({"action": "browse", "path": "/", "timestamp": "soon"}),
    batch("browse"),
    batch(),
    batch(*[{"action": "browse", "path": "/"}] * 1001),
    batch({"action": "browse", "path": "/"}, protocol="rdp"),
    batch({"action": "browse", "path": "/"}, connection="../etc"),
    {"protocol": "sftp", "connectionId": "c", "events": {"action": "browse", "path": "/"}},
]


def test_malformed_file_batches_are_400_and_create_nothing(api, table):
    for body in BAD_FILE_BATCHES:
        if isinstance(body, dict) and isinstance(body.get("events"), list) and body["events"]:
            body = {**body, "events": [{"action": "upload", "path": "/ok"}, *body["events"]]}
        response = post(api, ALICE, "fs-bad", body)
        assert response.status_code == 400, (body, response.body)
        assert "error" in response.json
    assert post(api, ALICE, "fs-bad", '{"protocol": "sftp", "connectionId": "c", "events": '
                '[{"action": "browse", "path": "/", "detail": {"n": NaN}}]}').status_code == 400
    assert post(api, ALICE, "fs-bad", b'{"protocol": "sftp", "connectionId": "c", "events": '
                b'[{"action": "browse", "path": "/\xff"}]}').status_code == 400
    wrong_type = api.post("/file-sessions/fs-bad/events", ALICE, json.dumps(batch({"action": "browse", "path": "/"})),
                          content_type="text/plain")
    assert wrong_type.status_code == 415
    assert post(api, INGEST, "bad id!", as_alice(batch({"action": "browse", "path": "/"}))).status_code == 400
    assert stored(table, "fs-bad") == []
    assert api.get("/file-sessions", ALICE).json["sessions"] == []
    assert file_session_total() == 0


NASTY = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "a,b", 'say "hi"',
         "two\nlines", "plain"]


def test_csv_export_quotes_and_neutralises_formulas(api):
    events = [{"action": "rename", "path": path, "detail": {"to": "/b", "size": 12.5},
               "timestamp": "2024-01-01T00:00:00Z"} for path in NASTY]
    events.append({"action": "upload", "path": "/x", "detail": "=1+1"})
    assert post(api, INGEST, "-fs", as_alice(batch(*events))).status_code == 200
    response = api.get("/file-sessions/-fs/export?format=csv", ALICE)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="file-session--fs.csv"'
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    records = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    assert len(records) == len(NASTY) + 1
    paths = [r["path"] for r in records[:-1]]
    assert paths == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+1+2", "'-2+3", "'@SUM(A1)", "'\tTAB", "'\rCR",
                     "a,b", 'say "hi"', "two\nlines", "plain"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in records for cell in r.values())
    first = records[0]
    assert first["session_id"] == "'-fs"  # ids may start with '-': neutralised like any cell
    assert (first["connection"], first["username"], first["protocol"]) == ("files-1", "alice", "sftp")
    assert first["session_started"] <= first["session_ended"]
    assert first["timestamp"] == "2024-01-01T00:00:00.000Z" and first["action"] == "rename"
    assert json.loads(first["detail"]) == {"to": "/b", "size": 12.5}
    assert records[-1]["detail"] == "'=1+1"


def test_json_export_is_a_download_of_the_session_and_its_events(api):
    chmod = batch({"action": "chmod", "path": "/x", "detail": {"mode": "0755"}})
    assert post(api, INGEST, "fs-j", as_alice(chmod)).status_code == 200
    for query in ("", "?format=json"):
        response = api.get(f"/file-sessions/fs-j/export{query}", ALICE)
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == 'attachment; filename="file-session-fs-j.json"'
        body = json.loads(response.body)
        assert body["session"]["id"] == "fs-j" and body["session"]["eventCount"] == 1
        assert body["events"][0]["detail"] == {"mode": "0755"}
    assert api.get("/file-sessions/fs-j/export?format=xml", ALICE).status_code == 400
    assert api.get("/file-sessions/fs-j/export?format=csv", VIEWER).status_code == 200
    assert api.get("/file-sessions/missing/export", ALICE).status_code == 404


@pytest.fixture
def small_answers(monkeypatch):
    """Answers above 2,000 bytes go through S3, as answers above ~6 MB do in production."""
    monkeypatch.setenv("MAX_RESPONSE_BYTES", "2000")
    get_settings.cache_clear()
    container.use(None)


def fetch_presigned(url):
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["3600"]
    path = unquote(parsed.path).lstrip("/")
    key = path.removeprefix(f"{BUCKET}/")  # path style; virtual-hosted URLs carry the bucket in the host
    assert key.startswith("exports/")
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)


def test_large_answers_redirect_to_a_presigned_copy(api, recording_on, small_answers):
    events = [{"action": "upload", "path": f"/data/{i:04d}.bin", "detail": {"size": i}} for i in range(100)]
    assert post(api, INGEST, "fs-big", as_alice(batch(*events))).status_code == 200

    export = api.get("/file-sessions/fs-big/export?format=csv", ALICE)
    assert export.status_code == 302 and export.headers["Cache-Control"] == "no-store"
    obj = fetch_presigned(export.headers["Location"])
    assert obj["ContentType"] == "text/csv; charset=utf-8"
    assert obj["ContentDisposition"] == 'attachment; filename="file-session-fs-big.csv"'
    rows = list(csv.reader(io.StringIO(obj["Body"].read().decode(), newline="")))
    assert len(rows) == 101 and rows[1][CSV_COLUMNS.index("path")] == "/data/0000.bin"

    listed = api.get("/file-sessions/fs-big/events", ALICE)
    assert listed.status_code == 302
    assert len(json.loads(fetch_presigned(listed.headers["Location"])["Body"].read())["events"]) == 100

    session_id = api.post("/sessions", ALICE, {"protocol": "rdp", "connectionId": "c"}).json["sessionId"]
    flush = [{"elapsed": i + 0.25, "type": "move"} for i in range(200)]
    assert api.post(f"/sessions/{session_id}/recording/events", ALICE, flush).status_code == 200
    redirected = api.get(f"/sessions/{session_id}/recording/events", ALICE)
    assert redirected.status_code == 302
    parked = json.loads(fetch_presigned(redirected.headers["Location"])["Body"].read())
    assert parked["events"][0] == {"elapsed": 0.25, "event_type": "move"} and len(parked["events"]) == 200
    # small answers stay inline, and rights are checked before anything is parked
    assert api.get("/file-sessions/fs-big/export", BOB).status_code == 404
    assert api.get(f"/sessions/{session_id}/commands", ALICE).json == {"commands": []}
