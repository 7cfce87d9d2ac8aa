"""Seekable WebM completion: data moved and time spent for a small and a large recording, against the naive rewrite.

Starts moto's server (scripts/moto_server.py) on a free loopback port, builds MediaRecorder-style WebM recordings
of each size (ffmpeg-encoded noise video, looped with carried-on timestamps: tests/support/webm.py), uploads
each as the recording pipeline would leave it, then measures, for each size:

- scan: feeding the stream to the scanner in 4 MiB chunks (the CPU the chunk path adds);
- seekable: SeekableWriter.rewrite + verify (chalicelib/media/rewrite.py), the completion step;
- naive (baseline): GetObject of the whole original, rewrite in memory, PutObject of the whole result.

Requests and bytes are counted on the wire by botocore event hooks (bench/s3_traffic.py). moto copies in its own
memory, so its UploadPartCopy time says little about S3's (S3 copies server-side at several hundred MB/s per part);
the bytes through the client are the figure that carries over. Bounded by --seconds.

    .venv/bin/python -m bench.seekable [--sizes 1,1024] (MiB) [--seconds 540]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024


def start_moto(port: int) -> subprocess.Popen[bytes]:
    import requests

    process = subprocess.Popen([sys.executable, "-m", "scripts.moto_server", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start")


def upload(s3: Any, bucket: str, key: str, data: bytes) -> None:
    """As the pipeline leaves it: a multipart object of 64 MiB parts (one PutObject when small)."""
    if len(data) <= 64 * MiB:
        s3.put_object(Bucket=bucket, Key=key, Body=data)
        return
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="video/webm")["UploadId"]
    parts = []
    for number, at in enumerate(range(0, len(data), 64 * MiB), start=1):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                              Body=data[at:at + 64 * MiB])["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})


def measure(s3: Any, bucket: str, data: bytes, traffic: Any) -> dict[str, Any]:
    from chalicelib.media import rewrite, webm

    upload(s3, bucket, "recordings/r.webm", data)
    began = time.perf_counter()
    scanner, taken = webm.Scanner(), []
    for at in range(0, len(data), 4 * MiB):
        scanner.feed(data[at:at + 4 * MiB])
        taken.append(scanner.take_cues())
    index = scanner.finish(taken)
    scan_seconds = time.perf_counter() - began

    writer = rewrite.SeekableWriter(s3, bucket)
    traffic.reset()
    began = time.perf_counter()
    done = writer.rewrite("recordings/r.webm", "recordings/r.seekable.webm", index)
    writer.verify("recordings/r.webm", done)
    seekable_seconds = time.perf_counter() - began
    seekable = traffic.summary()

    traffic.reset()
    began = time.perf_counter()
    original = s3.get_object(Bucket=bucket, Key="recordings/r.webm")["Body"].read()
    s3.put_object(Bucket=bucket, Key="recordings/r.naive.webm", Body=webm.plan(index).assemble(original))
    naive_seconds = time.perf_counter() - began
    naive = traffic.summary()
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in (
        "recordings/r.webm", "recordings/r.seekable.webm", "recordings/r.naive.webm")]})
    return {"size": len(data), "clusters": index.clusters, "cues": len(index.cues),
            "duration": index.duration_seconds, "scan_seconds": scan_seconds, "seekable_seconds": seekable_seconds,
            "seekable": seekable, "naive_seconds": naive_seconds, "naive": naive,
            "head": len(done.plan.head), "cues_bytes": len(done.plan.cues)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,1024", help="recording sizes in MiB")
    parser.add_argument("--seconds", type=float, default=540)
    args = parser.parse_args()
    started = time.monotonic()
    sys.path.insert(0, str(ROOT))
    import boto3

    from bench.s3_traffic import S3Traffic
    from tests.support import webm as wf
    from tests.support.stack import free_port

    port = free_port()
    moto = start_moto(port)
    try:
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket="bench")
        traffic = S3Traffic().attach(s3)
        with tempfile.TemporaryDirectory() as folder:
            noisy = wf.chrome_style(wf.encode(Path(folder) / "noise.webm", seconds=2.0, size="320x240",
                                              bitrate="4M", gop=10, noise=True))
        rows = []
        for size in (int(s) for s in args.sizes.split(",")):
            if time.monotonic() - started > args.seconds:
                print(f"time budget spent before {size} MiB", file=sys.stderr)
                break
            data = wf.looped(noisy, size * MiB)
            rows.append(measure(s3, "bench", data, traffic))
            del data
        print(report(rows))
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def report(rows: list[dict[str, Any]]) -> str:
    def mib(n: int) -> str:
        return f"{n / MiB:,.2f}"

    lines = ["| recording | clusters / cues | scan (4 MiB chunks) | completion | requests | through client "
             "(read + written MiB) | copied in S3 (MiB) | seconds | of which inside UploadPartCopy |",
             "|---|---:|---:|---|---|---:|---:|---:|---:|"]
    for row in rows:
        for name in ("seekable", "naive"):
            counted = row[name]
            calls = ", ".join(f"{k} {v}" for k, v in counted["calls"].items())
            lines.append(
                f"| {mib(row['size'])} MiB ({row['duration']:,.0f} s) | {row['clusters']:,} / {row['cues']:,} | "
                f"{row['scan_seconds']:.2f} s | {name} | {calls} | "
                f"{mib(counted['received'])} + {mib(counted['sent'])} | {mib(counted['copied'])} | "
                f"{row[name + '_seconds']:.2f} | {counted['copy_seconds']:.2f} |")
    lines.append("")
    lines += [f"- {mib(row['size'])} MiB {name}: seconds inside each operation {row[name]['op_seconds']}"
              for row in rows for name in ("seekable", "naive")]
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    main()
