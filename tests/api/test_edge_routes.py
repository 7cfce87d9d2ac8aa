"""The HTTP edge through the whole app (in process): JSON needs its Content-Type, cookie-only changes from other
sites are refused, lone surrogates are stored as U+FFFD, audit answers are not cached, CSV cells are all quoted,
the test page stays local, and the pages' policy names the bucket's own origin. (Issue 15.)"""

from __future__ import annotations

import csv
import io
import json

import pytest

from chalicelib.settings import get_settings
from tests.support.clients import make_token

ALICE = make_token("alice")
ADMIN = make_token("admin", role="admin")
INGEST = make_token("gateway", role="service", permissions=["sessions.ingest"])
# alice's, as the gateway's file browser sends it (file events need sessions.ingest)
FILE_BATCH = {"protocol": "sftp", "connectionId": "c-1", "userId": "alice", "username": "alice",
              "events": [{"action": "upload", "path": "/a"}]}


def started(api, token=ALICE, protocol="ssh"):
    response = api.post("/sessions", token, {"protocol": protocol, "connectionId": "c-1"})
    assert response.status_code == 200 and response.json["sessionId"], response.body
    return response.json["sessionId"]


def json_routes(session_id):
    """(method, path, valid body) of every route that takes a JSON body."""
    return [
        ("POST", "/sessions", {"protocol": "ssh", "connectionId": "c-1"}),
        ("POST", "/sessions/rdp-session", {"connectionId": "c-1"}),
        ("PUT", "/settings/recording", {"enabled": True}),
        ("PUT", "/connections/c-1", {"name": "one"}),
        ("POST", f"/sessions/{session_id}/commands", [{"elapsed": 1, "command": "ls"}]),
        ("POST", f"/sessions/{session_id}/recording/events", [{"elapsed": 1, "type": "key"}]),
        ("POST", "/file-sessions/fs-ct/events", FILE_BATCH),
    ]


def test_every_json_route_refuses_a_body_without_content_type(api, recording_on):
    session_id = started(api, ADMIN)
    for method, path, body in json_routes(session_id):
        bare = api.call(method, path, ADMIN, body, content_type=None)
        assert bare.status_code == 415, (path, bare.body)
        assert bare.json == {"error": "Content-Type must be application/json"}
        assert api.call(method, path, ADMIN, body).status_code == 200, path  # the control


def test_finalize_refuses_text_plain_and_takes_the_recorders_bodiless_post(api, recording_on):
    session_id = started(api, ALICE, "rdp")
    assert api.post(f"/sessions/{session_id}/recording/chunk", ALICE, b"\x1a\x45\xdf\xa3x",
                    content_type="application/octet-stream").status_code == 200
    refused = api.post(f"/sessions/{session_id}/recording/finalize", ALICE, "x", content_type="text/plain")
    assert refused.status_code == 415 and "error" in refused.json
    cookie = {"Cookie": f"gatwy_token={ALICE}", "Sec-Fetch-Site": "same-origin"}
    done = api.post(f"/sessions/{session_id}/recording/finalize", None, None, content_type=None, headers=cookie)
    assert done.status_code == 200 and done.json["recordingState"] == "complete", done.body


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}])
def test_a_cookie_only_change_from_another_site_is_403_and_stores_nothing(api, recording_on, headers):
    # input events of alice's RDP session: what her browser's recorder posts with her cookie
    session_id = started(api, ALICE, "rdp")
    cookie = {"Cookie": f"gatwy_token={ALICE}", **headers}
    refused = api.post(f"/sessions/{session_id}/recording/events", None, [{"elapsed": 1, "type": "key"}],
                       headers=cookie)
    assert refused.status_code == 403 and refused.json["error"].startswith("a cookie-authenticated change")
    assert api.get(f"/sessions/{session_id}/recording/events", ALICE).json["events"] == []
    # the same request with the bearer token (a page cannot add one to a forged request) is taken
    assert api.post(f"/sessions/{session_id}/recording/events", ALICE, [{"elapsed": 1, "type": "click"}],
                    headers=headers).status_code == 200
    # reads with the cookie are not checked: the browser's same-origin policy keeps their answers from the site
    assert api.get(f"/sessions/{session_id}/recording/events", None, headers=cookie).status_code == 200


