"""The purge generation: which sessions and file sessions exist at all (docs/purge-retention.md).

Every META item carries the generation it was created in (`gen`, absent = 0) and sits in the list partitions
of that generation. A purge moves the generation on; from that moment every META of an older generation is
invisible (unless it is on legal hold, and held sessions are moved into the new generation by the purge).

The current generation is kept in 16 identical items (SETTINGS / GENERATION#<00..15>), all changed by the
purge in one transaction. A writer that creates or changes a record of generation g (a session start, a hold,
a delete, a retention deletion) adds a ConditionCheck `gen = g` on one random copy to its transaction: the
purge's transaction and that write are serialised by DynamoDB, so either the write lands in g before g closes
(and the purge counts it) or it fails and is retried in the new generation. 16 copies, so that concurrent
starts do not all meet in one item (transactions touching the same item conflict).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from chalicelib.model.sessions import Meta
from chalicelib.store import keys, records
from chalicelib.store.dynamo import GENERATION_NAMES, aws_errors, batch_get, concurrently, generation_condition, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]
BATCH_GET_KEYS = 100


def _shard() -> int:
    return random.randrange(keys.STATS_SHARDS)  # noqa: S311  (spreading load, not secrecy)


def generation_key(shard: int | None = None) -> dict[str, str]:
    return {"PK": keys.SETTINGS_PK, "SK": keys.generation_sk(_shard() if shard is None else shard)}


def check_entry(table_name: str, gen: int) -> dict[str, Any]:
    """A TransactWriteItems entry that holds only while `gen` is the current generation."""
    return {
        "ConditionCheck": {
            "TableName": table_name,
            "Key": generation_key(),
            "ConditionExpression": generation_condition(gen),
            "ExpressionAttributeNames": GENERATION_NAMES,
            "ExpressionAttributeValues": {":gen": gen},
        }
    }


def bump_entries(table_name: str, gen: int, at_ms: int) -> list[dict[str, Any]]:
    """Entries that move every copy from `gen` to `gen + 1` (all or none)."""
    return [
        {
            "Update": {
                "TableName": table_name,
                "Key": generation_key(shard),
                "UpdateExpression": "SET #gen = :next, #at = :at",
                "ConditionExpression": generation_condition(gen),
                "ExpressionAttributeNames": {**GENERATION_NAMES, "#at": "purgedAt"},
                "ExpressionAttributeValues": {":gen": gen, ":next": gen + 1, ":at": at_ms},
            }
        }
        for shard in range(keys.STATS_SHARDS)
    ]


def generation_of(item: Mapping[str, Any] | None) -> int:
    return int(plain((item or {}).get("gen", 0)))


def visible(meta: Mapping[str, Any] | None, current: int) -> bool:
    """A META item as the API may show it: not deleted, and of the current generation (or on hold: a held
    session is moved into the new generation by the purge that passes it, and stays visible meanwhile)."""
    if meta is None or meta.get("deleted"):
        return False
    return generation_of(meta) == current or bool(meta.get("onHold"))


def shown(record: Meta | None, current: int) -> bool:
    """`visible`, of a typed record."""
    return record is not None and not record.deleted and (record.gen == current or record.on_hold)


class Generations:
    def __init__(self, table: Table) -> None:
        self._table = table

    def current(self) -> int:
        with aws_errors():
            item = self._table.get_item(Key=generation_key(), ConsistentRead=True).get("Item")
        return generation_of(item)

    def get_with_generation(self, item_keys: Iterable[Mapping[str, str]]) -> tuple[dict[tuple[str, str], Item], int]:
        """The items (by (PK, SK), consistent) and the current generation, in one BatchGetItem."""
        wanted = [dict(k) for k in item_keys]
        found = get_many(self._table, [*wanted, generation_key()])
        gen = next((generation_of(item) for (pk, sk), item in found.items()
                    if pk == keys.SETTINGS_PK and sk.startswith(keys.GENERATION_PREFIX)), 0)
        return {k: v for k, v in found.items() if k[0] != keys.SETTINGS_PK}, gen

    def visible_meta(self, pk: str) -> Item | None:
        """The META item of `pk` if the API may show it, else None: one BatchGetItem."""
        found, gen = self.get_with_generation([{"PK": pk, "SK": keys.META}])
        meta = found.get((pk, keys.META))
        return meta if visible(meta, gen) else None

    def visible(self, kind: str, item_id: str) -> Meta | None:
        """The session (kind SESSION) or file session (FILES) if the API may show it, else None: one
        BatchGetItem."""
        item = self.visible_meta(f"{kind}#{item_id}")
        return records.meta(item) if item is not None else None


def get_many(table: Table, item_keys: list[dict[str, str]], consistent: bool = True) -> dict[tuple[str, str], Item]:
    """BatchGetItem of any number of keys (100 a request, several requests at once, unprocessed keys retried),
    by (PK, SK)."""
    unique = list({(k["PK"], k["SK"]): k for k in item_keys}.values())
    batches = [unique[start:start + BATCH_GET_KEYS] for start in range(0, len(unique), BATCH_GET_KEYS)]
    return {(str(item["PK"]), str(item["SK"])): plain(item)
            for items in concurrently(lambda b: batch_get(table, b, consistent), batches) for item in items}
