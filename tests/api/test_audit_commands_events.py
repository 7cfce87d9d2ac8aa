"""/sessions/{id}/commands and /sessions/{id}/recording/events: shapes, order, exact elapsed, rights, limits."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Key

from chalicelib.api.batches import MAX_COMMAND_CHARS, PREVIEW_CHARS
from chalicelib.store.audit import EVENTS_PER_ITEM
from tests.support.clients import make_token

ALICE = make_token("alice")
BOB = make_token("bob")
VIEWER = make_token("auditor", permissions=["sessions.view_any"])
INGEST = make_token("gateway", permissions=["sessions.ingest"])


@pytest.fixture
def session_id(api, recording_on):
    response = api.post("/sessions", ALICE, {"protocol": "ssh", "connectionId": "web-1"})
    assert response.status_code == 200
    return response.json["sessionId"]


@pytest.fixture
def rdp_session_id(api, recording_on):
    """Alice's RDP session, still recording: her browser sends its input events (docs/audit-records.md)."""
    response = api.post("/sessions/rdp-session", ALICE, {"connectionId": "desk-1"})
    assert response.status_code == 200
    return response.json["sessionId"]


def partition(table, session_id, prefix):
    return table.query(KeyConditionExpression=Key("PK").eq(f"SESSION#{session_id}") & Key("SK").begins_with(prefix))[
        "Items"
    ]


# ---- commands


def test_commands_come_back_in_the_contract_shape_ordered_by_elapsed(api, session_id):
    sent = [
        {"elapsed": 12.5, "command": "cat /etc/hosts", "output_preview": "127.0.0.1 localhost"},
        {"elapsed": 3, "command": "ls -la /var/log", "output_preview": "total 128\n...",
         "timestamp": "2024-01-01T00:05:00Z"},
        {"elapsed": 12.25, "command": "whoami", "output_preview": "alice"},
        {"elapsed": 100, "command": "exit"},
    ]
    assert api.post(f"/sessions/{session_id}/commands", INGEST, sent).json == {"ok": True}
    got = api.get(f"/sessions/{session_id}/commands", ALICE)
    assert got.status_code == 200
    commands = got.json["commands"]
    assert [c["command"] for c in commands] == ["ls -la /var/log", "whoami", "cat /etc/hosts", "exit"]
    assert [c["elapsed"] for c in commands] == [3, 12.25, 12.5, 100]
    assert [type(c["elapsed"]) for c in commands] == [int, float, float, int]
    first = commands[0]
    assert set(first) == {"id", "timestamp", "elapsed", "command", "output_preview"}
    assert first["timestamp"] == "2024-01-01T00:05:00.000Z"
    assert first["id"].startswith("cmd_")
    assert commands[3]["output_preview"] == ""
    assert commands[3]["timestamp"].endswith("Z")  # no timestamp sent: the time the batch arrived


def test_a_retried_command_batch_is_stored_once(api, session_id, table):
    batch = [{"elapsed": 1.5, "command": "ls", "output_preview": "a"}, {"elapsed": 1.5, "command": "ls"}]
    for _ in range(2):
        assert api.post(f"/sessions/{session_id}/commands", INGEST, batch).status_code == 200
    assert len(api.get(f"/sessions/{session_id}/commands", ALICE).json["commands"]) == 2
    assert len(partition(table, session_id, "CMD#")) == 2


def test_long_output_preview_is_cut_and_long_command_refused(api, session_id):
    long_preview = "x" * (PREVIEW_CHARS * 3)
    assert api.post(f"/sessions/{session_id}/commands", INGEST,
                    [{"elapsed": 1, "command": "cat big", "output_preview": long_preview}]).status_code == 200
    (stored,) = api.get(f"/sessions/{session_id}/commands", ALICE).json["commands"]
    assert len(stored["output_preview"]) == PREVIEW_CHARS and stored["output_preview"].endswith("...")
    too_long = api.post(f"/sessions/{session_id}/commands", INGEST,
                        [{"elapsed": 2, "command": "y" * (MAX_COMMAND_CHARS + 1)}])
    assert too_long.status_code == 400


