"""A completed WebM recording, made seekable by the sweep (docs/seekable-webm.md), plays in Chromium with a finite
duration at `loadedmetadata` and seeks with a Range request that starts at the target's Cluster, not at byte 0.

The recording: the recorded 10 s Chromium fixture (one keyframe, one unknown-size Cluster) looped with carried-on
timestamps to ~9.5 MB and ~8.5 minutes, uploaded as a recorder's chunks + finalize. The link is throttled to
512 KiB/s (DevTools protocol), so the player cannot have read ahead to the target: reading from byte 0 to 80 % of
the file would take ~15 s. The same bytes as the client sent them (put straight into the bucket) are the contrast:
no duration at `loadedmetadata`, and a seek that only ever reads on from byte 0.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests

from chalicelib.media import ebml, webm
from tests.support import webm as wf
from tests.support.browser import (
    BUCKET,
    admin_headers,
    fixtures_dir,
    range_start,
    second_shown,
    seekable_url,
    start_session,
    throttle,
)
from tests.support.stack import Stack

CLIP = "vp9-160x120-noise-10s-5000ms.webm"
TARGET_BYTES = 9_500_000
CHUNK_BYTES = 1024 * 1024
RATE = 512 * 1024  # bytes per second, the measurement
SECOND_IN_CLIP = 5.5  # the clip paints palette[5] then, so the frame shown says which second it is


@dataclass(frozen=True)
class Long:
    stack: Stack
    session_id: str
    original: bytes
    stored: bytes
    original_url: str  # the client's bytes, presigned straight from the bucket
    period: float  # seconds between loops of the clip
    duration: float  # seconds, as the scanner counts them
    palette: list[list[int]]


def stored_cues(stored: bytes) -> list[tuple[float, int]]:
    """(seconds, the Cluster's offset in the object) of each CuePoint, read from the stored object itself: the
    SeekHead names the Cues; positions are relative to the Segment's data."""
    header = ebml.read_header(stored, 0)
    assert header is not None and header[0] == ebml.EBML
    at = header[2] + header[1]
    segment = ebml.read_header(stored, at)
    assert segment is not None and segment[0] == ebml.SEGMENT and segment[1] != ebml.UNKNOWN
    data_start = at + segment[2]
    seek_head = next(ebml.children(stored, data_start, data_start + 200))
    assert seek_head.id == ebml.SEEK_HEAD
    positions = {}
    for seek in ebml.children(stored, seek_head.data_start, seek_head.end):
        fields = {c.id: stored[c.data_start:c.end] for c in ebml.children(stored, seek.data_start, seek.end)}
        positions[ebml.read_id(fields[ebml.SEEK_ID], 0)[0]] = ebml.uint(fields[ebml.SEEK_POSITION])  # type: ignore[index]
    scale = 1_000_000
    info = next(ebml.children(stored, data_start + positions[ebml.INFO], len(stored)))
    for child in ebml.children(stored, info.data_start, info.end):
        if child.id == ebml.TIMECODE_SCALE:
            scale = ebml.uint(stored[child.data_start:child.end])
    cues = next(ebml.children(stored, data_start + positions[ebml.CUES], len(stored)))
    assert cues.id == ebml.CUES and cues.end == len(stored)
    found = []
    for point in ebml.children(stored, cues.data_start, cues.end):
        time_ = cluster = None
        for child in ebml.children(stored, point.data_start, point.end):
            if child.id == ebml.CUE_TIME:
                time_ = ebml.uint(stored[child.data_start:child.end])
            elif child.id == ebml.CUE_TRACK_POSITIONS:
                for position in ebml.children(stored, child.data_start, child.end):
                    if position.id == ebml.CUE_CLUSTER_POSITION:
                        cluster = ebml.uint(stored[position.data_start:position.end])
        assert time_ is not None and cluster is not None
        found.append((time_ * scale / 1e9, data_start + cluster))
    return found


@pytest.fixture(scope="module")
def long_recording(recording_enabled: Stack) -> Long:
    stack = recording_enabled
    clip = (fixtures_dir() / CLIP).read_bytes()
    period = math.ceil(webm.scan(clip).duration)  # ticks (ms): loop n starts n periods in, no overlap
    original = wf.looped(clip, TARGET_BYTES, period=period)
    session_id = start_session(stack, "rdp", "browser-seekable")
    for at in range(0, len(original), CHUNK_BYTES):
        response = requests.post(f"{stack.base}/sessions/{session_id}/recording/chunk",
                                 data=original[at:at + CHUNK_BYTES],
                                 headers={**admin_headers(), "Content-Type": "application/octet-stream"}, timeout=30)
        assert response.status_code == 200, response.text
    finalized = requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize", headers=admin_headers(),
                              timeout=30)
    assert finalized.status_code == 200, finalized.text
    stored = requests.get(seekable_url(stack, session_id), timeout=30).content
    assert webm.rebuild(stored) == original
    s3 = boto3.client("s3", endpoint_url=stack.storage, region_name="us-east-1", aws_access_key_id="local",
                      aws_secret_access_key="local")
    key = "fixtures/seek-original.webm"
    s3.put_object(Bucket=BUCKET, Key=key, Body=original, ContentType="video/webm")
    original_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
    return Long(stack, session_id, original, stored, original_url, period / 1000, webm.scan(original).duration_seconds,
                fixture_palette())


