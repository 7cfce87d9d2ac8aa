"""Reading the audit lake and the outbox back in tests: the rows of the lake's JSON objects, the marks still
pending, and an outbox that lets a test act between the exporter's read and its clears."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.model.lake import LakeMark, MarkedRecords
from chalicelib.store import keys
from chalicelib.store.outbox import Outbox
from tests.support.clients import BUCKET

COLUMNS = {"id", "version", "session_id", "file_session_id", "user_id", "username", "connection_id",
           "connection_name", "protocol", "at", "elapsed", "text", "ended_at", "gen"}


def lake_objects(s3: Any, kind: str) -> list[str]:
    """The keys of every JSON object of `kind` in the lake."""
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{keys.LAKE_PREFIX}{kind}/"):
        found.extend(o["Key"] for o in page.get("Contents", []))
    return found


def lake_rows(s3: Any, kind: str, where: Callable[[dict[str, Any]], bool] = lambda row: True) -> list[dict[str, Any]]:
    """Every row of `kind` (duplicates included), each with the `day` of its key, that `where` keeps."""
    rows = []
    for key in lake_objects(s3, kind):
        day = key.split("/day=", 1)[1].split("/", 1)[0]
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        for line in body.splitlines():
            row = json.loads(line)
            assert set(row) == COLUMNS, sorted(row)
            if where(row):
                rows.append({**row, "day": day})
    return rows


def latest(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What every reader keeps: one row per id, the highest version."""
    kept: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["id"] not in kept or row["version"] > kept[row["id"]]["version"]:
            kept[row["id"]] = row
    return kept


def of_session(session_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: session_id in (row["session_id"], row["file_session_id"])


def pending(table: Any) -> list[dict[str, Any]]:
    """Every mark the outbox's index holds, all shards."""
    found: list[dict[str, Any]] = []
    for shard in range(keys.LAKE_SHARDS):
        query: dict[str, Any] = {"IndexName": keys.LAKE_INDEX, "KeyConditionExpression": "GSI2PK = :pk",
                                 "ExpressionAttributeValues": {":pk": keys.lake_pk(shard)}}
        while True:
            response = table.query(**query)
            found.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return found


def pending_of(table: Any, session_id: str) -> list[dict[str, Any]]:
    return [mark for mark in pending(table) if str(mark["PK"]).endswith(f"#{session_id}")]


class Interleaved(Outbox):
    """The outbox, with `between` run once after the exporter has read its marks' records and before it clears
    them (a write landing during an export)."""

    def __init__(self, table: Any, between: Callable[[], None]) -> None:
        super().__init__(table)
        self._between: Callable[[], None] | None = between

    def read(self, marks: Sequence[LakeMark]) -> list[MarkedRecords]:
        found = super().read(marks)
        if self._between is not None:
            hook, self._between = self._between, None
            hook()
        return found