def test_command_rights_owner_ingest_viewer_and_others(api, session_id):
    one = [{"elapsed": 1, "command": "id"}]
    # the gateway's SSH proxy writes commands: a user's token may not, not even into their own session
    assert api.post(f"/sessions/{session_id}/commands", ALICE, one).status_code == 403
    assert api.post(f"/sessions/{session_id}/commands", BOB, one).status_code == 403
    assert api.post(f"/sessions/{session_id}/commands", VIEWER, one).status_code == 403  # reading is not writing
    assert api.post(f"/sessions/{session_id}/commands", INGEST, one).status_code == 200
    assert api.get(f"/sessions/{session_id}/commands", BOB).status_code == 404
    assert api.get(f"/sessions/{session_id}/commands", INGEST).status_code == 404  # writing is not reading
    assert len(api.get(f"/sessions/{session_id}/commands", VIEWER).json["commands"]) == 1
    assert api.get(f"/sessions/{session_id}/commands", ALICE).json["commands"][0]["command"] == "id"
    missing = api.post("/sessions/sess_nope/commands", INGEST, one)
    assert missing.status_code == 404 and missing.json == {"error": "session not found"}
    assert api.get("/sessions/sess_nope/commands").status_code == 401


BAD_COMMAND_BATCHES = [
    {"elapsed": 1, "command": "ls"},  # not a list
    [{"elapsed": "1", "command": "ls"}],
    [{"elapsed": -1, "command": "ls"}],
    [{"elapsed": True, "command": "ls"}],
    [{"elapsed": 1e13, "command": "ls"}],
    [{"command": "ls"}],
    [{"elapsed": 1, "command": 5}],
    [{"elapsed": 1, "command": "ls", "output_preview": ["a"]}],
    [{"elapsed": 1, "command": "ls", "timestamp": "yesterday"}],
    ["ls"],
    [{"elapsed": 1, "command": "ok"}] * 1001,
]


def test_malformed_command_batches_are_400_and_store_nothing(api, session_id, table):
    for body in BAD_COMMAND_BATCHES:
        # a valid command first: a rejected batch must not be stored in part
        good_then_bad = body if not isinstance(body, list) else [{"elapsed": 0.5, "command": "fine"}, *body]
        response = api.post(f"/sessions/{session_id}/commands", INGEST, good_then_bad)
        assert response.status_code == 400, (body, response.body)
        assert "error" in response.json
    assert partition(table, session_id, "CMD#") == []


def test_nan_elapsed_non_utf8_and_wrong_content_type(api, session_id, table):
    url = f"/sessions/{session_id}/commands"
    assert api.post(url, INGEST, '[{"elapsed": NaN, "command": "ls"}]').status_code == 400
    assert api.post(url, INGEST, '[{"elapsed": Infinity, "command": "ls"}]').status_code == 400
    assert api.post(url, INGEST, b'[{"elapsed": 1, "command": "\xff\xfe"}]').status_code == 400
    wrong = api.post(url, INGEST, '[{"elapsed": 1, "command": "ls"}]', content_type="text/plain")
    assert wrong.status_code == 415 and "error" in wrong.json
    assert partition(table, session_id, "CMD#") == []


# ---- input events


def test_events_round_trip_exactly_and_in_elapsed_order(api, rdp_session_id):
    first = [{"elapsed": 12.734, "type": "click"}, {"elapsed": 1500, "type": "key"},
             {"elapsed": 0.1, "type": "move"}, {"elapsed": 3200, "type": "move"}]
    second = [{"elapsed": 12.7340001, "type": "key"}, {"elapsed": 2, "type": "click"},
              {"elapsed": 1e-07, "type": "move"}]
    assert api.post(f"/sessions/{rdp_session_id}/recording/events", ALICE, first).json == {"ok": True}
    assert api.post(f"/sessions/{rdp_session_id}/recording/events", ALICE, second).json == {"ok": True}
    got = api.get(f"/sessions/{rdp_session_id}/recording/events", ALICE)
    assert got.status_code == 200
    raw = json.loads(got.body)  # parsed as plain JSON: the types are what the body says
    assert raw["events"] == [
        {"elapsed": 1e-07, "event_type": "move"},
        {"elapsed": 0.1, "event_type": "move"},
        {"elapsed": 2, "event_type": "click"},
        {"elapsed": 12.734, "event_type": "click"},
        {"elapsed": 12.7340001, "event_type": "key"},
        {"elapsed": 1500, "event_type": "key"},
        {"elapsed": 3200, "event_type": "move"},
    ]
    assert [type(e["elapsed"]) for e in raw["events"]] == [float, float, int, float, float, int, int]
    assert b'"elapsed":12.734,' in got.body and b'"elapsed":1500,' in got.body


