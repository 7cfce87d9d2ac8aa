"""Two costs moto's DynamoDB has and AWS does not, both growing with the whole table, removed without changing
what any request answers.

- **TransactWriteItems** deep-copies every table a transaction names before it starts (its rollback copy), once
  per item: a transaction costs O(table), ~30 ms on a table of a few thousand items, and it dominated the store
  tests and the recording benchmarks. Here only the items the transaction names are copied, and only they are
  put back when it fails, which is all a rollback has to undo.
- **Query** of the base table reads every item of the table to find one partition; here it reads that partition,
  as DynamoDB does.

Used by the in-process tests (tests/conftest.py), moto's server under the local stack (scripts/moto_server.py)
and the benchmarks. `tests/unit/test_moto_speedups.py` checks that failed transactions still change nothing.
"""

from __future__ import annotations

import copy
import types
from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    _item_level_transaction_rollback()
    _partition_query()


def _item_level_transaction_rollback() -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    def deepcopy_all_but_tables(value: Any, memo: Any = None) -> Any:
        # moto's own rollback copy becomes the table itself: restoring it is then a no-op, the items below do it
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy_all_but_tables)  # type: ignore[attr-defined,assignment]
    transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Table, Any, Any, Any]] = []
        for entry in transact_items:
            if len(entry) != 1:
                continue  # moto refuses it before writing anything
            _op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName", ""))
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            try:
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError):
                continue  # a malformed entry: moto refuses it before writing anything
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(saved):
                _put_back(table, hash_key, range_key, before)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _put_back(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
    if range_key is None:
        if before is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = before
        return
    partition = table.items[hash_key]
    if before is None:
        partition.pop(range_key, None)
        if not partition:
            del table.items[hash_key]
    else:
        partition[range_key] = before


def _partition_query() -> None:
    from moto.dynamodb.models.table import Table

    query = Table.query

    def query_one_partition(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name or hash_key is None or self.range_key_attr is None:
            return query(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key, {})
        self.all_items = lambda: list(partition.values())  # type: ignore[method-assign]
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query_one_partition  # type: ignore[method-assign]
