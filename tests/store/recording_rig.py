"""A recording test rig over moto in process: the app through the Chalice test client, with a driven clock
and gated AWS clients (tests/recording_harness.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from chalicelib.domain.access import Caller
from chalicelib.store import keys
from tests.conftest import ADMIN_PERMISSIONS, BUCKET, TABLE, Api, make_token
from tests.recording_harness import Clock, Gate, install

SMALL_PART = 64 * 1024
SOFT = 24  # queue length that asks for a merge (the service's default is 128; smaller keeps moto quick)
ALICE = make_token("alice")
BOB = make_token("bob")
ADMIN = make_token("admin", role="admin")
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

    def start(self, protocol: str = "rdp", token: str = ALICE) -> str:
        response = self.api.post("/sessions", token, {"protocol": protocol, "connectionId": "c1"})
        assert response.status_code == 200, response.body
        session_id: str = response.json["sessionId"]
        return session_id

    def chunk(self, session_id: str, body: bytes, index: int | None = None, token: str = ALICE,
              content_type: str = OCTETS) -> Any:
        headers = {} if index is None else {"X-Chunk-Index": str(index)}
        return self.api.post(f"/sessions/{session_id}/recording/chunk", token, body, content_type=content_type,
                             headers=headers)

    def finalize(self, session_id: str, token: str = ALICE) -> Any:
        return self.api.post(f"/sessions/{session_id}/recording/finalize", token, None)

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
        event = self.client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
        return self.client.lambda_.invoke("recording_sweep", event).payload

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


@pytest.fixture
def part_size() -> int:
    return SMALL_PART


@pytest.fixture
def soft_segments() -> int:
    return SOFT


@pytest.fixture
def rig(api: Api, client: Any, recording_on: None, monkeypatch: pytest.MonkeyPatch, part_size: int,
        soft_segments: int) -> Rig:
    monkeypatch.setenv("RECORDING_PART_BYTES", str(part_size))
    monkeypatch.setenv("FINALIZE_GRACE_SECONDS", "3")
    import moto.s3.models

    # the emulator's floor for non-last parts follows the configured part size (S3's own is 5 MiB)
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", min(part_size, 5 * 1024 * 1024))
    from chalicelib.settings import get_settings

    get_settings.cache_clear()
    clock = Clock(time.time())
    gate = Gate()
    services = install(TABLE, clock, gate, soft_segments=soft_segments)
    return Rig(api=api, client=client, clock=clock, gate=gate, services=services)


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes that differ at every offset and between seeds, so any reorder, loss or duplicate shows."""
    block = bytes((i * 7 + seed * 131 + (i >> 8) * 13) % 251 for i in range(min(size, 65521)))
    return (block * (size // max(len(block), 1) + 1))[:size]
