"""DynamoDB write units of storing RDP input events: packed (the service) against one item per event.

Writes the same events both ways into moto (in process): the service's way through the real route
(POST /sessions/{id}/recording/events), the baseline as one item per event, then reads each partition back and
prices every stored item by DynamoDB's size rules. A standard write costs 1 WCU per started KB of the item
(transactions cost twice that); a Query reads 1 RCU per started 4 KB of all the items it reads (strongly
consistent; eventually consistent is half). moto does not price requests, so the units are computed from sizes.

Two kinds of `elapsed`: rounded to the millisecond (12.734), and the float the browser really produces from
performance.now() (12.734500000476837), which compresses worse.

    .venv/bin/python -m bench.audit_write_units [--events 10000 300]
"""

from __future__ import annotations

import argparse
import json
import math
import random
from decimal import Decimal
from typing import Any

from bench.environment import use_bench_environment

SECRET = "bench-secret-" + "x" * 32
TABLE = "bench-audit"
BUCKET = "bench-audit"
KB = 1024
OTHER_SESSION = "sess_" + "0" * 32  # as long as the service's ids, so keys cost the same


def number_bytes(value: Decimal | int | float) -> int:
    """DynamoDB: 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1."""
    digits = "".join(map(str, Decimal(str(value)).as_tuple().digits)).strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def value_bytes(value: Any) -> int:
    from boto3.dynamodb.types import Binary

    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (Decimal, int, float)):
        return number_bytes(value)
    if isinstance(value, Binary):
        return len(value.value)
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (set, frozenset)):
        return sum(value_bytes(v) for v in value)
    if isinstance(value, list):
        return 3 + sum(value_bytes(v) + 1 for v in value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + value_bytes(v) + 1 for k, v in value.items())
    raise TypeError(type(value))


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values."""
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def write_units(items: list[dict[str, Any]]) -> int:
    return sum(max(1, math.ceil(item_bytes(item) / KB)) for item in items)


def read_units(items: list[dict[str, Any]]) -> int:
    return math.ceil(sum(item_bytes(item) for item in items) / (4 * KB))


def make_events(count: int, precise: bool, seed: int = 11) -> list[dict[str, Any]]:
    """A busy stretch of an RDP session an hour in: mostly mouse moves ~16 ms apart, some keys and clicks."""
    rng = random.Random(seed)
    now, events = 3600.0, []
    for _ in range(count):
        now += rng.uniform(0.008, 0.030)
        elapsed = now + rng.random() * 1e-12 if precise else round(now, 3)
        kind = rng.choices(("move", "key", "click"), weights=(85, 12, 3))[0]
        events.append({"elapsed": elapsed, "type": kind})
    return events


def baseline_items(session_id: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The design not taken: one item per event, keyed to be read back in elapsed order."""
    from chalicelib.store import keys

    return [
        {"PK": keys.session_pk(session_id),
         "SK": f"EVENT#{keys.sortable_elapsed(e['elapsed'])}#{index:05d}",
         "elapsed": Decimal(repr(e["elapsed"])), "event_type": e["type"]}
        for index, e in enumerate(events)
    ]


