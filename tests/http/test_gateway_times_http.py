"""TIMESTAMP_FORMAT=gateway through the real local stack: back-filled history in, the gateway's time form out,
filters in both forms (a query's `+` for the space included)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.clients import make_token
from tests.support.stack import Stack, running_stack
from tests.support.times import GATEWAY_FORM, ISO_LIKE, gateway_parse, strings, time_fields

ADMIN = {"Authorization": f"Bearer {make_token('admin', role='admin')}"}


@pytest.fixture(scope="module")
def gateway_stack() -> Iterator[Stack]:
    with running_stack(TIMESTAMP_FORMAT="gateway", TABLE_NAME="session-audit-gwtime",
                       BUCKET_NAME="session-audit-gwtime") as started:
        yield started


def call(method: str, url: str, **kw: Any) -> Any:
    response = requests.request(method, url, headers=ADMIN, timeout=10, **kw)
    assert response.status_code == 200, response.text
    return response.json()


def test_back_filled_sessions_answer_in_the_gateways_form_and_filter_in_both(gateway_stack):
    base = gateway_stack.base
    call("PUT", f"{base}/settings/recording", json={"enabled": True})
    start = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    made = []
    for hours in (0, 5, 30):  # the gateway's form in, as an importer copying the gateway's rows would send it
        began, ended = start + timedelta(hours=hours), start + timedelta(hours=hours, minutes=42)
        made.append(call("POST", f"{base}/sessions", json={
            "protocol": "ssh", "connectionId": "web-1", "userId": "bob", "username": "bob",
            "startedAt": began.strftime("%Y-%m-%d %H:%M:%S"), "endedAt": ended.isoformat()})["sessionId"])
    call("POST", f"{base}/file-sessions/fs-http/events", json={
        "protocol": "sftp", "connectionId": "files-1", "startedAt": start.isoformat(),
        "events": [{"action": "browse", "path": "/", "timestamp": (start + timedelta(seconds=5)).isoformat()}]})

    listed = call("GET", f"{base}/sessions")
    assert [s["id"] for s in listed["sessions"]] == made[::-1]  # newest first by the given start
    newest = listed["sessions"][0]
    assert (newest["startedAt"], newest["endedAt"]) == (
        (start + timedelta(hours=30)).strftime("%Y-%m-%d %H:%M:%S"),
        (start + timedelta(hours=30, minutes=42)).strftime("%Y-%m-%d %H:%M:%S"))
    files = call("GET", f"{base}/file-sessions")
    events = call("GET", f"{base}/file-sessions/fs-http/events")
    for answer in (listed, files, events):
        values = [value for _, value in time_fields(answer) if value is not None]
        assert values and all(GATEWAY_FORM.match(v) and gateway_parse(v) for v in values), values
        assert not [s for s in strings(answer) if ISO_LIKE.search(s)]
    # the page's parse gives back the moments that were sent
    assert gateway_parse(newest["startedAt"]) == start + timedelta(hours=30)

    middle = (start + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S")  # requests sends the space as "+"
    by_gateway = call("GET", f"{base}/sessions", params={"from": middle, "to": middle})["sessions"]
    by_iso = call("GET", f"{base}/sessions", params={"from": middle.replace(" ", "T") + "Z",
                                                      "to": middle.replace(" ", "T") + ".000Z"})["sessions"]
    assert [s["id"] for s in by_gateway] == [s["id"] for s in by_iso] == [made[1]]
    # an ISO time ending in Z, as the gateway's page could never read it, is not what this stack answers
    assert gateway_parse(middle.replace(" ", "T") + ".000Z") is None
