"""Exact totals kept in sharded counter items, so no single item takes every write; and each user's chunk bytes
of a UTC day, one item per user and day, which maxUserBytesPerDay caps.

Writers add to one random shard, inside the same transaction as the change they count; readers sum all
shards with one BatchGetItem. `bytes` (the storage total) lives in the shards' META items; what a purge must
answer (sessions, recordings, file sessions, held sessions) is counted per purge generation, in GEN#<gen>
items, so a purge reads the exact totals of the generation it closes (docs/purge-retention.md).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Mapping

from chalicelib.model.recording import QuotaCharge
from chalicelib.store import keys
from chalicelib.store.dynamo import aws_errors, batch_get, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

COUNTER_NAMES = ("sessions", "recordings", "fileSessions", "bytes")
GENERATION_COUNTERS = ("sessions", "recordings", "fileSessions", "heldSessions", "heldFileSessions")


def counter_update(table_name: str, deltas: Mapping[str, int], shard: int | None = None,
                   gen: int | None = None) -> dict[str, Any]:
    """A TransactWriteItems `Update` entry that adds `deltas` to one shard (of generation `gen`'s totals when
    given, else of the global ones)."""
    if shard is None:
        shard = random.randrange(keys.STATS_SHARDS)  # noqa: S311  (spreading load, not secrecy)
    sk = keys.META if gen is None else keys.generation_counter_sk(gen)
    names = {f"#c{i}": name for i, name in enumerate(deltas)}
    values = {f":d{i}": delta for i, delta in enumerate(deltas.values())}
    expr = "ADD " + ", ".join(f"#c{i} :d{i}" for i in range(len(deltas)))
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"PK": keys.stats_pk(shard), "SK": sk},
            "UpdateExpression": expr,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def daily_bytes_update(table_name: str, charge: QuotaCharge, size: int) -> dict[str, Any]:
    """A TransactWriteItems `Update` entry that adds `size` bytes to the user's counter of the day, refused (its
    condition fails, so the whole transaction is cancelled) when the counter would pass the cap. Concurrent
    commits are serialized by DynamoDB on the item, so together they cannot overshoot it either."""
    update: dict[str, Any] = {
        "TableName": table_name,
        "Key": {"PK": keys.user_bytes_pk(charge.user_id), "SK": keys.day_sk(charge.day)},
        "UpdateExpression": "ADD #bytes :n SET #expiresAt = :expires",
        "ExpressionAttributeNames": {"#bytes": "bytes", "#expiresAt": "expiresAt"},
        "ExpressionAttributeValues": {":n": size, ":expires": charge.expires_at},
    }
    if size <= charge.cap:
        update["ConditionExpression"] = "attribute_not_exists(#bytes) OR #bytes <= :room"
        update["ExpressionAttributeValues"][":room"] = charge.cap - size
    else:  # can never fit: a condition that always fails (the counter is never negative)
        update["ConditionExpression"] = "#bytes < :zero"
        update["ExpressionAttributeValues"][":zero"] = 0
    return {"Update": update}


class Counters:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, deltas: Mapping[str, int], shard: int | None = None, gen: int | None = None) -> None:
        update = counter_update(self._table.name, deltas, shard, gen)["Update"]
        del update["TableName"]
        with aws_errors():
            self._table.update_item(**update)

    def user_bytes(self, user_id: str, day: str) -> int:
        """The bytes charged to the user on the UTC `day` (0 when none, or when the cap was off)."""
        with aws_errors():
            item = self._table.get_item(Key={"PK": keys.user_bytes_pk(user_id), "SK": keys.day_sk(day)},
                                        ConsistentRead=True).get("Item")
        return int(plain(item.get("bytes", 0))) if item else 0

    def totals(self) -> dict[str, int]:
        return self._sum(keys.META, COUNTER_NAMES)

    def generation(self, gen: int) -> dict[str, int]:
        """The totals of one purge generation (exact once the generation is closed)."""
        return self._sum(keys.generation_counter_sk(gen), GENERATION_COUNTERS)

    def _sum(self, sk: str, names: tuple[str, ...]) -> dict[str, int]:
        items = batch_get(self._table, [{"PK": keys.stats_pk(s), "SK": sk} for s in range(keys.STATS_SHARDS)],
                          consistent=True)
        totals = dict.fromkeys(names, 0)
        for item in items:
            for name in names:
                totals[name] += int(plain(item.get(name, 0)))
        return totals
