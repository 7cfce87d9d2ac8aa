"""The WebM scanner, the seekable head and Cues, and the rebuild of the client's bytes, on real VP8/VP9 video."""

from __future__ import annotations

import itertools
import json
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from chalicelib.media import ebml, webm
from chalicelib.media.ebml import UNKNOWN
from tests.support import webm as wf


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, wf.Sample]:
    if not wf.have_ffmpeg():
        pytest.fail(wf.FFMPEG_MISSING)
    return wf.make_samples(tmp_path_factory.mktemp("webm"))


RECORDED = [f"chromium-{p.stem}" for p in sorted(wf.RECORDED.glob("*.webm"))] if wf.RECORDED.is_dir() else []
SAMPLE_NAMES = ["vp8", "vp9", "vp8-opus", *RECORDED]  # ffmpeg-made in MediaRecorder's layout, and real Chromium


def state_after(chunks: list[bytes], through_json: bool = False) -> dict[str, Any]:
    scanner = webm.Scanner()
    for chunk in chunks:
        if through_json:  # as between two Lambda invocations: the state goes through a DynamoDB item
            scanner = webm.Scanner.resume(json.loads(json.dumps(scanner.state.to_json())))
        scanner.feed(chunk)
    return scanner.state.to_json()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(data))), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def element_starts(data: bytes) -> list[int]:
    """Offsets of every Segment child and Cluster child in a MediaRecorder-style file."""
    head = webm.read_head(data)
    assert head is not None
    starts, at = [], head.first_cluster
    while at < len(data):
        element_id, size, header_length = ebml.read_header(data, at) or (0, 0, 0)
        starts.append(at)
        at += header_length if element_id == ebml.CLUSTER else header_length + size
    return starts


# ================================================================================================ parsing the result
def parse_stored(data: bytes) -> dict[str, Any]:
    """Walk a rewritten object strictly; every position it holds must point where it says."""
    head = webm.read_head(data)
    assert head is not None and head.segment_size != UNKNOWN
    segment_end = head.segment_data + head.segment_size
    assert segment_end == len(data), "the Segment's size covers the whole object"
    top: dict[int, int] = {}
    clusters: dict[int, tuple[int, list[tuple[int, int, bool]]]] = {}  # start: (timecode, [(at, ts, key)])
    at = head.segment_data
    while at < segment_end:
        element_id, size, header_length = ebml.read_header(data, at) or (0, 0, 0)
        if element_id != ebml.CLUSTER:
            assert size != UNKNOWN
            top.setdefault(element_id, at)
            at += header_length + size
            continue
        start, at, timecode, blocks = at, at + header_length, -1, []
        while at < segment_end:
            child_id, child_size, child_header = ebml.read_header(data, at) or (0, 0, 0)
            if child_id in ebml.SEGMENT_CHILDREN:
                break
            payload = data[at + child_header:at + child_header + child_size]
            if child_id == ebml.TIMECODE:
                timecode = ebml.uint(payload)
            elif child_id == ebml.SIMPLE_BLOCK:
                n = ebml.vint_length(payload[0])
                relative = struct.unpack(">h", payload[n:n + 2])[0]
                blocks.append((at, timecode + relative, bool(payload[n + 2] & 0x80)))
            elif child_id == ebml.BLOCK_GROUP:  # what Chromium writes: a keyframe references no other block
                inner = {c.id: payload[c.data_start:c.end] for c in ebml.children(payload, 0, len(payload))}
                block = inner[ebml.BLOCK]
                n = ebml.vint_length(block[0])
                relative = struct.unpack(">h", block[n:n + 2])[0]
                blocks.append((at, timecode + relative, ebml.REFERENCE_BLOCK not in inner))
            at += child_header + child_size
            assert at <= segment_end
        clusters[start] = (timecode, blocks)
    assert at == segment_end
    seek = {}
    seek_head = top[ebml.SEEK_HEAD]
    _, size, header_length = ebml.read_header(data, seek_head) or (0, 0, 0)
    for entry in ebml.children(data, seek_head + header_length, seek_head + header_length + size):
        values = {c.id: data[c.data_start:c.end] for c in ebml.children(data, entry.data_start, entry.end)}
        seek[ebml.uint(values[ebml.SEEK_ID])] = head.segment_data + ebml.uint(values[ebml.SEEK_POSITION])
    for element_id in (ebml.INFO, ebml.TRACKS, ebml.CUES):
        assert seek[element_id] == top[element_id], f"SeekHead entry 0x{element_id:X}"
    cues = []
    cues_at = top[ebml.CUES]
    _, size, header_length = ebml.read_header(data, cues_at) or (0, 0, 0)
    for point in ebml.children(data, cues_at + header_length, cues_at + header_length + size):
        values = {c.id: c for c in ebml.children(data, point.data_start, point.end)}
        time = ebml.uint(data[values[ebml.CUE_TIME].data_start:values[ebml.CUE_TIME].end])
        positions = values[ebml.CUE_TRACK_POSITIONS]
        fields = {c.id: ebml.uint(data[c.data_start:c.end])
                  for c in ebml.children(data, positions.data_start, positions.end)}
        cues.append((time, head.segment_data + fields[ebml.CUE_CLUSTER_POSITION], fields[ebml.CUE_RELATIVE_POSITION]))
    info = top[ebml.INFO]
    _, size, header_length = ebml.read_header(data, info) or (0, 0, 0)
    duration = next(ebml.float_value(data[c.data_start:c.end])
                    for c in ebml.children(data, info + header_length, info + header_length + size)
                    if c.id == ebml.DURATION)
    return {"head": head, "clusters": clusters, "cues": cues, "duration": duration}