def measure(count: int, precise: bool) -> list[dict[str, Any]]:
    import boto3
    from boto3.dynamodb.conditions import Key
    from chalice.test import Client
    from moto import mock_aws

    from bench.aws_calls import CallCounter
    from chalicelib import aws, container
    from chalicelib.settings import get_settings
    from chalicelib.store import keys, schema
    from chalicelib.store.audit import compact, write_all
    from tests.support.clients import ROOT, make_token

    events = make_events(count, precise)
    rows = []
    with mock_aws():
        get_settings.cache_clear()
        aws.reset()
        container.use(None)
        schema.ensure(boto3.client("dynamodb"), boto3.client("s3"), TABLE, BUCKET)
        table = aws.table(get_settings().table_name)
        counter = CallCounter()
        counter.attach(table.meta.client)

        def stored(session_id: str) -> list[dict[str, Any]]:
            found = table.query(KeyConditionExpression=Key("PK").eq(keys.session_pk(session_id))
                                & Key("SK").begins_with("EVENT"))
            items = found["Items"]
            while "LastEvaluatedKey" in found:
                found = table.query(KeyConditionExpression=Key("PK").eq(keys.session_pk(session_id))
                                    & Key("SK").begins_with("EVENT"), ExclusiveStartKey=found["LastEvaluatedKey"])
                items += found["Items"]
            return items

        # baseline: one item per event
        counter.reset()
        write_all(table, baseline_items(OTHER_SESSION, events))
        baseline_requests = counter.total
        one_each = stored(OTHER_SESSION)
        rows.append({"layout": "one item per event", "items": len(one_each), "requests": baseline_requests,
                     "bytes": sum(map(item_bytes, one_each)), "wcu": write_units(one_each),
                     "rcu_read_all": read_units(one_each)})

        # reference: packed as plain JSON text (what zlib saves)
        from chalicelib.store.audit import EVENTS_PER_ITEM
        ordered = sorted(events, key=lambda e: e["elapsed"])
        plain_packs = [
            {"PK": keys.session_pk(OTHER_SESSION), "SK": keys.events_sk(keys.sortable_elapsed(chunk[0]["elapsed"]),
                                                                       "0123456789abcdef", part),
             "kind": "events", "count": len(chunk), "packed": compact([[e["elapsed"], e["type"]] for e in chunk])}
            for part, chunk in enumerate(ordered[i:i + EVENTS_PER_ITEM] for i in range(0, count, EVENTS_PER_ITEM))
        ]
        rows.append({"layout": "packed, JSON text (computed, not written)", "items": len(plain_packs),
                     "requests": None, "bytes": sum(map(item_bytes, plain_packs)), "wcu": write_units(plain_packs),
                     "rcu_read_all": read_units(plain_packs)})

        # the service: the real route, packed and zlib-compressed
        from app import app

        owner = make_token("alice", secret=SECRET)
        admin = make_token("admin", role="admin", secret=SECRET)
        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            client.http.put("/settings/recording", headers={"Authorization": f"Bearer {admin}",
                            "Content-Type": "application/json"}, body=json.dumps({"enabled": True}))
            created = client.http.post("/sessions", headers={"Authorization": f"Bearer {owner}",
                                       "Content-Type": "application/json"},
                                       body=json.dumps({"protocol": "rdp", "connectionId": "c1"}))
            session_id = json.loads(created.body)["sessionId"]
            counter.reset()
            response = client.http.post(f"/sessions/{session_id}/recording/events", body=json.dumps(events),
                                        headers={"Authorization": f"Bearer {owner}",
                                                 "Content-Type": "application/json"})
            assert response.status_code == 200, response.body
            calls = dict(counter.calls)
            packed = stored(session_id)
            back = json.loads(client.http.get(f"/sessions/{session_id}/recording/events",
                                              headers={"Authorization": f"Bearer {owner}"}).body)["events"]
            assert [e["elapsed"] for e in back] == [e["elapsed"] for e in ordered]  # exact, in order
        rows.append({"layout": "packed, zlib (the service)", "items": len(packed), "requests": sum(calls.values()),
                     "calls": calls, "bytes": sum(map(item_bytes, packed)), "wcu": write_units(packed),
                     "rcu_read_all": read_units(packed)})
    for row in rows:
        row.update({"events": count, "elapsed": "full float" if precise else "ms-rounded"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 300])
    args = parser.parse_args()
    use_bench_environment(TABLE, BUCKET, SECRET)
    print("| events | elapsed | layout | items | bytes stored | write units | AWS requests | read-all units |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for count in args.events:
        for precise in (False, True):
            for row in measure(count, precise):
                requests = "-" if row["requests"] is None else row["requests"]
                print(f"| {count:,} | {row['elapsed']} | {row['layout']} | {row['items']:,} | {row['bytes']:,} | "
                      f"{row['wcu']:,} | {requests} | {row['rcu_read_all']:,} |", flush=True)
                if "calls" in row:
                    print(f"<!-- service calls: {row['calls']} -->", flush=True)


if __name__ == "__main__":
    main()
