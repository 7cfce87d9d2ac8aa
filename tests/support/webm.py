"""WebM test material: ffmpeg-encoded video rewritten the way Chromium's MediaRecorder writes it, and (without
ffmpeg) `synthetic_webm()`, random frames in MediaRecorder's element layout.

MediaRecorder (libwebm's live mode) writes: the EBML header, a Segment of unknown size, Info (TimecodeScale,
MuxingApp/WritingApp "Chrome", no Duration), Tracks, then Clusters of unknown size holding a Timecode and
SimpleBlocks; no SeekHead, no Cues. ffmpeg 5.1 cannot write exactly that (its live mode keeps a SeekHead, a
Void and Tags, and sizes its clusters), so `chrome_style()` re-muxes ffmpeg's blocks byte for byte into that shape.
Clusters start at every keyframe and also every `split_every` blocks, so some clusters start with an inter frame,
as Chromium's do when a keyframe is more than ~32 s away.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from chalicelib.media import ebml
from chalicelib.media.ebml import UNKNOWN

FFMPEG_MISSING = ("ffmpeg is not installed: `make test` installs Debian's ffmpeg when run as root "
                  "(or run `apt-get install -y ffmpeg`)")


def have_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def encode(out: Path, codec: str = "vp8", seconds: float = 4.0, fps: int = 10, size: str = "160x120",
           gop: int = 15, bitrate: str = "200k", audio: bool = False, noise: bool = False) -> bytes:
    """A WebM from ffmpeg's test pattern (a plain file: known sizes, Cues, Duration)."""
    source = f"testsrc2=size={size}:rate={fps}"
    if noise:  # incompressible frames: a big file from a short encode
        source = f"nullsrc=size={size}:rate={fps},geq=random(1)*255:128:128"
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-t", str(seconds), "-c:v", "libvpx" if codec == "vp8" else "libvpx-vp9", "-g", str(gop),
             "-b:v", bitrate, "-deadline", "realtime", "-cpu-used", "8"]
    args += ["-c:a", "libopus", "-b:a", "32k"] if audio else ["-an"]
    args += ["-f", "webm", str(out)]
    subprocess.run(args, check=True, timeout=120)
    return out.read_bytes()


@dataclass(frozen=True)
class Block:
    timestamp: int  # absolute, in TimecodeScale ticks
    keyframe: bool
    track: int
    raw_after_timecode: bytes  # the SimpleBlock's bytes after its 2-byte relative timecode
    track_vint: bytes


def blocks_of(webm: bytes) -> tuple[bytes, bytes, bytes, list[Block]]:
    """(EBML header, Info, Tracks, every block) of a WebM whose elements all have known sizes."""
    header = ebml.read_header(webm, 0)
    assert header is not None and header[0] == ebml.EBML
    ebml_header = webm[:header[2] + header[1]]
    segment = ebml.read_header(webm, len(ebml_header))
    assert segment is not None and segment[0] == ebml.SEGMENT
    start = len(ebml_header) + segment[2]
    end = len(webm) if segment[1] == UNKNOWN else start + segment[1]
    info = tracks = b""
    blocks: list[Block] = []
    for child in ebml.children(webm, start, end):
        if child.id == ebml.INFO:
            info = webm[child.start:child.end]
        elif child.id == ebml.TRACKS:
            tracks = webm[child.start:child.end]
        elif child.id == ebml.CLUSTER:
            timecode = 0
            for part in ebml.children(webm, child.data_start, child.end):
                if part.id == ebml.TIMECODE:
                    timecode = ebml.uint(webm[part.data_start:part.end])
                block = None
                if part.id == ebml.SIMPLE_BLOCK:
                    block = webm[part.data_start:part.end]
                    keyframe = bool(block[0 + _vint_len(block) + 2] & 0x80)
                elif part.id == ebml.BLOCK_GROUP:
                    inner = {c.id: webm[c.data_start:c.end] for c in ebml.children(webm, part.data_start, part.end)}
                    block = inner[ebml.BLOCK]
                    keyframe = ebml.REFERENCE_BLOCK not in inner
                if block is not None:
                    n = _vint_len(block)
                    relative = int.from_bytes(block[n:n + 2], "big", signed=True)
                    flags = block[n + 2] | (0x80 if keyframe else 0)
                    blocks.append(Block(timecode + relative, keyframe, block[0] & 0x7F, bytes([flags]) + block[n + 3:],
                                        block[:n]))
    return ebml_header, info, tracks, blocks