def assert_cues_point_at_keyframes(parsed: dict[str, Any]) -> None:
    clusters = parsed["clusters"]
    assert parsed["cues"]
    for time, cluster_at, relative in parsed["cues"]:
        assert cluster_at in clusters, f"cue at {time} points at {cluster_at}, not at a Cluster"
        block_at = cluster_at + 12 + relative  # MediaRecorder's Cluster header: 4-byte ID, 8-byte size
        block = next(b for b in clusters[cluster_at][1] if b[0] == block_at)
        assert block[1] == time and block[2], "a cue names a keyframe with its timestamp"


# ================================================================================================ tests
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_recording_is_what_mediarecorder_writes(samples: dict[str, wf.Sample], name: str) -> None:
    data = samples[name].data
    head = webm.read_head(data)
    assert head is not None and head.segment_size == UNKNOWN
    assert wf.ffprobe_duration(samples[name].path) is None  # the problem: no duration
    assert ebml.encode_id(ebml.CUES) not in data[:head.first_cluster]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_any_chunking_gives_the_state_of_one_pass(samples: dict[str, wf.Sample], name: str) -> None:
    data = samples[name].data
    whole = state_after([data])
    rng = random.Random(name)
    starts = element_starts(data)
    # two chunks split inside every element ID and size VINT of the head and of the first and last clusters
    awkward = list(range(1, starts[0] + 40)) + [s + k for s in starts[:12] + starts[-12:] for k in range(1, 14)]
    for cut in awkward:
        assert state_after(split(data, [cut])) == whole, f"split at {cut}"
    # boundaries inside headers all through the file, resumed from JSON at each chunk
    assert state_after(split(data, [s + rng.randint(1, 12) for s in starts]), through_json=True) == whole
    for _ in range(5):
        assert state_after(split(data, [rng.randrange(len(data)) for _ in range(60)]), through_json=True) == whole


def test_one_byte_chunks(samples: dict[str, wf.Sample]) -> None:
    data = samples["vp9"].data[:40_000]
    assert state_after([data[i:i + 1] for i in range(len(data))]) == state_after([data])


