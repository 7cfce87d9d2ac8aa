"""Starting a session: the one way for the Chalice test client and the one way over HTTP.

Both post the gateway's start body, assert the answer is 200 with a session id, and return that id. Tests that
check the start itself (its refusals, its answer's shape) post their own request instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from tests.support.clients import Api


def start_session(api: Api, token: str, protocol: str = "ssh", connection_id: str = "conn-1", **fields: Any) -> str:
    """POST /sessions through the Chalice test client as the caller of `token`; `fields` add to the body
    (userId/username: a service starting a session on a user's behalf)."""
    response = api.post("/sessions", token, {"protocol": protocol, "connectionId": connection_id, **fields})
    assert response.status_code == 200, response.body
    session_id: str = response.json["sessionId"]
    return session_id


def start_session_http(base: str, headers: Mapping[str, str], protocol: str | None = "ssh",
                       connection_id: str = "conn-1", *, path: str = "/sessions", **fields: Any) -> str:
    """POST a session start to the stack at `base` with `headers` (its Authorization); `path` /sessions/rdp-session
    with `protocol` None starts one as the gateway's RDP proxy does (that route implies the protocol)."""
    body: dict[str, Any] = {"connectionId": connection_id, **fields}
    if protocol is not None:
        body["protocol"] = protocol
    response = requests.post(base + path, json=body, headers=dict(headers), timeout=10)
    assert response.status_code == 200 and response.json()["sessionId"], response.text
    session_id: str = response.json()["sessionId"]
    return session_id
