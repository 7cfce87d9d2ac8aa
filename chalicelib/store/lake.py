"""The audit lake's objects in S3 (docs/search.md, "The lake"): `lake/<kind>/day=YYYY-MM-DD/<run>.json`, rows as
newline-delimited JSON, every column of the schema in every row (null when unknown), `at` and `ended_at` as
`YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC), the row's `day` (in the key, never in the row) the UTC day of its `at`.

Listing and deleting are kept general (any prefix, any keys): the compaction reads and removes a day's objects
with them. Objects are written encrypted as the recordings are (SSE-S3, or SSE-KMS when a key is configured).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from chalicelib.model.clock import iso
from chalicelib.model.lake import LakeRow
from chalicelib.store import keys
from chalicelib.store.objects import RecordingObjects

JSON_LINES = "application/x-ndjson"


def lake_time(value: str) -> str:
    """Any ISO 8601 time (no zone: UTC) as the lake writes it; ValueError when it is none."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def row_json(row: LakeRow) -> dict[str, Any]:
    """The row as the lake keeps it: the schema's columns, times normalised, elapsed a double."""
    value = asdict(row)
    value["at"] = lake_time(row.at)
    value["ended_at"] = lake_time(row.ended_at) if row.ended_at else None
    value["elapsed"] = float(row.elapsed) if row.elapsed is not None else None
    return value


def day_of(row: LakeRow) -> str:
    """The row's partition: the UTC day of its `at`."""
    return lake_time(row.at)[:10]


def by_day(rows: Iterable[LakeRow]) -> dict[str, list[LakeRow]]:
    days: dict[str, list[LakeRow]] = {}
    for row in rows:
        days.setdefault(day_of(row), []).append(row)
    return days


def json_lines(rows: Sequence[LakeRow]) -> bytes:
    return b"".join(json.dumps(row_json(row), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                    for row in rows)


class LakeObjects:
    """Reads and writes the lake's objects: one PutObject per (kind, day) of a run."""

    def __init__(self, objects: RecordingObjects) -> None:
        self._objects = objects

    def write(self, kind: str, run: str, rows: Iterable[LakeRow]) -> list[str]:
        """Put `rows` of `kind` as one object per day they fall on, named `run`: the keys written."""
        written = []
        for day, found in sorted(by_day(rows).items()):
            key = keys.lake_key(kind, day, run)
            self._objects.put(key, json_lines(found), JSON_LINES)
            written.append(key)
        return written

    def day_keys(self, kind: str, day: str) -> list[str]:
        """Every JSON object of the day (`lake/<kind>/day=<day>/`)."""
        return self.list_keys(keys.lake_day_prefix(kind, day))

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under `prefix` (ListObjectsV2, page after page)."""
        return self._objects.list_keys(prefix)

    def get(self, key: str) -> bytes:
        """An object's bytes (MissingObject when it is not there)."""
        return self._objects.get(key)

    def delete(self, object_keys: Iterable[str]) -> None:
        """Delete the keys (missing ones are fine), 1,000 per request."""
        self._objects.delete(object_keys)
