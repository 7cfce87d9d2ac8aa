"""Bugs the fuzzer (tests/http/test_fuzz.py) found, each pinned by a fast in-process test."""

from __future__ import annotations

import jsonschema
import yaml

from chalicelib.api import params
from chalicelib.errors import BadRequest
from tests.support import hostile
from tests.support.clients import ROOT, make_token

DOC = hostile.load_document(ROOT / "docs" / "openapi.yaml")


def test_a_malformed_username_is_refused_even_when_no_user_id_is_named(api):
    # found by negative fuzzing of POST /sessions: a 300-character username was silently dropped with a 200
    for path, body in (("/sessions", {"protocol": "ssh", "connectionId": "c1"}),
                       ("/sessions/rdp-session", {"connectionId": "c1"})):
        for username in ("u" * 257, "", 42):
            response = api.post(path, make_token("alice"), {**body, "username": username})
            assert response.status_code == 400, (path, username, response.body)
            assert "username" in response.json["error"]


def test_a_well_formed_username_without_user_id_is_still_accepted(api, recording_on):
    response = api.post("/sessions", make_token("alice"), {"protocol": "ssh", "connectionId": "c1", "username": "A"})
    assert response.status_code == 200
    assert api.get(f"/sessions/{response.json['sessionId']}", make_token("alice")).json["userId"] == "alice"


def test_the_served_document_conforms_to_its_own_entry(api):
    # found by positive fuzzing of GET /openapi.yaml: its entry promised a string, the YAML is an object
    entry = DOC["paths"]["/openapi.yaml"]["get"]["responses"]["200"]["content"]["application/yaml"]["schema"]
    response = api.get("/openapi.yaml", content_type=None)
    jsonschema.validate(yaml.safe_load(response.body), entry)


