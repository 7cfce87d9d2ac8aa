"""Bugs the fuzzer (tests/http/test_fuzz.py) found, each pinned by a fast in-process test."""

from __future__ import annotations

import jsonschema
import yaml

from tests import hostile
from tests.conftest import ROOT, make_token

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
    # found by negative fuzzing of GET /sessions: `?to=` was answered 200 while the document called it invalid
    response = api.get("/sessions?page=&limit=&cursor=&userId=&protocol=&from=&to=", admin)
    assert response.status_code == 200
    assert (response.json["page"], response.json["limit"]) == (1, 25)
    listing = hostile.operations(DOC)
    (entry,) = [op for op in listing if op.label == "GET /sessions"]
    parameters = [DOC["components"]["parameters"][p["$ref"].split("/")[-1]] if "$ref" in p else p
                  for p in entry.spec["parameters"]]
    assert all(p.get("allowEmptyValue") for p in parameters if p["in"] == "query")