def _vint_len(data: bytes) -> int:
    return ebml.vint_length(data[0])


def _info_without_duration(info: bytes) -> bytes:
    header = ebml.read_header(info, 0)
    assert header is not None
    kept = b""
    for child in ebml.children(info, header[2], len(info)):
        if child.id in (ebml.DURATION, 0x4D80, 0x5741):  # Duration, MuxingApp, WritingApp
            continue
        kept += info[child.start:child.end]
    return ebml.element(ebml.INFO, kept + ebml.element(0x4D80, b"Chrome") + ebml.element(0x5741, b"Chrome"))


def _tracks_without_default_duration(tracks: bytes) -> bytes:
    """Chromium writes no DefaultDuration (its frames come when the canvas changes): the last frame's duration
    must then be estimated from the gaps between frames."""
    header = ebml.read_header(tracks, 0)
    assert header is not None
    entries = b""
    for entry in ebml.children(tracks, header[2], len(tracks)):
        kept = b"".join(tracks[c.start:c.end] for c in ebml.children(tracks, entry.data_start, entry.end)
                        if c.id != ebml.DEFAULT_DURATION)
        entries += ebml.element(entry.id, kept)
    return ebml.element(ebml.TRACKS, entries)


def cluster(timecode: int, blocks: list[Block]) -> bytes:
    body = ebml.uint_element(ebml.TIMECODE, timecode)
    for block in blocks:
        relative = (block.timestamp - timecode).to_bytes(2, "big", signed=True)
        body += ebml.element(ebml.SIMPLE_BLOCK, block.track_vint + relative + block.raw_after_timecode)
    return ebml.encode_id(ebml.CLUSTER) + ebml.encode_size(UNKNOWN, 8) + body


def chrome_style(webm: bytes, split_every: int = 7) -> bytes:
    """The same frames as MediaRecorder would lay them out (see the module's docstring)."""
    ebml_header, info, tracks, blocks = blocks_of(webm)
    out = [ebml_header, ebml.encode_id(ebml.SEGMENT), ebml.encode_size(UNKNOWN, 8), _info_without_duration(info),
           _tracks_without_default_duration(tracks)]
    group: list[Block] = []
    for block in blocks:
        if group and ((block.keyframe and block.track == 1) or len(group) >= split_every
                      or block.timestamp - group[0].timestamp > 30000):
            out.append(cluster(group[0].timestamp, group))
            group = []
        group.append(block)
    if group:
        out.append(cluster(group[0].timestamp, group))
    return b"".join(out)


def clusters_of(chrome: bytes) -> tuple[bytes, list[tuple[int, bytes]]]:
    """(bytes before the first Cluster, [(timecode, the cluster's bytes after its Timecode)]) of chrome_style()."""
    found = []
    marker = ebml.encode_id(ebml.CLUSTER) + ebml.encode_size(UNKNOWN, 8)
    starts = []
    at = chrome.find(marker)
    head = chrome[:at]
    while at >= 0:
        starts.append(at)
        at = chrome.find(marker, at + 1)
    starts.append(len(chrome))
    for start, end in itertools.pairwise(starts):
        body = chrome[start + len(marker):end]
        header = ebml.read_header(body, 0)
        assert header is not None and header[0] == ebml.TIMECODE
        found.append((ebml.uint(body[header[2]:header[2] + header[1]]), body[header[2] + header[1]:]))
    return head, found


def looped(chrome: bytes, target_bytes: int, period: int | None = None) -> bytes:
    """chrome_style() (or Chromium's own) bytes played again and again (timestamps carried on) until
    `target_bytes`: a big recording from a small encode, still decodable since every loop starts at a keyframe.
    Loop n's timestamps are shifted by n * `period` ticks (default: the last cluster's timecode + 1000, which
    suits clusters of at most a second; a single long cluster, as Chromium writes, needs its duration)."""
    head, clusters = clusters_of(chrome)
    if period is None:
        period = clusters[-1][0] + 1000
    out = [head]
    size, loop = len(head), 0
    while size < target_bytes:
        for timecode, body in clusters:
            piece = ebml.encode_id(ebml.CLUSTER) + ebml.encode_size(UNKNOWN, 8) + \
                ebml.uint_element(ebml.TIMECODE, timecode + loop * period) + body
            out.append(piece)
            size += len(piece)
        loop += 1
    return b"".join(out)


