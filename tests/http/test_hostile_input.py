"""Hand-picked hostile input the generators rarely reach, against the real local stack, for every documented
operation it applies to: forged and broken tokens, wrong content types, non-UTF-8 and oversized bodies, deep
nesting, huge and negative numbers, ids with '/', '..', NUL and unicode.

Every answer must keep the service's rules (tests/support/hostile.py answer_problems: no 5xx, status documented, errors
JSON with an `error` string) and land in the expected class (401, 415, 400...).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support import hostile
from tests.support.clients import ROOT, make_token
from tests.support.sessions import start_session_http

DOC = ROOT / "docs" / "openapi.yaml"
OPERATIONS = hostile.operations(hostile.load_document(DOC))
SECURED = [op for op in OPERATIONS if op.secured]
JSON_BODIED = [op for op in OPERATIONS if op.takes_json]
RAW_BODIED = [op for op in OPERATIONS if op.takes_raw]
WITH_PATH_IDS = [op for op in OPERATIONS if "{" in op.path]
ids = [op.label for op in OPERATIONS]

# A valid body per operation that takes one (aimed at the `records` fixture's records); a new JSON route needs its
# entry (a test below insists).
VALID_BODIES: dict[str, Any] = {
    "POST /sessions": {"protocol": "ssh", "connectionId": "hostile-c1"},
    "POST /sessions/rdp-session": {"connectionId": "hostile-c1"},
    "PUT /settings/recording": {"enabled": True},
    "PUT /connections/{connection_id}": {"name": "hostile"},
    "POST /sessions/{session_id}/commands": [{"elapsed": 1.5, "command": "ls -la", "output_preview": "total 0"}],
    "POST /sessions/{session_id}/recording/events": [{"elapsed": 0.25, "type": "click"}],
    "POST /file-sessions/{session_id}/events": {"protocol": "sftp", "connectionId": "hostile-c1",
                                                "events": [{"action": "upload", "path": "/tmp/a.txt"}]},
}

# A valid raw body per operation whose body is raw bytes (hostile.Operation.takes_raw), good in each of its documented
# media types; a new raw-body route needs its entry (a test below insists).
RAW_BODIES: dict[str, bytes] = {
    "POST /sessions/{session_id}/recording/chunk": b"\x1a\x45\xdf\xa3hostile chunk",
}
# Operations that ignore any body, by the Content-Types they let through (Chalice refuses the rest with a 415).
# Their documents describe no body (so the fuzzer sends none); what they accept is in the entry's description.
IGNORED_BODIES: dict[str, tuple[str, ...]] = {
    "POST /sessions/{session_id}/recording/finalize": ("application/json", "application/octet-stream"),
}

# Literal "." and ".." are left out on purpose: every HTTP client (and the gateway) folds them away before the app
# sees the path; their percent-encoded forms do reach it. A raw ";" likewise: chalice local alone cuts the path there.
HOSTILE_IDS = ["a%2Fb", "%2F", "%2e%2e", "%2e", "a%00b", "%00", "%C3%BC", "%F0%9F%92%A9", "%FF%FE", "a%20b",
               "x" * 129, "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%25", "a%3Bb", "a%3Fb=c"]


@pytest.fixture(scope="module")
def admin(stack) -> Iterator[dict[str, str]]:
    headers = {"Authorization": f"Bearer {make_token('hostile-admin', role='admin')}"}
    before = requests.get(f"{stack.base}/settings/recording", headers=headers, timeout=10).json()
    yield headers
    requests.put(f"{stack.base}/settings/recording", json=before, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def records(stack, admin) -> dict[str, str]:
    """{kind: id} of records the admin owns (hostile.PATH_ID_KINDS), so valid requests get past "not found"."""
    base = stack.base
    assert requests.put(f"{base}/settings/recording", json={"enabled": True}, headers=admin, timeout=10).ok
    session = requests.post(f"{base}/sessions", json={"protocol": "ssh", "connectionId": "hostile-c1"},
                            headers=admin, timeout=10).json()["sessionId"]
    batch = VALID_BODIES["POST /file-sessions/{session_id}/events"]
    assert requests.post(f"{base}/file-sessions/hostile-files/events", json=batch, headers=admin, timeout=10).ok
    return {"session": session, "file_session": "hostile-files", "connection": "hostile-c1"}


def target(operation: hostile.Operation, records: dict[str, str]) -> str:
    return hostile.filled(operation.path, hostile.known_path_values(operation.path, records))


def valid_request(operation: hostile.Operation) -> tuple[bytes, dict[str, str]]:
    """A valid body for `operation` and its Content-Type header (none for an operation without a body)."""
    if operation.takes_json:
        return json.dumps(VALID_BODIES[operation.label]).encode(), {"Content-Type": "application/json"}
    if operation.takes_raw:
        return RAW_BODIES[operation.label], {"Content-Type": operation.body_media[0]}
    return b"", {}


def new_session(stack, admin: dict[str, str], protocol: str = "rdp") -> str:
    """A session of the admin's whose recording is open, for tests that write into or close one (ask for the
    `records` fixture too: it turns recording on)."""
    return start_session_http(stack.base, admin, protocol, "hostile-c1")


def oversized(valid: Any) -> Any:
    """`valid` with a 3 MB string in every text field (for an array, in its entries): beyond any documented length."""
    big = "x" * 3_000_000
    if isinstance(valid, list):
        return [{**entry, **{k: big for k, v in entry.items() if isinstance(v, str)}} for entry in valid]
    return {**valid, "name": big, "username": big}


def send(stack, operation: hostile.Operation, path: str | None = None, body: bytes = b"",
         headers: dict[str, str | bytes] | None = None) -> requests.Response:
    return requests.request(operation.method, stack.base + (path or hostile.filled(operation.path, {})),
                            data=body or None, headers=headers or {}, timeout=30)


def problems(operation: hostile.Operation, response: requests.Response) -> list[str]:
    return hostile.answer_problems(operation, response.status_code, response.headers.get("content-type"),
                                   response.content)


def test_every_json_operation_has_a_valid_body_here():
    assert {op.label for op in JSON_BODIED} == set(VALID_BODIES)


def test_every_raw_body_operation_has_a_valid_body_here():
    assert {op.label for op in RAW_BODIED} == set(RAW_BODIES)
    assert set(IGNORED_BODIES) <= {op.label for op in OPERATIONS if not op.body_media}


def test_hostile_tokens_are_401_json_on_every_secured_operation(stack):
    tokens = hostile.hostile_tokens(stack.secret)
    failures = hostile.hostile_token_failures(hostile.http_sender(stack.base), SECURED, tokens)
    assert failures == []


def test_a_valid_token_passes_where_the_hostile_ones_do_not(stack):
    # the control: the same requests with a good token are not 401, so the 401s above are about the tokens
    good = {"good": make_token("hostile-admin", role="admin")}
    failures = hostile.hostile_token_failures(hostile.http_sender(stack.base), SECURED, good)
    assert len(failures) == 2 * len(SECURED)
    assert all("not 401" in failure for failure in failures)


@pytest.mark.parametrize("operation", JSON_BODIED, ids=lambda op: op.label)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml",
                                          "application/octet-stream", "application/jsonx", "json"])
def test_wrong_content_type_is_415(stack, admin, records, operation, content_type):
    body = json.dumps(VALID_BODIES[operation.label]).encode()
    response = send(stack, operation, path=target(operation, records), body=body,
                    headers={**admin, "Content-Type": content_type})
    assert problems(operation, response) == []
    assert response.status_code == 415


@pytest.mark.parametrize("operation", RAW_BODIED, ids=lambda op: op.label)
def test_raw_bodies_are_taken_in_each_documented_content_type(stack, admin, records, operation):
    # the control for the 415s below: each documented type (with parameters, as MediaRecorder names them) is a 200
    path = hostile.filled(operation.path, {"session_id": new_session(stack, admin)})
    for media in [*operation.body_media, f"{operation.body_media[0]}; codecs=vp9"]:
        response = send(stack, operation, path=path, body=RAW_BODIES[operation.label],
                        headers={**admin, "Content-Type": media})
        assert problems(operation, response) == []
        assert response.status_code == 200, (media, response.text)


@pytest.mark.parametrize("operation", RAW_BODIED, ids=lambda op: op.label)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml", "video/mp4",
                                          "video/webmx", "application/octet-streamx", "octet-stream", None])
def test_wrong_content_type_is_415_on_raw_bodies(stack, admin, records, operation, content_type):
    headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
    response = send(stack, operation, path=target(operation, records), body=RAW_BODIES[operation.label],
                    headers=headers)
    assert problems(operation, response) == []
    assert response.status_code == 415, response.text


@pytest.mark.parametrize("operation", RAW_BODIED, ids=lambda op: op.label)
def test_oversized_raw_bodies_are_413(stack, admin, records, operation):
    # the documented maxLength is the limit: exactly that many bytes are taken, one more is a 413 JSON error
    limit = operation.spec["requestBody"]["content"][operation.body_media[0]]["schema"]["maxLength"]
    path = hostile.filled(operation.path, {"session_id": new_session(stack, admin)})
    headers = {**admin, "Content-Type": operation.body_media[0]}
    for size in (limit + 1, 5_000_000):
        response = send(stack, operation, path=path, body=b"x" * size, headers=headers)
        assert problems(operation, response) == []
        assert response.status_code == 413, (size, response.text)
    response = send(stack, operation, path=path, body=b"x" * limit, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op.label in IGNORED_BODIES], ids=lambda op: op.label)
def test_ignored_bodies_pass_in_their_content_types_only(stack, admin, records, operation):
    refused = ["application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
               "video/webm", "image/png", "text/plain"]
    open_one = hostile.filled(operation.path, {"session_id": new_session(stack, admin)})
    for content_type in refused:
        response = send(stack, operation, path=open_one, body=b"<whatever/>",
                        headers={**admin, "Content-Type": content_type})
        assert problems(operation, response) == []
        assert response.status_code == 415, (content_type, response.text)
    for content_type in (*IGNORED_BODIES[operation.label], None):
        path = hostile.filled(operation.path, {"session_id": new_session(stack, admin)})
        headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
        response = send(stack, operation, path=path, body=b"{not json at all", headers=headers)
        assert problems(operation, response) == []
        assert response.status_code == 200, (content_type, response.text)


HEADER_INTEGERS = ["-1", "1e3", "0x10", "1.0", "+1", "1,2", "1 2", "one", "NaN", "", "9" * 20,
                   "\uff11", "\u0661"]  # the last two: a fullwidth 1 and an Arabic-Indic 1 (UTF-8 on the wire)


def integer_headers(operation: hostile.Operation) -> list[tuple[str, int]]:
    """(name, maximum) of each integer header parameter the operation documents."""
    return [(p["name"], p["schema"]["maximum"]) for p in operation.spec.get("parameters", [])
            if p.get("in") == "header" and p.get("schema", {}).get("type") == "integer"]


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if integer_headers(op)], ids=lambda op: op.label)
def test_bad_integer_headers_are_400(stack, admin, records, operation):
    body, content = valid_request(operation)
    path = hostile.filled(operation.path, {"session_id": new_session(stack, admin)})
    for name, maximum in integer_headers(operation):
        for value in [*HEADER_INTEGERS, str(maximum + 1)]:
            # as UTF-8 bytes: requests would refuse a non-Latin-1 str, and a hostile caller need not
            response = send(stack, operation, path=path, body=body,
                            headers={**admin, **content, name: value.encode()})
            assert problems(operation, response) == []
            assert response.status_code == 400, (name, value, response.text)


HOSTILE_BODIES = {
    "non-utf8": b'{"name": "\xff\xfe\xfa"}',
    "utf16": json.dumps({"connectionId": "c"}).encode("utf-16"),
    "latin1-bom": b"\xef\xbb" + b'{"a": 1}',
    "nul-bytes": b'{"connectionId": "a\x00b"}',
    "truncated": b'{"connectionId": "c',
    "deep-array": b"[" * 100_000,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "huge-integer": b'{"retentionDays": ' + b"9" * 5000 + b"}",
    "nan": b'{"retentionDays": NaN, "maxTotalBytes": Infinity}',
    "array": b"[1, 2, 3]",
    "string": b'"hello"',
    "null": b"null",
    "empty": b"",
    "whitespace": b"   \n\t ",
}


@pytest.mark.parametrize("operation", JSON_BODIED, ids=lambda op: op.label)
@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_malformed_json_bodies_are_400(stack, admin, records, operation, name):
    response = send(stack, operation, path=target(operation, records), body=HOSTILE_BODIES[name],
                    headers={**admin, "Content-Type": "application/json"})
    assert problems(operation, response) == []
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("operation", JSON_BODIED, ids=lambda op: op.label)
def test_oversized_bodies_are_refused_or_harmless(stack, admin, records, operation):
    valid = VALID_BODIES[operation.label]
    big_field = json.dumps(oversized(valid)).encode()
    padded = json.dumps(valid).encode() + b" " * 5_000_000  # valid JSON, 5 MB of whitespace
    path = target(operation, records)
    for body in (big_field, padded):
        response = send(stack, operation, path=path, body=body, headers={**admin, "Content-Type": "application/json"})
        assert problems(operation, response) == []
        assert response.status_code in (200, 400, 413)
    # a field over its documented length is never stored
    assert send(stack, operation, path=path, body=big_field,
                headers={**admin, "Content-Type": "application/json"}).status_code in (400, 413)


NUMBERS = [-1, 0, -(2**63), 2**63, 2**64 + 1, 10**30, 1e308, -1e308, 1.5, "1", True, None]


@pytest.mark.parametrize("value", NUMBERS, ids=repr)
def test_out_of_range_numbers_in_bodies_are_400(stack, admin, value):
    operation = next(op for op in OPERATIONS if op.label == "PUT /settings/recording")
    for name in ("retentionDays", "maxTotalBytes", "minRetentionDays", "maxUserBytesPerDay"):
        if name in ("maxTotalBytes", "maxUserBytesPerDay") and value is None:
            continue  # null is how the document says "no limit"
        if name == "minRetentionDays" and value == 0:
            continue  # 0 is a floor of none (docs/purge-retention.md)
        response = send(stack, operation, body=json.dumps({name: value}).encode(),
                        headers={**admin, "Content-Type": "application/json"})
        assert problems(operation, response) == []
        assert response.status_code == 400, (name, value, response.text)


QUERY_NUMBERS = ["-1", "0", "99999999999999999999", "1e3", "0x10", "1.0", " 1", "+1", "%00", "%FF", "", "NaN",
                 "1" * 5000, "%EF%BC%95", "%D9%A1"]  # the last two: a fullwidth 5 and an Arabic-Indic 1


@pytest.mark.parametrize("value", QUERY_NUMBERS)
def test_bad_page_and_limit_are_400(stack, admin, value):
    operation = next(op for op in OPERATIONS if op.label == "GET /sessions")
    for name in ("page", "limit"):
        response = send(stack, operation, path=f"/sessions?{name}={value}", headers=admin)
        assert problems(operation, response) == []
        assert response.status_code == (200 if value == "" else 400), (name, value, response.text)


@pytest.mark.parametrize("operation", WITH_PATH_IDS, ids=lambda op: op.label)
def test_hostile_ids_in_paths_are_400(stack, admin, operation):
    body, content = valid_request(operation)
    for hostile_id in HOSTILE_IDS:
        path = hostile.filled(operation.path, {}, default=hostile_id)
        response = send(stack, operation, path=path, body=body, headers={**admin, **content})
        assert problems(operation, response) == [], hostile_id
        assert response.status_code == 400, (hostile_id, response.text)


@pytest.mark.parametrize("value", [*HOSTILE_IDS, "..", ".", "a/b", "../admin"])
def test_hostile_ids_in_query_and_body_are_400(stack, admin, records, value):
    for path in ("/sessions", "/file-sessions"):
        listing = next(op for op in OPERATIONS if op.label == f"GET {path}")
        response = send(stack, listing, path=f"{path}?userId={value}", headers=admin)
        assert problems(listing, response) == []
        assert response.status_code == 400
    decoded = requests.utils.unquote(value)
    headers = {**admin, "Content-Type": "application/json"}
    start = next(op for op in OPERATIONS if op.label == "POST /sessions")
    file_batch = next(op for op in OPERATIONS if op.label == "POST /file-sessions/{session_id}/events")
    valid_batch = VALID_BODIES[file_batch.label]
    for operation, body in ((start, {"protocol": "ssh", "connectionId": decoded}),
                            (start, {"protocol": "ssh", "connectionId": "c", "userId": decoded}),
                            (file_batch, {**valid_batch, "connectionId": decoded}),
                            (file_batch, {**valid_batch, "userId": decoded})):
        response = send(stack, operation, path=target(operation, records), body=json.dumps(body).encode(),
                        headers=headers)
        assert problems(operation, response) == []
        assert response.status_code == 400, (operation.label, body, response.text)
