"""GET /sessions costs what a page holds, whatever the table holds.

Fills moto (in process) with N sessions, then reads page 1, a deep page through the cursor, and a deep page by
`page=` number, counting the DynamoDB items each request reads and the AWS calls it makes. moto's own Query
time grows with the table and says nothing about DynamoDB, so items read are the figure that matters.

    .venv/bin/python -m bench.list_paging [--sizes 1000 100000]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bench.environment import use_bench_environment

SECRET = "bench-secret-" + "x" * 32
TABLE = "bench-lists"
BUCKET = "bench-lists"


def fill(table: Any, count: int) -> None:
    from chalicelib.store import keys

    start = time.time() - count
    with table.batch_writer() as batch:
        for i in range(count):
            started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + i)) + ".000Z"
            session_id = f"sess_{i:08d}"
            batch.put_item(Item={
                "PK": keys.session_pk(session_id), "SK": keys.META, "kind": keys.SESSION, "id": session_id,
                "userId": f"user{i % 50}", "username": f"user{i % 50}", "protocol": ("ssh", "rdp")[i % 2],
                "connectionId": "c1", "connectionName": "c1", "startedAt": started, "hasRecording": True,
                "fileSize": 123456, "recordingState": "complete",
                **keys.list_index_keys(keys.SESSION, f"user{i % 50}", ("ssh", "rdp")[i % 2], started, session_id),
            })


def measure(size: int) -> list[dict[str, Any]]:
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from bench.aws_calls import CallCounter
    from chalicelib import aws, container
    from chalicelib.settings import get_settings
    from chalicelib.store import schema
    from tests.support.clients import ROOT, make_token

    rows = []
    with mock_aws():
        get_settings.cache_clear()
        aws.reset()
        container.use(None)
        schema.ensure(boto3.client("dynamodb"), boto3.client("s3"), TABLE, BUCKET)
        fill(boto3.resource("dynamodb").Table(TABLE), size)
        counter = CallCounter()
        counter.attach(aws.table(get_settings().table_name).meta.client)
        from app import app

        token = make_token("admin", role="admin", secret=SECRET)
        headers = {"Authorization": f"Bearer {token}"}
        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            cursor = None
            for _ in range(5):  # walk 5 pages through the cursor to reach a deep one
                page = json.loads(client.http.get(
                    "/sessions?limit=25" + (f"&cursor={cursor}" if cursor else ""), headers=headers).body)
                cursor = page["nextCursor"]
            for label, path in [("page 1", "/sessions?limit=25"),
                                ("deep page via cursor", f"/sessions?limit=25&cursor={cursor}"),
                                ("page=40 by number", "/sessions?limit=25&page=40"),
                                ("limit=2000 (the real UI)", "/sessions?limit=2000")]:
                counter.reset()
                began = time.perf_counter()
                response = client.http.get(path, headers=headers)
                elapsed = time.perf_counter() - began
                assert response.status_code == 200, response.body
                rows.append({"sessions": size, "request": label, "items_read": counter.items_read,
                             "aws_calls": counter.total, "returned": len(json.loads(response.body)["sessions"]),
                             "seconds_in_moto": round(elapsed, 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    args = parser.parse_args()
    use_bench_environment(TABLE, BUCKET, SECRET)
    print("| sessions in table | request | items read | AWS calls | returned | seconds (moto) |")
    print("|---:|---|---:|---:|---:|---:|")
    for size in args.sizes:
        for row in measure(size):
            print(f"| {row['sessions']:,} | {row['request']} | {row['items_read']} | {row['aws_calls']} | "
                  f"{row['returned']} | {row['seconds_in_moto']} |", flush=True)


if __name__ == "__main__":
    main()