def test_lone_surrogates_are_stored_as_the_replacement_character(api, admin, recording_on):
    session_id = started(api, ALICE)
    raw = b'[{"elapsed": 1, "command": "ls \\ud800", "output_preview": "\\udfff cut"}]'
    assert api.post(f"/sessions/{session_id}/commands", INGEST, raw).status_code == 200  # the SSH proxy's
    command = api.get(f"/sessions/{session_id}/commands", ALICE).json["commands"][0]
    assert (command["command"], command["output_preview"]) == ("ls \ufffd", "\ufffd cut")

    files = (b'{"protocol": "smb", "connectionId": "c-1", "userId": "alice", "events": [{"action": "rename", '
             b'"path": "/a\\ud800", "detail": {"to": "/b\\udbff"}}]}')
    assert api.post("/file-sessions/fs-sur/events", INGEST, files).status_code == 200
    event = api.get("/file-sessions/fs-sur/events", ALICE).json["events"][0]
    assert (event["path"], event["detail"]) == ("/a\ufffd", {"to": "/b\ufffd"})

    named = api.put("/connections/c-sur", admin, b'{"name": "web \\ud800"}')
    assert named.status_code == 200 and named.json["name"] == "web \ufffd"

    on_behalf = b'{"protocol": "ssh", "connectionId": "c-1", "userId": "bob", "username": "b\\ud800b"}'
    made = api.post("/sessions", INGEST, on_behalf)
    assert made.status_code == 200, made.body
    assert api.get(f"/sessions/{made.json['sessionId']}", admin).json["username"] == "b\ufffdb"


def test_a_token_whose_user_id_is_too_long_is_401(api):
    response = api.get("/sessions", make_token("x" * 129))
    assert response.status_code == 401 and "userId" in response.json["error"]


def test_answers_of_token_routes_are_never_stored(api, admin, recording_on):
    session_id = started(api, ALICE)
    assert api.post("/file-sessions/fs-cache/events", INGEST, FILE_BATCH).status_code == 200
    for path in (f"/sessions/{session_id}/commands", f"/sessions/{session_id}/recording/events",
                 "/file-sessions/fs-cache/events", "/file-sessions/fs-cache/export?format=json",
                 "/file-sessions/fs-cache/export?format=csv", "/access-log", "/sessions", "/file-sessions",
                 f"/sessions/{session_id}"):
        response = api.get(path, admin)
        assert response.status_code == 200, (path, response.body)
        assert response.headers["Cache-Control"] == "no-store", path
    assert api.get("/sessions", None).headers["Cache-Control"] == "no-store"  # errors too
    assert api.get("/viewer/viewer.js", content_type=None).headers["Cache-Control"] == "no-cache"  # public: as was


def test_csv_exports_quote_every_cell(api):
    batch = {**FILE_BATCH, "events": [{"action": "upload", "path": "x;=1+1", "detail": "12"}]}
    assert api.post("/file-sessions/fs-csv/events", INGEST, batch).status_code == 200
    text = api.get("/file-sessions/fs-csv/export?format=csv", ALICE).body.decode()
    header, row = text.split("\r\n")[:2]
    assert header.startswith('"session_id","connection",')
    assert '"x;=1+1"' in row and ',"12"' in row and row.startswith('"fs-csv",')
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1][rows[0].index("path")] == "x;=1+1"
    assert all(cell.startswith('"') and cell.endswith('"') for cell in row.split(","))


@pytest.mark.parametrize("name", ["browser-check.html", "browser-check.js"])
def test_the_test_page_is_served_only_where_the_local_stack_asks(api, monkeypatch, name):
    hidden = api.get(f"/viewer/{name}", content_type=None)
    assert hidden.status_code == 404 and hidden.json == {"error": "no such file"}
    monkeypatch.setenv("SERVE_TEST_PAGES", "1")
    get_settings.cache_clear()
    assert api.get(f"/viewer/{name}", content_type=None).status_code == 200


def test_the_pages_policy_names_the_buckets_own_origin(api):
    policy = api.get("/", content_type=None).headers["Content-Security-Policy"]
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    bucket = get_settings().bucket_name
    assert directives["connect-src"] == f"'self' https://{bucket}.s3.amazonaws.com"
    assert directives["media-src"] == f"'self' blob: https://{bucket}.s3.amazonaws.com"
    assert "*" not in policy


def test_the_policy_follows_the_s3_endpoint(api, monkeypatch):
    from chalicelib import aws, container

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4566")
    monkeypatch.setenv("S3_ADDRESSING_STYLE", "path")
    get_settings.cache_clear()
    aws.reset()
    container.use(None)
    policy = api.get("/", content_type=None).headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:4566;" in policy
    assert json.dumps(policy)  # a plain string header
