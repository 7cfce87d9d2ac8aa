"""A recording test rig over moto in process: the app through the Chalice test client, with a driven clock
and gated AWS clients (tests/support/recording_harness.py); the `rig` fixture (tests/api/conftest.py) builds one.
Below the rig: what several rig tests do with one (finish a recording, write audit records, purge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from chalicelib.domain.access import Caller
from chalicelib.store import keys
from tests.support.clients import ADMIN_PERMISSIONS, BUCKET, TABLE, Api, make_token
from tests.support.recording_harness import Clock, Gate
from tests.support.scheduled import invoke_function, invoke_scheduled
from tests.support.sessions import start_session

SMALL_PART = 64 * 1024
SOFT = 24  # queue length that asks for a merge (the service's default is 128; smaller keeps moto quick)
ALICE = make_token("alice")
BOB = make_token("bob")
ADMIN = make_token("admin", role="admin")
DELETER = make_token("deleter", role="deleter", permissions=["sessions.delete"])
OCTETS = "application/octet-stream"


def alice() -> Caller:
    return Caller("alice", "alice", "user", frozenset({"sessions.view_own"}))


def ingest() -> Caller:
    return Caller("gateway", "gateway", "admin", frozenset(ADMIN_PERMISSIONS))


@dataclass
class Rig:
    api: Api
    client: Any
    clock: Clock
    gate: Gate
    services: Any
    s3: Any = field(default_factory=lambda: boto3.client("s3"))
    table: Any = field(default_factory=lambda: boto3.resource("dynamodb").Table(TABLE))

    @property
    def recordings(self) -> Any:
        return self.services.recordings

    terminals: set[str] = field(default_factory=set)  # sessions started as SSH/Telnet

    def start(self, protocol: str = "rdp", token: str = ALICE) -> str:
        session_id = start_session(self.api, token, protocol, "c1")
        if protocol not in ("rdp", "vnc"):
            self.terminals.add(session_id)
        return session_id

    def writer(self, session_id: str) -> str:
        """Who writes the session's recording by default: the owner's browser (RDP/VNC), else the gateway's
        server with its ingest token (SSH/Telnet: docs/audit-records.md, "Who writes what")."""
        return ADMIN if session_id in self.terminals else ALICE

    def chunk(self, session_id: str, body: bytes, index: int | None = None, token: str | None = None,
              content_type: str = OCTETS) -> Any:
        headers = {} if index is None else {"X-Chunk-Index": str(index)}
        return self.api.post(f"/sessions/{session_id}/recording/chunk", token or self.writer(session_id), body,
                             content_type=content_type, headers=headers)

    def finalize(self, session_id: str, token: str | None = None) -> Any:
        return self.api.post(f"/sessions/{session_id}/recording/finalize", token or self.writer(session_id), None)

    def session(self, session_id: str, token: str = ADMIN) -> dict[str, Any]:
        response = self.api.get(f"/sessions/{session_id}", token)
        assert response.status_code == 200, response.body
        found: dict[str, Any] = response.json
        return found

    def object(self, session_id: str, extension: str = "webm") -> bytes:
        body: bytes = self.s3.get_object(Bucket=BUCKET, Key=keys.recording_key(session_id, extension))["Body"].read()
        return body

    def rec(self, session_id: str) -> dict[str, Any]:
        item: dict[str, Any] = self.table.get_item(Key={"PK": keys.session_pk(session_id), "SK": keys.REC})["Item"]
        return item

    def staged(self, session_id: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=keys.staging_prefix(session_id))
        return [o["Key"] for o in listed.get("Contents", [])]

    def sweep(self) -> Any:
        """The recording sweep's report."""
        return invoke_scheduled(self.client, "recording_sweep")

    def retention_sweep(self) -> dict[str, Any]:
        report: dict[str, Any] = invoke_scheduled(self.client, "retention_sweep")
        return report

    def purge_work(self) -> Any:
        return invoke_function(self.client, "purge_worker")

    def storage(self) -> int:
        response = self.api.get("/sessions/storage", ADMIN)
        assert response.status_code == 200, response.body
        total: int = response.json["bytes"]
        return total

    def forget(self, session_id: str) -> None:
        """Delete the session's items: moto deep-copies the whole table on every transaction, so tests that
        record many sessions keep it small."""
        found = self.table.query(KeyConditionExpression="PK = :pk",
                                 ExpressionAttributeValues={":pk": keys.session_pk(session_id)})["Items"]
        with self.table.batch_writer() as batch:
            for item in found:
                batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})

    def settle(self) -> None:
        """Let every lease and cleanup delay pass, then sweep until nothing is due."""
        self.clock.advance(3600)
        for _ in range(5):
            self.sweep()


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes that differ at every offset and between seeds, so any reorder, loss or duplicate shows."""
    block = bytes((i * 7 + seed * 131 + (i >> 8) * 13) % 251 for i in range(min(size, 65521)))
    return (block * (size // max(len(block), 1) + 1))[:size]


def finished(rig: Rig, protocol: str = "rdp", size: int = 1000, seed: int = 0) -> str:
    session_id = rig.start(protocol)
    assert rig.chunk(session_id, pattern(size, seed)).status_code == 200
    assert rig.finalize(session_id).status_code == 200
    return session_id


def commands(rig: Rig, session_id: str, n: int = 3) -> None:
    body = [{"elapsed": i + 0.5, "command": f"ls {i}", "output_preview": "x"} for i in range(n)]
    assert rig.api.post(f"/sessions/{session_id}/commands", ADMIN, body).status_code == 200  # the SSH proxy's


def input_events(rig: Rig, session_id: str, n: int = 50) -> None:
    body = [{"elapsed": i / 10, "type": "move"} for i in range(n)]
    assert rig.api.post(f"/sessions/{session_id}/recording/events", ALICE, body).status_code == 200


def file_session(rig: Rig, session_id: str, events: int = 3) -> None:
    # alice's, written by the gateway's file browser with its service token
    body = {"protocol": "sftp", "connectionId": "files", "userId": "alice", "username": "alice", "events": [
        {"action": "upload", "path": f"/tmp/{i}", "timestamp": "2024-01-01T00:00:00Z"} for i in range(events)]}
    assert rig.api.post(f"/file-sessions/{session_id}/events", ADMIN, body).status_code == 200


def purge(rig: Rig, token: str = DELETER) -> dict[str, Any]:
    response = rig.api.delete("/sessions", token)
    assert response.status_code == 200, response.body
    answer: dict[str, Any] = response.json
    return answer


def objects(rig: Rig) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]