def test_the_state_stays_small_and_cues_can_be_taken_away(samples: dict[str, wf.Sample]) -> None:
    data = wf.looped(samples["vp8"].data, 2_000_000)
    scanner, taken = webm.Scanner(), []
    for chunk in split(data, list(range(0, len(data), 65_536))):
        scanner.feed(chunk)
        taken.append(scanner.take_cues())  # stored with each part, as the pipeline would
        assert len(json.dumps(scanner.state.to_json())) < 2048
    assert scanner.finish(taken).cues == webm.scan(data).cues
    assert len(webm.scan(data).cues) > 50


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_rewritten_recording_is_seekable_and_decodes_the_same(samples: dict[str, wf.Sample], name: str,
                                                                  tmp_path: Path) -> None:
    sample = samples[name]
    original = sample.data
    index = webm.scan(original)
    stored = webm.plan(index).assemble(original)
    parsed = parse_stored(stored)
    assert_cues_point_at_keyframes(parsed)
    out = tmp_path / "seekable.webm"
    out.write_bytes(stored)
    truth = wf.last_frame_end(sample.path)
    duration = wf.ffprobe_duration(out)
    assert duration is not None and abs(duration - truth) <= 1 / sample.fps + 1e-6
    if sample.source != sample.path:
        source_duration = wf.ffprobe_duration(sample.source)  # ffmpeg's own muxer wrote this one
        assert source_duration is not None and abs(duration - source_duration) <= 1 / sample.fps + 1e-6
    assert wf.frame_hashes(out) == wf.frame_hashes(sample.path)
    for seconds in (0.45, 1.55, truth - 0.6):
        assert wf.seek_frame_hash(out, seconds) == wf.seek_frame_hash(sample.path, seconds)
    assert webm.rebuild(stored) == original
    assert wf.sha256(webm.rebuild(stored)) == wf.sha256(original)


def test_what_the_rewrite_changes(samples: dict[str, wf.Sample]) -> None:
    original = samples["vp8"].data
    index = webm.scan(original)
    plan = webm.plan(index)
    stored = plan.assemble(original)
    assert index.media_end == len(original) and plan.tail_header == b""
    assert stored[:index.head.index(ebml.encode_id(ebml.SEGMENT))] == original[:index.head.index(
        ebml.encode_id(ebml.SEGMENT))]  # the EBML header is kept
    clusters = original[index.first_cluster:]
    assert stored[len(plan.head):len(plan.head) + len(clusters)] == clusters  # the clusters are not touched
    assert stored.endswith(plan.cues)
    found = webm.layout(stored)
    assert found is not None and found.head == original[:index.first_cluster]
    assert webm.layout(original) is None and webm.rebuild(original) == original  # a never rewritten object
    pieces = {(a, b): stored[a:b] for a, b in [(0, 70_000)]}

    def read_range(start: int, end: int) -> bytes:
        return pieces.get((start, end)) or stored[start:end]

    assert b"".join(webm.rebuild_stream(read_range, block=10_000)) == original
    assert b"".join(webm.rebuild_stream(lambda a, b: original[a:b], block=10_000)) == original


def complete_video_blocks(original: bytes, end: int) -> int:
    """How many video blocks of `original` lie whole before `end`."""
    count, at = 0, webm.read_head(original).first_cluster  # type: ignore[union-attr]
    while at < end:
        element_id, size, header_length = ebml.read_header(original, at) or (0, 0, 0)
        if element_id == ebml.CLUSTER:
            at += header_length
            continue
        if element_id == ebml.SIMPLE_BLOCK and original[at + header_length] & 0x7F == 1 and \
                at + header_length + size <= end:
            count += 1
        at += header_length + size
    return count


