"""The HTTP edge on the real local stack (issue 15): cookies as browsers send them, tokens from a gateway whose
clock runs ahead, JSON that needs its Content-Type, cookie-only changes from other sites, lone surrogates, and
audit answers no cache keeps. Each failed before the change that made it pass."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from tests.support.clients import SECRET, make_token

USER = "edge-user"
ADMIN = {"Authorization": f"Bearer {make_token('edge-admin', role='admin')}"}
INGEST = {"Authorization": f"Bearer {make_token('edge-gateway', role='service', permissions=['sessions.ingest'])}"}
JSON = {"Content-Type": "application/json"}
# what a browser sends when other pages of the domain set their own cookies (raw bytes: UTF-8 on the wire)
NEIGHBOURS = 'theme=dark mode; consent={"necessary":true}; dir=C:\\temp; name=J\u00fcrgen'


@pytest.fixture(scope="module")
def recording(stack):
    before = requests.get(f"{stack.base}/settings/recording", headers=ADMIN, timeout=10).json()
    assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True}, headers=ADMIN, timeout=10).ok
    yield
    requests.put(f"{stack.base}/settings/recording", json=before, headers=ADMIN, timeout=10)


def cookie(token: str, **extra: str) -> dict[str, str | bytes]:
    return {"Cookie": f"{NEIGHBOURS}; gatwy_token={token}".encode(), **extra}


def start(stack, headers, protocol="rdp") -> requests.Response:
    return requests.post(f"{stack.base}/sessions", json={"protocol": protocol, "connectionId": "edge-c1"},
                         headers=headers, timeout=10)


def test_the_recorder_signs_in_by_cookie_beside_unusual_cookies(stack, recording):
    own = {"Origin": stack.base, "Sec-Fetch-Site": "same-origin"}
    started = requests.post(f"{stack.base}/sessions/rdp-session", data=b'{"connectionId": "edge-c1"}',
                            headers={**cookie(make_token(USER)), **JSON, **own}, timeout=10)
    assert started.status_code == 200 and started.json()["shouldRecord"], started.text
    session_id = started.json()["sessionId"]
    chunk = requests.post(f"{stack.base}/sessions/{session_id}/recording/chunk", data=b"\x1a\x45\xdf\xa3edge",
                          headers={**cookie(make_token(USER)), "Content-Type": "application/octet-stream", **own},
                          timeout=10)
    assert chunk.status_code == 200, chunk.text
    # the recorder's finalize: a bodiless same-origin POST with the cookie and nothing else
    done = requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize",
                         headers={**cookie(make_token(USER)), **own}, timeout=30)
    assert done.status_code == 200 and done.json()["recordingState"] == "complete", done.text


def test_of_two_token_cookies_the_first_counts(stack):
    good, bad = make_token(USER), make_token(USER, secret="another-secret-" + "q" * 32)
    assert requests.get(f"{stack.base}/sessions", headers={"Cookie": f"gatwy_token={good}; gatwy_token={bad}"},
                        timeout=10).status_code == 200
    assert requests.get(f"{stack.base}/sessions", headers={"Cookie": f"gatwy_token={bad}; gatwy_token={good}"},
                        timeout=10).status_code == 401


def test_a_gateway_clock_ahead_by_seconds_is_accepted_and_bad_user_ids_are_401(stack):
    now = int(time.time())
    ahead = jwt.encode({"userId": USER, "role": "user", "iat": now + 2, "exp": now + 600}, SECRET, algorithm="HS256")
    assert requests.get(f"{stack.base}/sessions", headers={"Authorization": f"Bearer {ahead}"},
                        timeout=10).status_code == 200
    for token in (make_token("x" * 129), make_token("a b"), make_token(USER, exp="9999999999")):
        response = requests.get(f"{stack.base}/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 401 and "error" in response.json(), response.text


def test_json_needs_its_content_type_and_finalize_refuses_text_plain(stack, recording):
    bare = requests.post(f"{stack.base}/sessions", data=b'{"protocol": "ssh", "connectionId": "edge-c1"}',
                         headers=ADMIN, timeout=10)
    assert bare.status_code == 415 and bare.json() == {"error": "Content-Type must be application/json"}
    session_id = start(stack, ADMIN).json()["sessionId"]
    plain = requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize", data=b"x",
                          headers={**ADMIN, "Content-Type": "text/plain"}, timeout=10)
    assert plain.status_code == 415 and "error" in plain.json(), plain.text


@pytest.mark.parametrize("where", [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://elsewhere.example"},
                                   {"Origin": "null"}])
def test_a_cookie_only_change_from_another_site_is_403(stack, recording, where):
    user = make_token(USER)
    session_id = start(stack, {"Authorization": f"Bearer {user}"}).json()["sessionId"]
    # input events of the user's own RDP session, which their browser's recorder posts with the cookie
    forged = requests.post(f"{stack.base}/sessions/{session_id}/recording/events", timeout=10,
                           json=[{"elapsed": 1, "type": "key"}], headers={**cookie(user), **where})
    assert forged.status_code == 403 and "error" in forged.json(), forged.text
    listed = requests.get(f"{stack.base}/sessions/{session_id}/recording/events", headers=cookie(user), timeout=10)
    assert listed.status_code == 200 and listed.json()["events"] == []
    assert requests.post(f"{stack.base}/sessions/rdp-session", json={"connectionId": "edge-c1"},
                         headers={**cookie(user), **where}, timeout=10).status_code == 403
    # the gateway's own origin (PLAYBACK_ORIGINS) is this site's
    assert requests.post(f"{stack.base}/sessions/rdp-session", json={"connectionId": "edge-c1"},
                         headers={**cookie(user), "Origin": stack.base.replace("127.0.0.1", "localhost")},
                         timeout=10).status_code == 200


def test_lone_surrogates_are_stored_as_the_replacement_character(stack, recording):
    session_id = start(stack, ADMIN, "ssh").json()["sessionId"]
    sent = requests.post(f"{stack.base}/sessions/{session_id}/commands", headers={**ADMIN, **JSON}, timeout=10,
                         data=b'[{"elapsed": 1.5, "command": "echo \\ud83d", "output_preview": "\\udc00"}]')
    assert sent.status_code == 200, sent.text
    got = requests.get(f"{stack.base}/sessions/{session_id}/commands", headers=ADMIN, timeout=10)
    assert got.headers["Cache-Control"] == "no-store"
    assert [(c["command"], c["output_preview"]) for c in got.json()["commands"]] == [("echo \ufffd", "\ufffd")]

    files = (b'{"protocol": "smb", "connectionId": "edge-c1", "userId": "edge-smb", "username": "sm\\ud800b",'
             b' "events": [{"action": "upload", "path": "\\\\share\\\\\\udbffname"}]}')
    assert requests.post(f"{stack.base}/file-sessions/edge-fs-1/events", data=files, headers={**INGEST, **JSON},
                         timeout=10).status_code == 200
    events = requests.get(f"{stack.base}/file-sessions/edge-fs-1/events", headers=ADMIN, timeout=10)
    assert [e["path"] for e in events.json()["events"]] == ["\\share\\\ufffdname"]

    named = requests.put(f"{stack.base}/connections/edge-c2", data=b'{"name": "db \\udfff"}',
                         headers={**ADMIN, **JSON}, timeout=10)
    assert named.status_code == 200 and named.json()["name"] == "db \ufffd", named.text
    made = requests.post(f"{stack.base}/sessions", headers={**INGEST, **JSON}, timeout=10,
                         data=b'{"protocol": "ssh", "connectionId": "edge-c1", "userId": "edge-u2",'
                              b' "username": "u\\ud800"}')
    assert made.status_code == 200, made.text
    shown = requests.get(f"{stack.base}/sessions/{made.json()['sessionId']}", headers=ADMIN, timeout=10)
    assert shown.json()["username"] == "u\ufffd"


def test_the_local_stack_serves_the_test_page(stack):
    # scripts/local_stack.py sets SERVE_TEST_PAGES=1; a deployment does not (tests/api/test_edge_routes.py)
    assert requests.get(f"{stack.base}/viewer/browser-check.html", timeout=10).status_code == 200
