"""A purge through the real local stack: answered at once, finished in the background within a minute (the
worker runs in a thread of `chalice local`, as under `make run`)."""

import time

import requests

from tests.support.clients import make_token


def test_a_purge_over_http_finishes_in_the_background_within_a_minute(stack):
    admin = {"Authorization": f"Bearer {make_token('admin', role='admin')}"}
    assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True}, headers=admin,
                        timeout=10).status_code == 200
    session_id = requests.post(f"{stack.base}/sessions", json={"protocol": "rdp", "connectionId": "purge-1"},
                               headers=admin, timeout=10).json()["sessionId"]
    chunk = requests.post(f"{stack.base}/sessions/{session_id}/recording/chunk", data=b"v" * 5000,
                          headers={**admin, "Content-Type": "application/octet-stream"}, timeout=10)
    assert chunk.status_code == 200
    assert requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize", headers=admin,
                         timeout=30).status_code == 200
    assert requests.get(f"{stack.base}/sessions/storage", headers=admin, timeout=10).json()["bytes"] >= 5000

    started = time.monotonic()
    answer = requests.delete(f"{stack.base}/sessions", headers=admin, timeout=10)
    assert answer.status_code == 200 and answer.json()["deletedSessions"] >= 1
    assert requests.get(f"{stack.base}/sessions/{session_id}", headers=admin, timeout=10).status_code == 404
    while requests.get(f"{stack.base}/sessions/storage", headers=admin, timeout=10).json()["bytes"] != 0:
        assert time.monotonic() - started < 60, "the background deletion did not finish within a minute"
        time.sleep(1)
    log = requests.get(f"{stack.base}/access-log", headers=admin, timeout=10).json()["entries"]
    assert log[0]["action"] == "purge" and log[0]["ip"] == "127.0.0.1"