@pytest.mark.parametrize("where", ["mid-block", "mid-cluster-header", "after-timecode", "lost-last-chunk"])
def test_a_recording_cut_short_is_indexed_to_its_last_complete_element(samples: dict[str, wf.Sample], where: str,
                                                                       tmp_path: Path) -> None:
    full = samples["vp8"].data
    starts = element_starts(full)
    clusters = [s for s in starts if full[s:s + 4] == ebml.encode_id(ebml.CLUSTER)]
    cut = {"mid-block": len(full) - 57, "mid-cluster-header": clusters[-2] + 6,
           "after-timecode": clusters[-3] + 12 + 3, "lost-last-chunk": len(full) * 3 // 5}[where]
    original = full[:cut]
    scanner = webm.Scanner()
    for chunk in split(original, list(range(0, cut, 4096))):
        scanner.feed(chunk)
    index = scanner.finish()
    assert index.media_end <= cut and index.media_end in [*starts, len(full)]
    assert all(c.cluster + c.header + c.relative < index.media_end for c in index.cues)
    plan = webm.plan(index)
    stored = plan.assemble(original)
    assert (plan.tail_header != b"") == (index.media_end < cut)
    assert webm.rebuild(stored) == original  # the cut-off bytes are kept, in a Void
    parsed = parse_stored(stored)
    assert_cues_point_at_keyframes(parsed)
    out = tmp_path / "cut.webm"
    out.write_bytes(stored)
    frames = wf.frame_hashes(out)
    expected = complete_video_blocks(full, index.media_end)
    assert len(frames) == expected
    full_path = samples["vp8"].path
    assert frames == wf.frame_hashes(full_path)[:expected]
    duration = wf.ffprobe_duration(out)
    assert duration is not None and abs(duration - expected / samples["vp8"].fps) <= 1 / samples["vp8"].fps + 1e-6


def test_an_ffmpeg_file_with_its_own_cues_is_indexed_up_to_them(samples: dict[str, wf.Sample],
                                                                tmp_path: Path) -> None:
    source = samples["vp8"].source.read_bytes()  # SeekHead, Void, Info with Duration, Tags, sized clusters, Cues
    index = webm.scan(source)
    assert index.media_end < len(source)  # the old Cues (and what follows) become the kept tail
    stored = webm.plan(index).assemble(source)
    assert webm.rebuild(stored) == source
    out = tmp_path / "remade.webm"
    out.write_bytes(stored)
    assert wf.frame_hashes(out) == wf.frame_hashes(samples["vp8"].source)
    duration = wf.ffprobe_duration(out)
    assert duration is not None and abs(duration - 4.0) <= 0.1 + 1e-6


def test_a_cut_inside_a_sized_cluster_drops_that_cluster(samples: dict[str, wf.Sample]) -> None:
    source = samples["vp8"].source.read_bytes()
    head = webm.read_head(source)
    assert head is not None
    clusters = [c for c in ebml.children(source, head.first_cluster, len(source)) if c.id == ebml.CLUSTER]
    last = clusters[-1]
    index = webm.scan(source[:last.end - 10])
    assert index.media_end == last.start
    assert max(c.cluster for c in index.cues) < last.start


@pytest.mark.parametrize("bad", [b"", b"not a webm at all", b"\x1a\x45\xdf\xa3\x80"])
def test_inputs_it_cannot_handle_are_refused(bad: bytes) -> None:
    with pytest.raises(webm.Unsupported):
        webm.scan(bad)


def test_a_cluster_after_the_cues_is_refused(samples: dict[str, wf.Sample]) -> None:
    data = samples["vp8"].data
    first = webm.read_head(data).first_cluster  # type: ignore[union-attr]
    spliced = data + ebml.element(ebml.CUES, b"") + data[first:]
    with pytest.raises(webm.Unsupported, match="Cluster"):
        webm.scan(spliced)


def test_the_head_alone_is_nothing_to_index(samples: dict[str, wf.Sample]) -> None:
    data = samples["vp8"].data
    first = webm.read_head(data).first_cluster  # type: ignore[union-attr]
    with pytest.raises(webm.Unsupported):
        webm.scan(data[:first + 14])


def test_ebml_sizes_round_trip() -> None:
    for value in (0, 1, 126, 127, 128, 16382, 16383, 2**35, 2**56 - 2):
        encoded = ebml.encode_size(value)
        assert ebml.read_size(encoded, 0) == (value, len(encoded))
    assert ebml.read_size(ebml.encode_size(UNKNOWN, 8), 0) == (UNKNOWN, 8)
    assert ebml.read_size(b"\xff", 0) == (UNKNOWN, 1)
    with pytest.raises(ebml.EbmlError):
        ebml.encode_size(200, 1)
