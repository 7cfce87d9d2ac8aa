"""Seek latency in Chromium through a throttled link, before and after the seekable rewrite, for the same recording.

Starts moto's server (scripts/moto_server.py) and a static server for the viewer's page
(chalicelib/static/viewer/browser-check.html) on free loopback ports, and Debian's Chromium headless (Playwright,
CHROMIUM overrides /usr/bin/chromium). For each size, the recorded Chromium fixture
(tests/fixtures/webm/vp9-160x120-noise-10s-5000ms.webm: one keyframe, one unknown-size Cluster) is looped with
carried-on timestamps to that size; the bytes are put in the bucket as the client sent them (the **original**) and
rewritten by the completion step (`SeekableWriter.rewrite` + `verify`, chalicelib/media/rewrite.py) into the
**seekable** object. Each object is then played from its presigned URL by `browserCheck.playVideo` on a link
throttled to --rate bytes/s (DevTools `Network.emulateNetworkConditions`; no `crossorigin`, so every leg is
throttled), each measurement in a fresh browser context (empty cache):

- open: time to `loadedmetadata`, the duration then, and the time until a finite duration is known (the original:
  a seek past the end, which reads the whole file; what a player must do to draw a timeline);
- seek: time from setting `currentTime` to the middle (the true duration / 2) right after `loadedmetadata` until
  `seeked`, the bytes received by then, and the Range requests sent.

Medians of --repeats runs. Bounded by --seconds: a measurement that would start after it is skipped.

    .venv/bin/python -m bench.seek_latency [--sizes 3.5,16] (MB) [--rate 524288] [--repeats 3] [--seconds 420]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "fixtures" / "webm" / "vp9-160x120-noise-10s-5000ms.webm"
VIEWER = ROOT / "chalicelib" / "static" / "viewer"
BUCKET = "bench"


@contextmanager
def page_server() -> Iterator[str]:
    """The viewer's folder over HTTP on loopback (the page needs an http origin; it calls no API here)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(VIEWER)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/browser-check.html"
    finally:
        server.shutdown()


def objects(s3: Any, size: int, tag: str) -> dict[str, Any]:
    """The original and the seekable object of one looped recording, with presigned URLs."""
    from chalicelib.media import rewrite, webm
    from tests.support import webm as wf

    clip = CLIP.read_bytes()
    original = wf.looped(clip, size, period=math.ceil(webm.scan(clip).duration))
    index = webm.scan(original)
    original_key, seekable_key = f"recordings/{tag}.webm", f"recordings/{tag}.seekable.webm"
    s3.put_object(Bucket=BUCKET, Key=original_key, Body=original, ContentType="video/webm")
    writer = rewrite.SeekableWriter(s3, BUCKET)
    done = writer.rewrite(original_key, seekable_key, index)
    writer.verify(original_key, done)

    def url(key: str) -> str:
        found: str = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600)
        return found

    return {"size": len(original), "stored": done.size, "duration": index.duration_seconds, "cues": len(index.cues),
            "urls": {"original": url(original_key), "seekable": url(seekable_key)}}


def play(browser: Any, page_url: str, rate: int, options: dict[str, Any]) -> dict[str, Any]:
    """playVideo in a fresh context on a throttled link; adds what arrived and the Range headers sent."""
    from tests.support.browser import throttle

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(page_url)
        page.wait_for_function("() => window.browserCheck")
        link = throttle(page, rate)
        played: dict[str, Any] = page.evaluate("(options) => window.browserCheck.playVideo(options)",
                                               {"crossOrigin": None, **options})
        played["ranges"] = [r["range"] for r in link.requests if r["range"]]
        if played.get("seeks"):
            played["receivedBySeeked"] = link.received_by(played["seeks"][-1]["seekedAt"])
        return played
    finally:
        context.close()


