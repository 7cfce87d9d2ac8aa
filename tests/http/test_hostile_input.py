"""Hand-picked hostile input the generators rarely reach, against the real local stack, for every documented
operation it applies to: forged and broken tokens, wrong content types, non-UTF-8 and oversized bodies, deep
nesting, huge and negative numbers, ids with '/', '..', NUL and unicode.

Every answer must keep the service's rules (tests/hostile.py answer_problems: no 5xx, status documented, errors
JSON with an `error` string) and land in the expected class (401, 415, 400...).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests import hostile
from tests.conftest import ROOT, make_token

DOC = ROOT / "docs" / "openapi.yaml"
OPERATIONS = hostile.operations(hostile.load_document(DOC))
SECURED = [op for op in OPERATIONS if op.secured]
JSON_BODIED = [op for op in OPERATIONS if op.takes_json]
WITH_PATH_IDS = [op for op in OPERATIONS if "{" in op.path]
ids = [op.label for op in OPERATIONS]

# A valid body per operation that takes one; a new JSON route needs its entry (a test below insists).
VALID_BODIES: dict[str, dict] = {
    "POST /sessions": {"protocol": "ssh", "connectionId": "hostile-c1"},
    "POST /sessions/rdp-session": {"connectionId": "hostile-c1"},
    "PUT /settings/recording": {"enabled": True},
    "PUT /connections/{connection_id}": {"name": "hostile"},
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


def send(stack, operation: hostile.Operation, path: str | None = None, body: bytes = b"",
         headers: dict[str, str] | None = None) -> requests.Response:
    return requests.request(operation.method, stack.base + (path or hostile.filled(operation.path, {})),
                            data=body or None, headers=headers or {}, timeout=30)


def problems(operation: hostile.Operation, response: requests.Response) -> list[str]:
    return hostile.answer_problems(operation, response.status_code, response.headers.get("content-type"),
                                   response.content)


def test_every_json_operation_has_a_valid_body_here():
    assert {op.label for op in JSON_BODIED} == set(VALID_BODIES)


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
def test_wrong_content_type_is_415(stack, admin, operation, content_type):
    body = json.dumps(VALID_BODIES[operation.label]).encode()
    response = send(stack, operation, body=body, headers={**admin, "Content-Type": content_type})
    assert problems(operation, response) == []
    assert response.status_code == 415


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
def test_malformed_json_bodies_are_400(stack, admin, operation, name):
    response = send(stack, operation, body=HOSTILE_BODIES[name],
                    headers={**admin, "Content-Type": "application/json"})
    assert problems(operation, response) == []
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("operation", JSON_BODIED, ids=lambda op: op.label)
def test_oversized_bodies_are_refused_or_harmless(stack, admin, operation):
    valid = VALID_BODIES[operation.label]
    big_field = json.dumps({**valid, "name": "n" * 3_000_000, "username": "u" * 3_000_000}).encode()
    padded = json.dumps(valid).encode() + b" " * 5_000_000  # valid JSON, 5 MB of whitespace
    for body in (big_field, padded):
        response = send(stack, operation, body=body, headers={**admin, "Content-Type": "application/json"})
        assert problems(operation, response) == []
        assert response.status_code in (200, 400, 413)
    # a field over its documented length is never stored
    assert send(stack, operation, body=big_field,
                headers={**admin, "Content-Type": "application/json"}).status_code in (400, 413)


NUMBERS = [-1, 0, -(2**63), 2**63, 2**64 + 1, 10**30, 1e308, -1e308, 1.5, "1", True, None]


@pytest.mark.parametrize("value", NUMBERS, ids=repr)
def test_out_of_range_numbers_in_bodies_are_400(stack, admin, value):
    operation = next(op for op in OPERATIONS if op.label == "PUT /settings/recording")
    for name in ("retentionDays", "maxTotalBytes"):
        if name == "maxTotalBytes" and value is None:
            continue  # null is how the document says "no limit"
        response = send(stack, operation, body=json.dumps({name: value}).encode(),
                        headers={**admin, "Content-Type": "application/json"})
        assert problems(operation, response) == []
        assert response.status_code == 400, (name, value, response.text)


QUERY_NUMBERS = ["-1", "0", "99999999999999999999", "1e3", "0x10", "1.0", " 1", "+1", "%00", "%FF", "", "NaN",
                 "1" * 5000]


@pytest.mark.parametrize("value", QUERY_NUMBERS)
def test_bad_page_and_limit_are_400(stack, admin, value):
    operation = next(op for op in OPERATIONS if op.label == "GET /sessions")
    for name in ("page", "limit"):
        response = send(stack, operation, path=f"/sessions?{name}={value}", headers=admin)
        assert problems(operation, response) == []
        assert response.status_code == (200 if value == "" else 400), (name, value, response.text)


@pytest.mark.parametrize("operation", WITH_PATH_IDS, ids=lambda op: op.label)
def test_hostile_ids_in_paths_are_400(stack, admin, operation):
    body = json.dumps(VALID_BODIES.get(operation.label, {})).encode() if operation.takes_json else b""
    for hostile_id in HOSTILE_IDS:
        path = hostile.filled(operation.path, {}, default=hostile_id)
        response = send(stack, operation, path=path, body=body,
                        headers={**admin, "Content-Type": "application/json"})
        assert problems(operation, response) == [], hostile_id
        assert response.status_code == 400, (hostile_id, response.text)


@pytest.mark.parametrize("value", [*HOSTILE_IDS, "..", ".", "a/b", "../admin"])
def test_hostile_ids_in_query_and_body_are_400(stack, admin, value):
    listing = next(op for op in OPERATIONS if op.label == "GET /sessions")
    response = send(stack, listing, path=f"/sessions?userId={value}", headers=admin)
    assert problems(listing, response) == []
    assert response.status_code == 400
    start = next(op for op in OPERATIONS if op.label == "POST /sessions")
    decoded = requests.utils.unquote(value)
    headers = {**admin, "Content-Type": "application/json"}
    for body in ({"protocol": "ssh", "connectionId": decoded},
                 {"protocol": "ssh", "connectionId": "c", "userId": decoded}):
        response = send(stack, start, body=json.dumps(body).encode(), headers=headers)
        assert problems(start, response) == []
        assert response.status_code == 400, (body, response.text)
