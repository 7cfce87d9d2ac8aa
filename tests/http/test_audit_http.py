"""Audit records through the real local stack: the gateway's flushes in, the player's and auditor's reads out."""

import csv
import io

import requests

from tests.support.clients import make_token


def test_commands_events_and_a_file_session_export_over_http(stack):
    admin = make_token("admin", role="admin")
    alice = make_token("alice")
    as_alice = {"Authorization": f"Bearer {alice}"}
    assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True},
                        headers={"Authorization": f"Bearer {admin}"}, timeout=10).status_code == 200
    as_gateway = {"Authorization": f"Bearer {admin}"}  # the gateway's server writes commands and file events
    session_id = requests.post(f"{stack.base}/sessions/rdp-session", json={"connectionId": "desk-1"},
                               headers=as_alice, timeout=10).json()["sessionId"]

    # the RDP recorder's flush (with alice's token): a JSON array whose elapsed values are floats (and ints)
    flush = (b'[{"elapsed": 12.734, "type": "move"}, {"elapsed": 1500, "type": "click"},'
             b' {"elapsed": 0.5, "type": "key"}]')
    posted = requests.post(f"{stack.base}/sessions/{session_id}/recording/events", data=flush,
                           headers={**as_alice, "Content-Type": "application/json"}, timeout=10)
    assert posted.status_code == 200 and posted.json() == {"ok": True}
    events = requests.get(f"{stack.base}/sessions/{session_id}/recording/events", cookies={"gatwy_token": alice},
                          timeout=10)
    assert events.status_code == 200
    assert events.text == ('{"events":[{"elapsed":0.5,"event_type":"key"},{"elapsed":12.734,"event_type":"move"},'
                           '{"elapsed":1500,"event_type":"click"}]}')

    session_id = requests.post(f"{stack.base}/sessions", json={"protocol": "ssh", "connectionId": "web-1"},
                               headers=as_alice, timeout=10).json()["sessionId"]
    commands = [{"elapsed": 3.25, "command": "ls -la", "output_preview": "total 8\n..."}]
    refused = requests.post(f"{stack.base}/sessions/{session_id}/commands", json=commands, headers=as_alice,
                            timeout=10)
    assert refused.status_code == 403 and "error" in refused.json()  # the SSH proxy logs them, not the user
    assert requests.post(f"{stack.base}/sessions/{session_id}/commands", json=commands, headers=as_gateway,
                         timeout=10).status_code == 200
    (command,) = requests.get(f"{stack.base}/sessions/{session_id}/commands", headers=as_alice,
                              timeout=10).json()["commands"]
    assert (command["elapsed"], command["command"], command["output_preview"]) == (3.25, "ls -la", "total 8\n...")
    bob = {"Authorization": f"Bearer {make_token('bob')}"}
    assert requests.get(f"{stack.base}/sessions/{session_id}/commands", headers=bob, timeout=10).status_code == 404

    file_batch = {"protocol": "sftp", "connectionId": "files-1", "userId": "alice", "username": "alice",
                  "events": [{"action": "upload", "path": "/srv/=cmd|' /C calc'!A0", "detail": {"size": 12700}}]}
    assert requests.post(f"{stack.base}/file-sessions/fs-http/events", json=file_batch, headers=as_gateway,
                         timeout=10).status_code == 200
    listed = requests.get(f"{stack.base}/file-sessions?limit=2000", headers=as_alice, timeout=10).json()
    assert [(s["id"], s["eventCount"]) for s in listed["sessions"]] == [("fs-http", 1)]
    export = requests.get(f"{stack.base}/file-sessions/fs-http/export?format=csv", headers=as_alice, timeout=10)
    assert export.status_code == 200
    assert export.headers["Content-Disposition"] == 'attachment; filename="file-session-fs-http.csv"'
    header, row = list(csv.reader(io.StringIO(export.content.decode("utf-8"), newline="")))
    assert header[-2:] == ["path", "detail"]
    assert row[-2:] == ["/srv/=cmd|' /C calc'!A0", '{"size":12700}']
    assert requests.post(f"{stack.base}/file-sessions/fs-http/events", data=b"\xff",
                         headers={**as_gateway, "Content-Type": "application/json"}, timeout=10).status_code == 400



def test_record_pages_over_http_give_what_the_whole_answer_gives(stack):
    alice = make_token("alice")
    as_alice = {"Authorization": f"Bearer {alice}"}
    admin = {"Authorization": f"Bearer {make_token('admin', role='admin')}"}
    gateway = {"Authorization": f"Bearer {make_token('gateway', role='service', permissions=['sessions.ingest'])}"}
    assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True}, headers=admin,
                        timeout=10).status_code == 200
    session_id = requests.post(f"{stack.base}/sessions", json={"protocol": "ssh", "connectionId": "web-1",
                                                               "userId": "alice", "username": "alice"},
                               headers=gateway, timeout=10).json()["sessionId"]
    base = f"{stack.base}/sessions/{session_id}"
    for n in range(2):
        commands = [{"elapsed": i * 2 + n, "command": f"c{n}{i}"} for i in range(5)]
        assert requests.post(f"{base}/commands", json=commands, headers=gateway, timeout=10).status_code == 200
        flush = [{"elapsed": i * 3 + n, "type": "key"} for i in range(4)]
        assert requests.post(f"{base}/recording/events", json=flush, headers=gateway, timeout=10).status_code == 200

    for path, field in (("commands", "commands"), ("recording/events", "events")):
        whole = requests.get(f"{base}/{path}", headers=as_alice, timeout=10)
        assert whole.status_code == 200 and set(whole.json()) == {field}
        paged, cursor = [], ""
        while True:
            page = requests.get(f"{base}/{path}", params={"limit": 3, "cursor": cursor}, timeout=10,
                                cookies={"gatwy_token": alice})
            assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
            paged += page.json()[field]
            cursor = page.json()["nextCursor"]
            if cursor is None:
                break
        assert paged == whole.json()[field]
        assert requests.get(f"{base}/{path}", params={"cursor": "forged"}, headers=as_alice,
                            timeout=10).status_code == 400
    log = requests.get(f"{stack.base}/access-log", params={"limit": 100}, headers=admin, timeout=10).json()
    reads = [e["action"] for e in log["entries"] if e["target"] == f"sessions/{session_id}"]
    # each read is logged (the whole answer, then every page: 10 commands in 4 pages, 8 events in 3), refused
    # ones are not
    assert sorted(reads) == ["commands.read"] * 5 + ["events.read"] * 4