def measure(browser: Any, page_url: str, rate: int, recording: dict[str, Any], name: str) -> dict[str, Any]:
    url = recording["urls"][name]
    middle = recording["duration"] / 2
    # the whole file at the link's rate, twice over, and 10 s for the rest
    timeout_ms = int(recording["size"] / rate * 2000) + 10_000
    opened = play(browser, page_url, rate, {"url": url, "seekTo": [], "learnDuration": True, "timeoutMs": timeout_ms})
    sought = play(browser, page_url, rate, {"url": url, "seekTo": [middle], "learnDuration": False,
                                            "timeoutMs": timeout_ms})
    for played in (opened, sought):
        if not played.get("ok"):
            raise RuntimeError(f"{name}: {played.get('error')}")
    [seek] = sought["seeks"]
    if seek["mediaTime"] is None or abs(seek["mediaTime"] - middle) > 0.5:
        raise RuntimeError(f"{name}: the seek to {middle:.2f} s presented {seek['mediaTime']}")
    return {"metadata_ms": opened["metadataMs"], "duration_at_metadata": opened["durationAtMetadata"],
            "duration_known_ms": opened["durationKnownMs"], "seek_metadata_ms": sought["metadataMs"],
            "seek_ms": seek["ms"], "received": sought["receivedBySeeked"], "ranges": sought["ranges"]}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        return float(statistics.median(run[key] for run in runs))

    def spread(key: str) -> str:
        values = [run[key] for run in runs]
        return f"{min(values) / 1000:.2f}-{max(values) / 1000:.2f}"

    return {"runs": len(runs), "metadata_ms": median("metadata_ms"), "duration_known_ms": median("duration_known_ms"),
            "seek_ms": median("seek_ms"), "seek_spread": spread("seek_ms"),
            "known_spread": spread("duration_known_ms"), "received": median("received"),
            "duration_at_metadata": runs[0]["duration_at_metadata"], "ranges": runs[0]["ranges"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="3.5,16", help="recording sizes in MB (10^6 bytes)")
    parser.add_argument("--rate", type=int, default=512 * 1024, help="link throughput, bytes per second")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=420)
    args = parser.parse_args()
    started = time.monotonic()
    sys.path.insert(0, str(ROOT))
    import boto3
    from playwright.sync_api import sync_playwright

    from bench.seekable import start_moto
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
    from tests.support.stack import free_port

    port = free_port()
    moto = start_moto(port)
    try:
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket=BUCKET)
        recordings = [objects(s3, int(float(size) * 1_000_000), f"r{n}")
                      for n, size in enumerate(args.sizes.split(","))]
        results: dict[tuple[int, str], list[dict[str, Any]]] = {}
        with page_server() as page_url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for repeat in range(args.repeats):
                    for n, recording in enumerate(recordings):
                        for name in ("original", "seekable"):
                            if time.monotonic() - started > args.seconds:
                                print(f"time budget spent: skipped repeat {repeat + 1} of {name} "
                                      f"{recording['size']:,} B", file=sys.stderr)
                                continue
                            results.setdefault((n, name), []).append(
                                measure(browser, page_url, args.rate, recording, name))
            finally:
                browser.close()
        print(report(recordings, results, args.rate, time.monotonic() - started))
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def report(recordings: list[dict[str, Any]], results: dict[tuple[int, str], list[dict[str, Any]]], rate: int,
           elapsed: float) -> str:
    lines = [f"link {rate / 1024:.0f} KiB/s (DevTools throttling), medians; run took {elapsed:.0f} s", "",
             "| recording | object | runs | duration at loadedmetadata | loadedmetadata | finite duration known | "
             "seek to the middle (after loadedmetadata) | received by seeked | Range requests of the seek run |",
             "|---|---|---:|---|---:|---:|---:|---:|---|"]
    for n, recording in enumerate(recordings):
        for name in ("original", "seekable"):
            runs = results.get((n, name))
            if not runs:
                continue
            row = summarise(runs)
            size = recording["size"] if name == "original" else recording["stored"]
            lines.append(
                f"| {recording['size'] / 1e6:.1f} MB, {recording['duration']:.0f} s, {recording['cues']} cues | "
                f"{name} ({size:,} B) | {row['runs']} | {row['duration_at_metadata']} | "
                f"{row['metadata_ms'] / 1000:.2f} s | {row['duration_known_ms'] / 1000:.2f} s "
                f"({row['known_spread']}) | {row['seek_ms'] / 1000:.2f} s ({row['seek_spread']}) | "
                f"{row['received'] / 1e6:.2f} MB | {', '.join(row['ranges'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    main()
