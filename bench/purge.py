"""DELETE /sessions at two table sizes, and the background deletion's AWS calls per 1,000 sessions (moto in process).

    .venv/bin/python -m bench.purge [--sizes 1000,200000]

The table is filled directly with BatchWriteItem (META items in their list partitions and the counters), as the
service would have written them. The purge is timed and its AWS requests counted by operation; the baseline is
the same purge on the small table, measured in the same run: the request must make the same calls whatever the
table holds. Then 1,000 sessions, each with a finished recording (REC, RETAIN, S3 object), 3 commands and a pack
of input events, are deleted by the worker, and its requests are counted.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import time
from typing import Any

from moto import mock_aws

from bench.environment import use_bench_environment
from chalicelib import aws, container
from chalicelib.domain.access import Caller
from chalicelib.settings import get_settings
from chalicelib.store import keys, schema
from chalicelib.store.counters import counter_update

use_bench_environment("bench-purge", "bench-purge", "b" * 40)  # settings are read on first use, after this

ADMIN = Caller("bench", "bench", "admin", frozenset({"sessions.delete", "settings.manage"}))


class Counting:
    """A boto3 client/Table proxy counting requests by operation."""

    def __init__(self, target: Any, counts: collections.Counter[str], label: str) -> None:
        self._target, self._counts, self._label = target, counts, label

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in ("meta", "client"):
            return Counting(value, self._counts, self._label)
        if not callable(value) or name.startswith("_") or name in ("generate_presigned_url", "name"):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counts[f"{self._label}.{name}"] += 1
            return value(*args, **kwargs)

        return call


def skip_moto_rollback_copies() -> None:
    """moto deep-copies the whole table for every item of every TransactWriteItems (its rollback copy), which
    makes a transaction cost O(table) there, unlike on AWS. The bench's transactions never fail, so the copy is
    skipped: what remains is the cost of the requests themselves. (Printed with the figures.)"""
    import copy
    import types

    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy)  # type: ignore[attr-defined]


def fill(table: Any, s3: Any, count: int, start: int, gen: int = 0, with_data: bool = False) -> None:
    started = "2024-01-01T00:00:00.000Z"
    items: list[dict[str, Any]] = []
    for i in range(start, start + count):
        sid = f"sess_{i:08d}"
        pk = keys.session_pk(sid)
        meta = {"PK": pk, "SK": keys.META, "kind": keys.SESSION, "id": sid, "userId": f"u{i % 50}", "username": "u",
                "protocol": "rdp", "connectionId": "c", "connectionName": "c", "startedAt": started,
                "hasRecording": with_data, "fileSize": 100 if with_data else 0, "recordingState": "complete",
                "gen": gen, **keys.list_index_keys(keys.SESSION, f"u{i % 50}", "rdp", started, sid, gen)}
        items.append(meta)
        if with_data:
            key = keys.recording_key(sid, "webm")
            meta["recordingKey"] = key
            items.append({"PK": pk, "SK": keys.REC, "id": sid, "state": "complete", "bytes": 100, "gen": gen})
            items.append({"PK": pk, "SK": keys.RETAIN, "id": sid, "bytes": 100, "key": key,
                          "GSI2PK": keys.RETAIN_PK, "GSI2SK": keys.list_sort_key(started, sid)})
            items.extend({"PK": pk, "SK": keys.command_sk(keys.sortable_elapsed(n), "b", n), "doc": "{}"}
                         for n in range(3))
            items.append({"PK": pk, "SK": keys.events_sk(keys.sortable_elapsed(0), "b", 0), "packed": b"x"})
            s3.put_object(Bucket="bench-purge", Key=key, Body=b"v" * 100)
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)
    deltas = {"sessions": count, **({"recordings": count} if with_data else {})}
    table.meta.client.transact_write_items(TransactItems=[counter_update(table.name, deltas, shard=0, gen=gen)])
    if with_data:
        table.meta.client.transact_write_items(TransactItems=[counter_update(table.name, {"bytes": 100 * count},
                                                                             shard=0)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,200000")
    parser.add_argument("--worker-sessions", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    skip_moto_rollback_copies()
    print("(moto in process; its per-transaction copy of the whole table skipped, see skip_moto_rollback_copies)")
    with mock_aws():
        get_settings.cache_clear()
        settings = dataclasses.replace(get_settings(), purge_settle_seconds=0.0)
        session = aws.session()
        schema.ensure(session.client("dynamodb"), session.client("s3"), "bench-purge", "bench-purge", ())
        table = aws.table("bench-purge")
        s3 = aws.s3_client()
        counts: collections.Counter[str] = collections.Counter()
        svc = container.build(settings, table=Counting(table, counts, "dynamodb"), s3=Counting(s3, counts, "s3"),
                              invoker=lambda name: None)
        filled = 0
        print("| sessions in the table | fill (s) | DELETE /sessions (ms) | AWS requests | by operation |")
        print("|---:|---:|---:|---:|---|")
        for size in sizes:
            started = time.perf_counter()
            fill(table, s3, size - filled, filled, gen=svc.generations.current())
            fill_seconds = time.perf_counter() - started
            filled = size
            counts.clear()
            started = time.perf_counter()
            answer = svc.purge.purge(ADMIN, "127.0.0.1")
            elapsed = (time.perf_counter() - started) * 1000
            assert answer["deletedSessions"] == size, answer
            ops = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in sorted(counts.items()))
            print(f"| {size:,} | {fill_seconds:.0f} | {elapsed:.0f} | {sum(counts.values())} | {ops} |")
            filled = 0  # the next size fills the new generation from scratch

        # the background deletion, per 1,000 sessions with recordings and audit records (the jobs of the purges
        # above are dropped: their sessions have nothing but META, and the table is left as it is)
        for job in svc.purge._repo.jobs():
            svc.purge._repo.delete_job(str(job["SK"]))
        fill(table, s3, args.worker_sessions, 10_000_000, gen=svc.generations.current(), with_data=True)
        svc.purge.purge(ADMIN, None)
        counts.clear()
        started = time.perf_counter()
        summary: dict[str, Any] = {}
        while True:
            summary = svc.purge.work()
            if not summary["jobsLeft"]:
                break
        elapsed = time.perf_counter() - started
        per = 1000 / args.worker_sessions
        print()
        print(f"worker: {args.worker_sessions} sessions with recordings in {elapsed:.1f} s (moto); per 1,000 sessions:")
        print("| operation | requests per 1,000 sessions |")
        print("|---|---:|")
        for op, n in sorted(counts.items()):
            print(f"| {op} | {n * per:.0f} |")
        print(f"| **total** | {sum(counts.values()) * per:.0f} |")
        print(f"summary: {summary}")


if __name__ == "__main__":
    main()
