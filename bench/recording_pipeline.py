"""Recording pipeline benchmark, in one run against one moto server (scripts/moto_server.py on a free port).

1. POST 200 MiB in 256 KiB chunks through the service (the app in process via the Chalice test client, its
   AWS clients pointed at the moto server), then finalize; against PutObject of the same chunks straight to
   S3 with boto3 (the baseline).
2. AWS calls per chunk, counted with botocore `before-call` hooks on the service's own clients: amortized
   over the whole recording, and on the request path of a chunk that triggers no compaction.
3. Bytes moved inside AWS per byte recorded (request bodies sent plus object bodies read).
4. A recorded hour of RDP at the real client's cadence (one chunk per 5 s, CHUNK_HOUR bytes each): its AWS
   requests by kind, and their cost and the storage cost at AWS's public us-east-1 prices.

Usage: .venv/bin/python -m bench.recording_pipeline [--mib 200] [--chunk-kib 256]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.environment import use_bench_environment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK_HOUR = 100 * 1024  # bytes per 5 s chunk: a mostly still desktop at 10 fps VP9 (~160 kbit/s)
# AWS public prices, us-east-1 (2025): S3 Standard, DynamoDB on-demand, API Gateway REST, Lambda arm64
PRICE = {
    "s3_put_per_1k": 0.005,  # PUT, COPY, POST, LIST (incl. CreateMultipartUpload, UploadPart, Complete)
    "s3_get_per_1k": 0.0004,  # GET and all other requests; DELETE is free
    "s3_gb_month": 0.023,
    "ddb_write_per_m": 0.625,  # per million write request units
    "ddb_read_per_m": 0.125,  # per million read request units
    "apigw_per_m": 3.50,
    "lambda_per_m": 0.20,
    "lambda_gb_s": 0.0000133334,
}
S3_PUT_CLASS = {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "ListObjectsV2",
                "CopyObject"}
S3_FREE = {"DeleteObjects", "DeleteObject", "AbortMultipartUpload"}


class Meter:
    """Counts calls by operation and the bytes they move, from botocore's event hooks."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.bytes_sent = 0
        self.bytes_read = 0
        self.wru = 0.0
        self.rru = 0.0
        self.seconds: collections.Counter[str] = collections.Counter()
        self._started = 0.0

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self._before)
        client.meta.events.register("after-call.*.*", self._after)
        client.meta.events.register("before-parameter-build.s3.*", self._body)

    def total(self) -> int:
        return sum(self.calls.values())

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        self._started = time.perf_counter()

    def _body(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        body = params.get("Body")
        if model.name in ("PutObject", "UploadPart") and isinstance(body, (bytes, bytearray)):
            self.bytes_sent += len(body)

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        self.seconds[model.name] += time.perf_counter() - self._started
        if model.name == "GetObject":
            self.bytes_read += int(parsed.get("ContentLength", 0))
        for capacity in _consumed(parsed):
            self.wru += float(capacity.get("WriteCapacityUnits", 0) or 0)
            self.rru += float(capacity.get("ReadCapacityUnits", 0) or 0)


def _consumed(parsed: dict[str, Any]) -> list[dict[str, Any]]:
    found = parsed.get("ConsumedCapacity")
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def start_moto() -> tuple[subprocess.Popen[Any], str]:
    from tests.support.stack import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "scripts.moto_server", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("moto server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--chunk-kib", type=int, default=256)
    parser.add_argument("--max-user-bytes-per-day", type=int, default=None,
                        help="set this daily cap (high enough not to refuse) to measure the chunk path with it")
    args = parser.parse_args()

    moto, endpoint = start_moto()
    try:
        run(endpoint, args.mib * 1024 * 1024, args.chunk_kib * 1024, args.max_user_bytes_per_day)
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def run(endpoint: str, total: int, chunk_size: int, daily_cap: int | None = None) -> None:
    use_bench_environment("bench", "bench", "bench-secret-" + "x" * 32, AWS_ENDPOINT_URL=endpoint,
                          S3_ADDRESSING_STYLE="path", FINALIZE_GRACE_SECONDS="3")
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import aws, container
    from chalicelib.settings import get_settings
    from chalicelib.store import keys, schema
    from tests.support.clients import make_token

    get_settings.cache_clear()
    aws.reset()
    schema.ensure(boto3.client("dynamodb"), boto3.client("s3", config=_path_style()), "bench", "bench")
    settings = get_settings()
    table = aws.table("bench")
    s3 = aws.s3_client("path")
    meter = Meter()
    meter.attach(s3)
    meter.attach(table.meta.client)
    container.use(container.build(settings, table=table, s3=s3))
    admin = make_token("admin", role="admin", secret=settings.jwt_secret)
    auth = {"Authorization": f"Bearer {admin}"}
    rng = bytearray(os.urandom(chunk_size))

    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        client.http.put("/settings/recording", headers={**auth, "Content-Type": "application/json"},
                        body=json.dumps({"enabled": True, "maxUserBytesPerDay": daily_cap}).encode())

        def start() -> str:
            response = client.http.post("/sessions/rdp-session", headers={**auth, "Content-Type": "application/json"},
                                        body=b'{"connectionId": "bench"}')
            return str(response.json_body["sessionId"])

        # ---- 1. the service against straight PutObject ----------------------------------------------------
        chunks = []
        for n in range(total // chunk_size):
            rng[:8] = n.to_bytes(8, "big")  # each chunk distinct
            chunks.append(bytes(rng))
        session_id = start()
        per_request: list[int] = []
        started = time.perf_counter()
        before = meter.total()
        for body in chunks:
            mark = meter.total()
            response = client.http.post(f"/sessions/{session_id}/recording/chunk",
                                        headers={**auth, "Content-Type": "application/octet-stream"}, body=body)
            assert response.status_code == 200, response.body
            per_request.append(meter.total() - mark)
        append_seconds = time.perf_counter() - started
        append_calls = meter.total() - before
        sent, read = meter.bytes_sent, meter.bytes_read
        mark = meter.total()
        started = time.perf_counter()
        response = client.http.post(f"/sessions/{session_id}/recording/finalize", headers=auth, body=b"")
        finalize_seconds = time.perf_counter() - started
        finalize_calls = meter.total() - mark
        assert response.json_body["recordingState"] == "complete", response.body
        moved = (meter.bytes_sent + meter.bytes_read)
        recorded = len(chunks) * chunk_size
        plain = boto3.client("s3", config=_path_style())
        stored = plain.get_object(Bucket="bench", Key=keys.recording_key(session_id, "webm"))["Body"].read()
        exact = hashlib.sha256(stored).digest() == hashlib.sha256(b"".join(chunks)).digest()
        del stored

        baseline = boto3.client("s3", config=_path_style())
        started = time.perf_counter()
        for n, body in enumerate(chunks):
            baseline.put_object(Bucket="bench", Key=f"baseline/{n}", Body=body)
        baseline_seconds = time.perf_counter() - started

        quiet = [c for c in per_request if c == min(per_request)]
        mb = recorded / 1e6
        print("## Recording pipeline\n")
        print(f"One run, one moto server (scripts/moto_server.py), {len(chunks)} chunks of {chunk_size // 1024} KiB "
              f"= {recorded / 2**20:.0f} MiB; the service runs in process behind the Chalice test client; "
              f"maxUserBytesPerDay {daily_cap}.\n")
        print("| measure | value |\n|---|---|")
        print(f"| service: POST all chunks | {append_seconds:.1f} s ({mb / append_seconds:.0f} MB/s) |")
        print(f"| baseline: PutObject of the same chunks with boto3 | {baseline_seconds:.1f} s "
              f"({mb / baseline_seconds:.0f} MB/s) |")
        print(f"| service / baseline | {append_seconds / baseline_seconds:.2f}x (target <= 2x) |")
        print(f"| finalize (grace wait included) | {finalize_seconds:.2f} s, {finalize_calls} AWS calls |")
        print(f"| object exact (SHA-256 equal) | {exact} |")
        print(f"| AWS calls per chunk, amortized (appends) | {append_calls / len(chunks):.2f} (target <= 4) |")
        print(f"| ... including finalize | {(append_calls + finalize_calls) / len(chunks):.2f} |")
        print(f"| AWS calls on the path of a non-compacting chunk | {min(per_request)} "
              f"({len(quiet)} of {len(chunks)} chunks) (target <= 2) |")
        print(f"| AWS calls of a compacting chunk (max) | {max(per_request)} |")
        aws_seconds = {op: round(t, 2) for op, t in meter.seconds.most_common(6)}
        print(f"| time inside AWS calls (appends + finalize), by operation | {aws_seconds} |")
        print(f"| bytes moved inside AWS per byte recorded | {moved / recorded:.2f} "
              f"(appends alone: {(sent + read) / recorded:.2f}; floor 3) |")

        # ---- 4. a recorded hour of RDP -------------------------------------------------------------------
        plain_table = boto3.resource("dynamodb").Table("bench")
        hour = Meter()
        hour.attach(s3)
        hour.attach(table.meta.client)
        session_id = start()
        hour_chunks = 720
        rec_sizes = []
        for n in range(hour_chunks):
            rng[:8] = n.to_bytes(8, "big")
            client.http.post(f"/sessions/{session_id}/recording/chunk",
                             headers={**auth, "Content-Type": "application/octet-stream"},
                             body=bytes(rng[:CHUNK_HOUR]))
            if n % 10 == 0:  # the live item's size decides a commit's write units
                rec = plain_table.get_item(Key={"PK": keys.session_pk(session_id), "SK": keys.REC})["Item"]
                rec_sizes.append(len(str(rec)))
        client.http.post(f"/sessions/{session_id}/recording/finalize", headers=auth, body=b"")
        # the sweep's digest of the multipart object happens once, off the request path
        container.services().recordings.sweep()
        hour_bytes = hour_chunks * CHUNK_HOUR
        report_hour(hour, hour_chunks, hour_bytes, sum(rec_sizes) / len(rec_sizes))


def report_hour(meter: Meter, chunks: int, recorded: int, rec_bytes: float) -> None:
    s3_put = sum(n for op, n in meter.calls.items() if op in S3_PUT_CLASS)
    s3_get = sum(n for op, n in meter.calls.items() if op not in S3_PUT_CLASS and op not in S3_FREE
                 and op in ("GetObject", "HeadObject"))
    s3_free = sum(n for op, n in meter.calls.items() if op in S3_FREE)
    ddb_writes = {op: n for op, n in meter.calls.items()
                  if op in ("TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem")}
    ddb_reads = {op: n for op, n in meter.calls.items() if op in ("GetItem", "Query", "BatchGetItem")}
    rec_kb = max(1, math.ceil(rec_bytes / 1024))
    # write request units: a transaction costs 2 per KB per item; a commit writes REC and a counter shard
    commit_wru = chunks * 2 * (rec_kb + 1)
    other_wru = (sum(ddb_writes.values()) - chunks) * 2 * rec_kb
    reads_rru = sum(ddb_reads.values()) * rec_kb
    s3_cost = s3_put / 1000 * PRICE["s3_put_per_1k"] + s3_get / 1000 * PRICE["s3_get_per_1k"]
    ddb_cost = (commit_wru + other_wru) / 1e6 * PRICE["ddb_write_per_m"] + reads_rru / 1e6 * PRICE["ddb_read_per_m"]
    gb = recorded / 1e9
    storage_month = gb * PRICE["s3_gb_month"]
    edge = chunks / 1e6 * (PRICE["apigw_per_m"] + PRICE["lambda_per_m"]) + chunks * 0.2 * 0.5 * PRICE["lambda_gb_s"]
    print(f"\n### One recorded hour of RDP\n\n{chunks} chunks (one per 5 s) of {CHUNK_HOUR // 1024} KiB "
          f"= {recorded / 2**20:.0f} MiB, finalized, digest computed by the sweep.\n")
    print("| AWS requests | count | cost |\n|---|---|---|")
    print(f"| S3 PUT-class (PutObject, UploadPart, Create/Complete, List) | {s3_put} | ${s3_put / 1000 * 0.005:.4f} |")
    print(f"| S3 GET-class (GetObject, HeadObject) | {s3_get} | ${s3_get / 1000 * 0.0004:.5f} |")
    print(f"| S3 DeleteObjects (free) | {s3_free} | $0 |")
    print(f"| DynamoDB writes {dict(ddb_writes)} | {sum(ddb_writes.values())} | "
          f"${(commit_wru + other_wru) / 1e6 * PRICE['ddb_write_per_m']:.4f} (~{commit_wru + other_wru} WRU) |")
    print(f"| DynamoDB reads {dict(ddb_reads)} | {sum(ddb_reads.values())} | "
          f"${reads_rru / 1e6 * PRICE['ddb_read_per_m']:.5f} |")
    requests = s3_put + s3_get + s3_free + sum(ddb_writes.values()) + sum(ddb_reads.values())
    print(f"| **requests, S3 + DynamoDB** | {requests} | **${s3_cost + ddb_cost:.4f}** |")
    print(f"| API Gateway + Lambda for the {chunks} POSTs (512 MB, ~200 ms) | {chunks} | ${edge:.4f} |")
    print(f"| storage of the {recorded / 1e6:.0f} MB object | per month | ${storage_month:.4f} |")
    print(f"\nThe live REC item averages ~{rec_bytes / 1024:.1f} KB (write units counted as {rec_kb} KB per REC "
          f"write, 2x for transactions). Prices: {PRICE}.")


def _path_style() -> Any:
    from botocore.config import Config

    return Config(s3={"addressing_style": "path"})


if __name__ == "__main__":
    main()