def fixture_palette() -> list[list[int]]:
    palette: list[list[int]] = json.loads((fixtures_dir() / "fixtures.json").read_text())["palette"]
    return palette


def target(long: Long) -> float:
    """A time in the loop at ~80 % of the recording, half a second into the clip's sixth second."""
    loops = round(long.duration / long.period)
    return round(loops * 0.8) * long.period + SECOND_IN_CLIP


def to_storage(long: Long, link: Any) -> list[dict[str, Any]]:
    return [r for r in link.requests if r["url"].startswith(long.stack.storage)]


@pytest.mark.parametrize("cross_origin", [None, "use-credentials"])
def test_the_seekable_recording_has_its_duration_at_metadata_and_seeks_by_a_range_near_the_target(
        long_recording: Long, open_tab: Any, cross_origin: str | None) -> None:
    """Without `crossorigin` every leg is throttled, so what the page received bounds what the player read; with
    `use-credentials` (the frame can be read back) the first response is not (see `throttle`), but the player
    reads ahead only ~3.4 MiB there and stops."""
    long = long_recording
    tab = open_tab(long.stack)
    link = throttle(tab.page, RATE)
    seek_to = target(long)
    cue_time, cluster_at = max((cue for cue in stored_cues(long.stored) if cue[0] <= seek_to), key=lambda c: c[0])
    assert cluster_at > 0.7 * len(long.stored)

    played = tab.call("playVideo", {"sessionId": long.session_id, "crossOrigin": cross_origin, "seekTo": [seek_to],
                                    "timeoutMs": 10_000})

    assert played["ok"], played
    assert float(played["durationAtMetadata"]) == pytest.approx(long.duration, abs=0.001)  # finite, at once
    # known from the head alone: no seek to the end had to learn it (two clock readings a ms apart prove nothing)
    assert "durationLearnt" not in played and "durationKnownMs" in played
    [seek] = played["seeks"]
    assert seek["mediaTime"] is not None and seek_to - 0.2 <= seek["mediaTime"] <= seek_to
    sent = [r["range"] for r in to_storage(long, link)]
    near = [start for start in map(range_start, sent)
            if start is not None and cluster_at - 256 * 1024 <= start <= cluster_at]
    assert near, (cluster_at, sent)
    # reading on from byte 0 to the target at this rate would take ~15 s
    assert seek["ms"] < 5000, seek
    if cross_origin is None:
        assert seek["rgb"] is None
        assert link.received < 1_500_000, (link.received, cluster_at)  # the head, the Cues, one cluster, a bit more
    else:
        assert second_shown(seek["rgb"], long.palette) == 5  # the sought second's frame
        assert link.received < 0.6 * cluster_at, (link.received, cluster_at)
    print(f"\nseekable, crossorigin {cross_origin}: metadata {played['metadataMs']} ms (duration "
          f"{played['durationAtMetadata']}), seek to {seek_to:.1f} s (cue {cue_time:.1f} s, cluster at byte "
          f"{cluster_at:,} of {len(long.stored):,}) {seek['ms']} ms; Range headers {sent}; received "
          f"{link.received:,} bytes")


def test_the_clients_original_bytes_have_no_duration_and_seek_only_by_reading_on_from_byte_0(
        long_recording: Long, open_tab: Any) -> None:
    long = long_recording
    tab = open_tab(long.stack)
    link = throttle(tab.page, RATE)
    seek_to = target(long)

    played = tab.call("playVideo", {"url": long.original_url, "crossOrigin": "anonymous", "seekTo": [seek_to],
                                    "learnDuration": False, "timeoutMs": 2000})

    assert played["durationAtMetadata"] == "Infinity"
    assert "durationKnownMs" not in played and "durationLearnt" not in played
    assert not played["ok"] and "no seeked within 2000 ms" in played["error"], played  # still reading on
    assert [r["range"] for r in to_storage(long, link)] == ["bytes=0-"]
    assert link.received < 0.4 * len(long.original)  # ~1 MiB read in 2 s, nowhere near the target
    print(f"\noriginal: metadata {played['metadataMs']} ms (duration {played['durationAtMetadata']}), no seeked "
          f"within 2 s; Range headers {[r['range'] for r in to_storage(long, link)]}; received {link.received:,} bytes")