def test_ten_thousand_events_are_packed_into_few_items(api, rdp_session_id, table):
    batch = [{"elapsed": i / 7, "type": ("click", "key", "move")[i % 3]} for i in range(10_000)]
    assert api.post(f"/sessions/{rdp_session_id}/recording/events", ALICE, batch).status_code == 200
    items = partition(table, rdp_session_id, "EVENTS#")
    assert len(items) == 10_000 // EVENTS_PER_ITEM
    assert all(isinstance(item["packed"].value, bytes) and len(item["packed"].value) < 400_000 for item in items)
    assert not any(isinstance(v, Decimal) and "elapsed" in k for item in items for k, v in item.items())
    got = api.get(f"/sessions/{rdp_session_id}/recording/events", ALICE).json["events"]
    assert [e["elapsed"] for e in got] == [i / 7 for i in range(10_000)]
    # the same flush sent again (a retry) lands on the same items
    assert api.post(f"/sessions/{rdp_session_id}/recording/events", ALICE, batch).status_code == 200
    assert len(partition(table, rdp_session_id, "EVENTS#")) == len(items)


def test_an_empty_flush_is_fine_and_stores_nothing(api, rdp_session_id, table):
    assert api.post(f"/sessions/{rdp_session_id}/recording/events", ALICE, []).json == {"ok": True}
    assert partition(table, rdp_session_id, "EVENTS#") == []
    assert api.get(f"/sessions/{rdp_session_id}/recording/events", ALICE).json == {"events": []}


def test_event_rights(api, rdp_session_id):
    one = [{"elapsed": 1.0, "type": "click"}]
    url = f"/sessions/{rdp_session_id}/recording/events"
    assert api.post(url, BOB, one).status_code == 404
    assert api.post(url, INGEST, one).status_code == 200
    assert api.get(url, BOB).status_code == 404
    assert api.get(url, VIEWER).json == {"events": [{"elapsed": 1.0, "event_type": "click"}]}
    assert api.post("/sessions/sess_nope/recording/events", ALICE, one).status_code == 404
    assert api.get("/sessions/bad%20id/recording/events", ALICE).status_code == 400


BAD_EVENT_BATCHES = [
    {"elapsed": 1, "type": "click"},
    [{"elapsed": 1, "type": "scroll"}],
    [{"elapsed": 1}],
    [{"elapsed": "1.5", "type": "key"}],
    [{"elapsed": None, "type": "key"}],
    [{"elapsed": -0.001, "type": "key"}],
    [[1, "click"]],
    [{"elapsed": 1, "type": "move"}] * 10_001,
]


def test_malformed_event_batches_are_400_and_store_nothing(api, rdp_session_id, table):
    for body in BAD_EVENT_BATCHES:
        good_then_bad = body if not isinstance(body, list) else [{"elapsed": 0.5, "type": "click"}, *body]
        response = api.post(f"/sessions/{rdp_session_id}/recording/events", ALICE, good_then_bad)
        assert response.status_code == 400, (body, response.body)
    assert partition(table, rdp_session_id, "EVENTS#") == []


def test_nan_and_non_utf8_events_are_400(api, rdp_session_id, table):
    url = f"/sessions/{rdp_session_id}/recording/events"
    assert api.post(url, ALICE, '[{"elapsed": NaN, "type": "key"}]').status_code == 400
    assert api.post(url, ALICE, b'[{"elapsed": 1, "type": "k\xe9y"}]').status_code == 400
    assert api.post(url, ALICE, "[]", content_type="application/x-www-form-urlencoded").status_code == 415
    assert partition(table, rdp_session_id, "EVENTS#") == []
