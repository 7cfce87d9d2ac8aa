"""DELETE /sessions at two table sizes and with many holds, and the background deletion's AWS calls per 1,000
sessions (moto in process).

    .venv/bin/python -m bench.purge [--sizes 1000,200000] [--holds 1000] [--worker-sessions 1000]

The table is filled directly in moto's memory (META items in their list partitions, holds, the counters), as the
service would have written them. The purge is timed and its AWS requests counted by operation; the baseline is
the same purge on the small table, measured in the same run: the request must make the same calls whatever the
table holds. Then a purge that keeps `--holds` sessions on hold counts the requests the caller waits for in
sequence, moving the holds one request at a time (the baseline) and 8 at once (the service). Then 1,000
sessions, each with a finished recording (REC, RETAIN, S3 object), 3 commands and a pack of input events, are
deleted by the worker, and its requests are counted. moto runs with scripts/moto_speedups.py.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import threading
import time
from typing import Any

from moto import mock_aws

from bench.environment import use_bench_environment
from chalicelib import aws, container
from chalicelib.domain.access import Caller
from chalicelib.settings import get_settings
from chalicelib.store import dynamo, keys, schema
from chalicelib.store.counters import counter_update
from chalicelib.store.generations import Generations
from scripts import moto_speedups

use_bench_environment("bench-purge", "bench-purge", "b" * 40)  # settings are read on first use, after this

ADMIN = Caller("bench", "bench", "admin", frozenset({"sessions.delete", "settings.manage"}))


BY_THREAD: collections.Counter[str] = collections.Counter()  # requests by the thread that sent them
_counting_lock = threading.Lock()


def round_trips_in_sequence() -> int:
    """The requests the caller waits for one after another: those its own thread sends, plus, for each fan-out
    (a ThreadPoolExecutor, threads named `ThreadPoolExecutor-<n>_<m>`), the most any one of its threads sent.
    On AWS the request's time is about this times one round trip (moto's own CPU time, serialised by the GIL,
    says nothing about that)."""
    pools: dict[str, int] = collections.defaultdict(int)
    own = 0
    for thread, n in BY_THREAD.items():
        if thread.startswith("ThreadPoolExecutor-"):
            pool = thread.rsplit("_", 1)[0]
            pools[pool] = max(pools[pool], n)
        else:
            own += n
    return own + sum(pools.values())


class Counting:
    """A boto3 client/Table proxy counting requests by operation (from any thread)."""

    def __init__(self, target: Any, counts: collections.Counter[str], label: str) -> None:
        self._target, self._counts, self._label = target, counts, label

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in ("meta", "client"):
            return Counting(value, self._counts, self._label)
        if not callable(value) or name.startswith("_") or name in ("generate_presigned_url", "name"):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with _counting_lock:
                self._counts[f"{self._label}.{name}"] += 1
                BY_THREAD[threading.current_thread().name] += 1
            return value(*args, **kwargs)

        return call


def put_into_moto(table_name: str, items: list[dict[str, Any]]) -> None:
    """Store items straight into moto's in-memory table. Through BatchWriteItem moto spends ~4 ms per item
    (request parsing, size checks) and slows as the table grows: 200,000 sessions took too long to fill. The
    items are the ones the service writes; only the way they get into the emulator differs."""
    from boto3.dynamodb.types import TypeSerializer
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][aws.session().region_name]
    moto_table = backend.get_table(table_name)
    serialize = TypeSerializer().serialize
    for item in items:
        moto_table.put_item({name: serialize(value) for name, value in item.items()})


def fill(table: Any, s3: Any, count: int, start: int, gen: int = 0, with_data: bool = False, held: int = 0) -> None:
    started = "2024-01-01T00:00:00.000Z"
    items: list[dict[str, Any]] = []
    for i in range(start, start + count):
        sid = f"sess_{i:08d}"
        pk = keys.session_pk(sid)
        meta = {"PK": pk, "SK": keys.META, "kind": keys.SESSION, "id": sid, "userId": f"u{i % 50}", "username": "u",
                "protocol": "rdp", "connectionId": "c", "connectionName": "c", "startedAt": started,
                "hasRecording": with_data, "fileSize": 100 if with_data else 0,
                "gen": gen, **keys.list_index_keys(keys.SESSION, f"u{i % 50}", "rdp", started, sid, gen)}
        items.append(meta)
        if i - start < held:
            meta.update(onHold=True, heldAt=started, heldBy="bench")
            items.append({"PK": keys.HOLDS_PK, "SK": keys.hold_sk(keys.SESSION, sid), "kind": "hold", "id": sid,
                          "heldAt": started, "heldBy": "bench"})
        if with_data:
            key = keys.recording_key(sid, "webm")
            meta.update(recordingKey=key, recordingState="complete")
            items.append({"PK": pk, "SK": keys.REC, "id": sid, "state": "complete", "bytes": 100, "gen": gen})
            items.append({"PK": pk, "SK": keys.RETAIN, "id": sid, "bytes": 100, "key": key,
                          "GSI2PK": keys.RETAIN_PK, "GSI2SK": keys.list_sort_key(started, sid)})
            items.extend({"PK": pk, "SK": keys.command_sk(keys.sortable_elapsed(n), "b", n), "doc": "{}"}
                         for n in range(3))
            items.append({"PK": pk, "SK": keys.events_sk(keys.sortable_elapsed(0), "b", 0), "packed": b"x"})
            s3.put_object(Bucket="bench-purge", Key=key, Body=b"v" * 100)
    put_into_moto(table.name, items)
    deltas = {"sessions": count, **({"recordings": count} if with_data else {}),
              **({"heldSessions": held} if held else {})}
    table.meta.client.transact_write_items(TransactItems=[counter_update(table.name, deltas, shard=0, gen=gen)])
    if with_data:
        table.meta.client.transact_write_items(TransactItems=[counter_update(table.name, {"bytes": 100 * count},
                                                                             shard=0)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,200000")
    parser.add_argument("--holds", type=int, default=1000)
    parser.add_argument("--worker-sessions", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    moto_speedups.install()
    print("(moto in process; its whole-table costs removed, see scripts/moto_speedups.py)")
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
        svc.purge.purge(ADMIN, None)  # warm-up on the empty table (first-call costs), not reported
        filled = 0
        print("| sessions in the table | fill (s) | DELETE /sessions (ms) | AWS requests | by operation |")
        print("|---:|---:|---:|---:|---|")
        for size in sizes:
            started = time.perf_counter()
            fill(table, s3, size - filled, filled, gen=Generations(table).current())
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

        # many holds: the purge moves them into the new generation inside the request (a fresh table each row)
        print()
        print(f"{args.holds:,} held sessions among {args.holds + 1000:,}:")
        print("| moved | AWS requests | in sequence | at 20 ms a request | DELETE /sessions in moto (ms) "
              "| by operation |")
        print("|---|---:|---:|---:|---:|---|")
        for label, in_flight in (("one request at a time (baseline)", 1), ("8 at once (the service)", 8)):
            name = f"bench-purge-holds-{in_flight}"
            schema.ensure(session.client("dynamodb"), session.client("s3"), name, "bench-purge", ())
            holds_table = aws.table(name)
            holds_svc = container.build(settings, table=Counting(holds_table, counts, "dynamodb"),
                                        s3=Counting(s3, counts, "s3"), invoker=lambda name: None)
            fill(holds_table, s3, args.holds + 1000, 0, held=args.holds)
            dynamo.IN_FLIGHT = in_flight
            BY_THREAD.clear()
            counts.clear()
            started = time.perf_counter()
            answer = holds_svc.purge.purge(ADMIN, None)
            elapsed = (time.perf_counter() - started) * 1000
            assert answer["keptOnHold"] == args.holds and answer["deletedSessions"] == 1000, answer
            ops = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in sorted(counts.items()))
            sequence = round_trips_in_sequence()
            print(f"| {label} | {sum(counts.values())} | {sequence} | {sequence * 20} ms | {elapsed:.0f} | {ops} |")
        dynamo.IN_FLIGHT = 8

        # the background deletion, per 1,000 sessions with recordings and audit records (the jobs of the purges
        # above are dropped: their sessions have nothing but META, and the table is left as it is)
        for job in svc.purge._repo.jobs():
            svc.purge._repo.delete_job(job.sk)
        fill(table, s3, args.worker_sessions, 10_000_000, gen=Generations(table).current(), with_data=True)
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