def synthetic_webm(clusters: int, frame_bytes: int) -> bytes:
    """An EBML stream shaped like MediaRecorder's WebM: header, a Segment of unknown size, then Clusters of ten
    SimpleBlocks of random bytes (not decodable video). Every size takes 8 bytes, so chunk boundaries that a test
    cuts split elements and their headers."""

    def element(element_id: int, payload: bytes) -> bytes:
        return ebml.element(element_id, payload, size_length=8)

    header = element(ebml.EBML, element(0x4282, b"webm") + element(0x4287, b"\x04"))  # DocType, DocTypeVersion
    info = element(ebml.INFO, element(ebml.TIMECODE_SCALE, (1_000_000).to_bytes(3, "big")))
    tracks = element(ebml.TRACKS, element(ebml.TRACK_ENTRY, element(ebml.TRACK_NUMBER, b"\x01")
                                          + element(ebml.CODEC_ID, b"V_VP9")))
    body = b""
    for n in range(clusters):
        frames = b"".join(element(ebml.SIMPLE_BLOCK, b"\x81" + (i * 33).to_bytes(2, "big") + b"\x80"
                                  + os.urandom(frame_bytes)) for i in range(10))
        body += element(ebml.CLUSTER, element(ebml.TIMECODE, (n * 5000).to_bytes(4, "big")) + frames)
    return header + ebml.encode_id(ebml.SEGMENT) + ebml.encode_size(UNKNOWN, 8) + info + tracks + body


def ffprobe_duration(path: Path) -> float | None:
    got = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    return None if got in ("", "N/A") else float(got)


def frame_hashes(path: Path) -> list[str]:
    """Each decoded video frame's MD5, in order (ffmpeg's framemd5, timestamps left out)."""
    got = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:v",
                          "-f", "framemd5", "-"], check=True, capture_output=True, text=True, timeout=120).stdout
    return [line.rsplit(",", 1)[1].strip() for line in got.splitlines() if line and not line.startswith("#")]


def last_frame_end(path: Path) -> float:
    """The true end of the video: the last frame's timestamp plus its duration, as ffprobe counts them."""
    got = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "packet=pts_time", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout.split()
    times = sorted(float(t.strip(",")) for t in got if t.strip(","))
    return times[-1] + (times[-1] - times[-2])


def seek_frame_hash(path: Path, seconds: float) -> str:
    """The MD5 of the first frame decoded after seeking to `seconds` (exercises the Cues)."""
    got = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-ss", str(seconds), "-i", str(path),
                          "-frames:v", "1", "-f", "md5", "-"], check=True, capture_output=True, text=True,
                         timeout=60).stdout
    return got.strip()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path  # MediaRecorder-style bytes
    source: Path  # what ffmpeg wrote (its Duration is the truth), or the same file for a recorded fixture
    fps: float
    has_audio: bool

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "webm"


def make_samples(folder: Path) -> dict[str, Sample]:
    """Small VP8, VP9 and VP8+Opus recordings in MediaRecorder's layout, plus any real Chromium recordings saved
    under tests/fixtures/webm/."""
    samples = {}
    for name, codec, seconds, gop, audio in (("vp8", "vp8", 4.0, 15, False), ("vp9", "vp9", 3.0, 12, False),
                                             ("vp8-opus", "vp8", 3.0, 10, True)):
        source = folder / f"{name}.source.webm"
        path = folder / f"{name}.webm"
        path.write_bytes(chrome_style(encode(source, codec=codec, seconds=seconds, gop=gop, audio=audio)))
        samples[name] = Sample(name, path, source, 10.0, audio)
    for recorded in sorted(RECORDED.glob("*.webm")) if RECORDED.is_dir() else []:
        samples[f"chromium-{recorded.stem}"] = Sample(f"chromium-{recorded.stem}", recorded, recorded, 10.0, False)
    return samples