def test_deeply_nested_json_is_a_400_not_a_crash(api, admin):
    # found by tests/http/test_hostile_input.py: json.loads raised RecursionError, answered as a 500
    for body in (b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        response = api.post("/sessions", admin, body)
        assert response.status_code == 400
        assert response.json == {"error": "body is nested too deeply"}


def test_empty_query_values_mean_not_given_and_the_document_says_so(api, admin):
    # found by negative fuzzing of GET /sessions: `?to=` was answered 200 while the document called it invalid;
    # then of GET /file-sessions (`?protocol=`) and GET /file-sessions/{id}/export (`?format=`, the default json)
    for path in ("/sessions", "/file-sessions"):
        response = api.get(f"{path}?page=&limit=&cursor=&userId=&protocol=&from=&to=", admin)
        assert response.status_code == 200
        assert (response.json["page"], response.json["limit"]) == (1, 25)
    batch = {"protocol": "sftp", "connectionId": "c1", "events": [{"action": "browse", "path": "/"}]}
    assert api.post("/file-sessions/fs-1/events", admin, batch).status_code == 200
    exported = api.get("/file-sessions/fs-1/export?format=", admin)
    assert exported.status_code == 200 and exported.json["session"]["id"] == "fs-1"
    for label in ("GET /sessions", "GET /file-sessions", "GET /file-sessions/{session_id}/export"):
        (entry,) = [op for op in hostile.operations(DOC) if op.label == label]
        parameters = [DOC["components"]["parameters"][p["$ref"].split("/")[-1]] if "$ref" in p else p
                      for p in entry.spec["parameters"]]
        assert all(p.get("allowEmptyValue") for p in parameters if p["in"] == "query"), label


def test_the_documents_id_pattern_is_the_apps_rule():
    # found by positive fuzzing of POST /file-sessions/{id}/events: connectionId "." matched the document's
    # pattern but is refused (ids of only dots cannot be path segments); the document's Id now says so
    schema = DOC["components"]["schemas"]["Id"]
    for value in ("a", "sess_1", "a.b", ".a", "a.", "-", "_", "x" * 128, ".", "..", "...", "", "x" * 129,
                  "a/b", "a b", "ü", "a\x00"):
        try:
            params.valid_id(value)
            valid = True
        except BadRequest:
            valid = False
        try:
            jsonschema.validate(value, schema)
            documented = True
        except jsonschema.ValidationError:
            documented = False
        assert valid == documented, value


def test_times_before_year_1000_keep_four_year_digits_and_their_order(api, admin, recording_on):
    # found by positive fuzzing of GET /sessions/{id}/commands and /file-sessions/{id}/events: a timestamp of year
    # 836 came back "836-08-30T...", not a date-time, and sorted after "2024-..." in the list indexes
    date_time = jsonschema.FormatChecker()
    session_id = api.post("/sessions", admin, {"protocol": "ssh", "connectionId": "c1"}).json["sessionId"]
    sent = [{"elapsed": 1, "command": "ls", "timestamp": "0836-08-30T22:20:30.515Z"}]
    assert api.post(f"/sessions/{session_id}/commands", admin, sent).status_code == 200
    (command,) = api.get(f"/sessions/{session_id}/commands", admin).json["commands"]
    assert command["timestamp"] == "0836-08-30T22:20:30.515Z"

    for file_session, timestamp in (("fs-old", "0027-03-12T05:47:21+00:00"), ("fs-new", "2024-01-01T00:00:00Z")):
        batch = {"protocol": "sftp", "connectionId": "c1",
                 "events": [{"action": "browse", "path": "/", "timestamp": timestamp}]}
        assert api.post(f"/file-sessions/{file_session}/events", admin, batch).status_code == 200
    (event,) = api.get("/file-sessions/fs-old/events", admin).json["events"]
    assert event["timestamp"] == "0027-03-12T05:47:21.000Z"
    assert date_time.conforms(event["timestamp"], "date-time")
    listed = api.get("/file-sessions", admin).json["sessions"]
    assert [s["id"] for s in listed] == ["fs-new", "fs-old"]  # newest first
    assert all(date_time.conforms(s[name], "date-time") for s in listed for name in ("startedAt", "endedAt"))
    before_1000 = api.get("/file-sessions?to=1000-01-01T00:00:00Z", admin).json["sessions"]
    assert [s["id"] for s in before_1000] == ["fs-old"]


def test_integer_ids_in_bodies_are_read_as_text_and_the_document_says_so(api, admin, recording_on):
    # found by negative fuzzing of POST /sessions/rdp-session: {"connectionId": 0, "userId": 0} was a 200 while the
    # document allowed only strings; the app reads an integer id as its decimal text (gateways number their rows)
    started = api.post("/sessions/rdp-session", admin, {"connectionId": 42, "userId": 7})
    assert started.status_code == 200
    session = api.get(f"/sessions/{started.json['sessionId']}", admin).json
    assert (session["connectionId"], session["userId"]) == ("42", "7")
    body_id = {"$ref": "#/components/schemas/BodyId", "components": DOC["components"]}
    for value in (42, 0, -1, "c1"):
        jsonschema.validate(value, body_id)
    for value in (True, 1.5, ".", None):
        assert api.post("/sessions/rdp-session", admin, {"connectionId": value}).status_code == 400
        assert not jsonschema.Draft4Validator(body_id).is_valid(value), value


def test_the_largest_storage_limit_is_documented(api, admin):
    # found by positive fuzzing of PUT /settings/recording: maxTotalBytes 7e26 is refused (the app stores a 64-bit
    # count) while the document set no maximum
    documented = DOC["components"]["schemas"]["RecordingSettings"]["properties"]["maxTotalBytes"]["maximum"]
    assert api.put("/settings/recording", admin, {"maxTotalBytes": documented}).status_code == 200
    assert api.put("/settings/recording", admin, {"maxTotalBytes": documented + 1}).status_code == 400


def _completed_recording(api, admin, body: bytes = b"webm bytes") -> str:
    session_id = api.post("/sessions", admin, {"protocol": "rdp", "connectionId": "c1"}).json["sessionId"]
    chunk = api.post(f"/sessions/{session_id}/recording/chunk", admin, body, content_type="application/octet-stream")
    assert chunk.status_code == 200, chunk.body
    assert api.post(f"/sessions/{session_id}/recording/finalize", admin, None).json["recordingState"] == "complete"
    return session_id


def test_playback_flags_outside_the_documented_values_are_400(api, admin, recording_on):
    # found checking the fuzz findings on GET /sessions/{id}/recording: `?download=yes` and `?redirect=no` violate
    # the document's enums but were a 302 (silently read as "no download", "redirect"), and `redirect=0` worked
    # while undocumented. Now each flag is true/1 or false/0 (empty: the default), else 400, as documented.
    session_id = _completed_recording(api, admin)
    path = f"/sessions/{session_id}/recording"
    for query in ("download=yes", "redirect=no", "download=TRUE", "redirect=", "redirect=false&download=2"):
        response = api.get(f"{path}?{query}", admin)
        if query == "redirect=":
            assert response.status_code == 302, query  # empty is "not given"
            continue
        assert response.status_code == 400, (query, response.body)
        assert response.json["error"].split()[0] in ("download", "redirect")
    assert api.get(f"{path}?redirect=0", admin).status_code == 200
    assert api.get(f"{path}?redirect=1", admin).status_code == 302
    assert "response-content-disposition" in api.get(f"{path}?download=true", admin).headers["Location"]
    assert "response-content-disposition" not in api.get(f"{path}?download=0", admin).headers["Location"]
    (entry,) = [op for op in hostile.operations(DOC) if op.label == "GET /sessions/{session_id}/recording"]
    for parameter in (p for p in entry.spec["parameters"] if p.get("in") == "query"):
        assert set(parameter["schema"]["enum"]) == {"true", "1", "false", "0"}, parameter["name"]
        assert parameter["allowEmptyValue"] is True


def test_recording_routes_document_their_400s_and_the_finalize_415(api, admin, recording_on):
    # found by negative fuzzing of POST /sessions/{id}/recording/finalize and GET /sessions/{id}/recording: a
    # malformed id is a 400 (as on every route), which neither entry listed; finalize refuses a Content-Type
    # outside json/octet-stream/text (Chalice's 415), which its entry did not list either. The document was wrong.
    (finalize,) = [op for op in hostile.operations(DOC) if op.label == "POST /sessions/{session_id}/recording/finalize"]
    (playback,) = [op for op in hostile.operations(DOC) if op.label == "GET /sessions/{session_id}/recording"]
    assert api.post("/sessions/a%2Cb/recording/finalize", admin, None).status_code == 400
    assert api.get("/sessions/a%2Cb/recording", admin).status_code == 400
    assert finalize.documents(400) and playback.documents(400)
    session_id = _completed_recording(api, admin)
    for refused_type in ("application/xml", "text/plain"):  # text/plain: a page of any site may send it unasked
        refused = api.post(f"/sessions/{session_id}/recording/finalize", admin, b"<x/>", content_type=refused_type)
        assert refused.status_code == 415 and refused.json["error"]
    assert finalize.documents(415)
    for content_type in ("application/json", "application/octet-stream", None):
        assert api.post(f"/sessions/{session_id}/recording/finalize", admin, b"ignored",
                        content_type=content_type).status_code == 200, content_type


def test_numbers_in_queries_and_headers_are_ascii_digits(api, admin, recording_on):
    # found by tests/http/test_hostile_input.py: `\d` also matches non-ASCII digits, so `?limit=` U+FF15 (fullwidth 5,
    # sent as %EF%BC%95) listed 5 sessions and `X-Chunk-Index:` U+FF11 stored chunk 1; the document says integer
    for name in ("page", "limit"):
        response = api.get(f"/sessions?{name}=%EF%BC%95", admin)
        assert response.status_code == 400, (name, response.body)
        assert name in response.json["error"]
    assert api.get("/sessions?limit=5", admin).json["limit"] == 5
    session_id = api.post("/sessions", admin, {"protocol": "rdp", "connectionId": "c1"}).json["sessionId"]
    path = f"/sessions/{session_id}/recording/chunk"
    for index in ("\uff11", "\u0661", "\u00b9"):  # fullwidth one, Arabic-Indic one, superscript one
        response = api.post(path, admin, b"x", content_type="application/octet-stream",
                            headers={"X-Chunk-Index": index})
        assert response.status_code == 400, (index, response.body)
    assert api.post(path, admin, b"x", content_type="application/octet-stream",
                    headers={"X-Chunk-Index": "1"}).status_code == 200
