"""Seekable WebM without copying the video: learn the clusters while chunks stream in, then rewrite only the head.

A browser's MediaRecorder writes a live WebM: a Segment and Clusters of unknown size, no Duration, no Cues, so
players show no duration and seek by reading from byte 0. The `Scanner` reads the stream chunk by chunk (chunk
boundaries fall anywhere, inside an element ID or a size VINT too) and keeps a small JSON-serialisable state: where
the first Cluster starts, the keyframes worth a CuePoint, each track's last timestamps, and where the last complete
element ends. `plan()` turns what it learnt into the seekable object's new head and its Cues; the clusters
themselves are copied unchanged (S3 copies them without the bytes passing through us: chalicelib/media/rewrite.py).

The stored object, from the original (client's) bytes `orig` of size S, the first Cluster at H and the last complete
element ending at E (E == S unless the recording was cut short):

    new head                  EBML header (verbatim), Segment (known size), SeekHead, Info (+ Duration), Tracks,
                              other head elements, Void holding a layout record and orig[0:H] verbatim
    orig[H:E]                 the clusters, byte for byte (unknown-size clusters stay unknown-size)
    Void header + orig[E:S]   only for a cut-short recording: the partial element, wrapped so players skip it
    Cues                      a CuePoint per video keyframe, at most one per MIN_CUE_GAP_SECONDS

so `rebuild()` gets the client's exact bytes back from the stored object alone (docs/seekable-webm.md).
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from chalicelib.media import ebml
from chalicelib.media.ebml import UNKNOWN, EbmlError

MAX_HEAD_BYTES = 1024 * 1024  # MediaRecorder's head is a few hundred bytes; a Cluster must have come by then
MIN_CUE_GAP_SECONDS = 1.0  # denser cues only grow the index: a player decodes forward from the cue anyway
GAPS_KEPT = 8  # recent frame gaps per track: their median is the last frame's duration when none is written
MAGIC = b"session-audit original-bytes v1\n"  # starts the head Void that keeps the client's head bytes
_LAYOUT = struct.Struct(">QQQQQ")  # original head length, middle start, middle length, tail start, tail length
STATE_VERSION = 1

# parser contexts
_SEGMENT, _CLUSTER, _GROUP, _AFTER = "segment", "cluster", "group", "after"
# what completes when a skip ends
_CHILD, _BLOCK, _GROUP_CHILD, _LEVEL1, _TRAILER = "child", "block", "gchild", "l1", "trailer"


class Unsupported(ValueError):
    """This input cannot be made seekable by rewriting its head: keep the original as it is."""


# ==================================================================================================== the head
@dataclass(frozen=True)
class Head:
    """What the bytes before the first Cluster say."""

    segment_start: int  # offset of the Segment's ID
    segment_data: int  # offset of the Segment's first child: every position in SeekHead and Cues counts from here
    segment_size: int  # UNKNOWN for MediaRecorder's live Segment
    first_cluster: int
    elements: tuple[ebml.Element, ...]  # the Segment's children before the first Cluster
    timecode_scale: int  # nanoseconds per timestamp tick
    tracks: dict[int, tuple[int, int]]  # track number: (TrackType, DefaultDuration in ns or 0)

    @property
    def video_track(self) -> int:
        videos = [number for number, (kind, _) in sorted(self.tracks.items()) if kind == 1]
        return videos[0] if videos else min(self.tracks)


def read_head(data: bytes, whole: bool = False) -> Head | None:
    """Parse the bytes before the first Cluster; None while they have not all arrived. `whole`: `data` is exactly
    those bytes (a kept head), so its end is where the first Cluster starts."""
    at = 0
    segment: tuple[int, int, int] | None = None
    while segment is None:
        header = ebml.read_header(data, at)
        if header is None:
            return None
        element_id, size, header_length = header
        if element_id == ebml.SEGMENT:
            segment = (at, at + header_length, size)
        elif element_id in (ebml.EBML, ebml.VOID):
            if size == UNKNOWN:
                raise EbmlError("an EBML header of unknown size")
            at += header_length + size
        else:
            raise EbmlError(f"not WebM: element 0x{element_id:X} at {at}")
    start, data_start, segment_size = segment
    segment_end = data_start + segment_size if segment_size != UNKNOWN else None
    at = data_start
    elements: list[ebml.Element] = []
    while True:
        if segment_end is not None and at >= segment_end:
            raise EbmlError("the Segment holds no Cluster")
        if whole and at == len(data):
            break
        header = ebml.read_header(data, at)
        if header is None:
            return None
        element_id, size, header_length = header
        if element_id == ebml.CLUSTER:
            break
        if size == UNKNOWN:
            raise EbmlError(f"element 0x{element_id:X} before the first Cluster has an unknown size")
        found = ebml.Element(element_id, at, at + header_length, size)
        if found.end > len(data):
            return None
        elements.append(found)
        at = found.end
    scale, tracks = 1_000_000, {}
    for found in elements:
        if found.id == ebml.INFO:
            for child in ebml.children(data, found.data_start, found.end):
                if child.id == ebml.TIMECODE_SCALE:
                    scale = ebml.uint(data[child.data_start:child.end]) or scale
        elif found.id == ebml.TRACKS:
            for entry in ebml.children(data, found.data_start, found.end):
                if entry.id != ebml.TRACK_ENTRY:
                    continue
                values = {c.id: data[c.data_start:c.end] for c in ebml.children(data, entry.data_start, entry.end)}
                if ebml.TRACK_NUMBER in values:
                    tracks[ebml.uint(values[ebml.TRACK_NUMBER])] = (
                        ebml.uint(values.get(ebml.TRACK_TYPE, b"")), ebml.uint(values.get(ebml.DEFAULT_DURATION, b"")))
    if not tracks:
        raise EbmlError("no track in Tracks")
    return Head(start, data_start, segment_size, at, tuple(elements), scale, tracks)


# ==================================================================================================== the scanner
def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


@dataclass
class OpenCluster:
    """The Cluster the scanner is in (or was last in)."""

    start: int  # offset of its ID
    data_start: int  # offset of its first child
    end: int  # UNKNOWN for MediaRecorder's live Cluster
    timecode: int = -1  # its Timecode, -1 until that has come

    def to_json(self) -> list[int]:
        return [self.start, self.data_start, self.end, self.timecode]


@dataclass
class OpenGroup:
    """The BlockGroup the scanner is in."""

    end: int
    references: bool  # it holds a ReferenceBlock (so its Block is no keyframe)
    duration: int  # its BlockDuration, -1 when none is written
    start: int

    def to_json(self) -> list[int]:
        return [self.end, int(self.references), self.duration, self.start]


@dataclass
class PendingBlock:
    """A (Simple)Block whose header has been read, counted once all its bytes have come."""

    track: int
    timestamp: int  # absolute, in timestamp ticks
    keyframe: bool
    start: int  # offset of the element (the SimpleBlock, or the BlockGroup around a Block)

    def to_json(self) -> list[int]:
        return [self.track, self.timestamp, int(self.keyframe), self.start]


@dataclass
class TrackTimes:
    """A track's latest frame: what the Duration is learnt from."""

    last: int | None = None  # the latest timestamp
    duration: int = -1  # that frame's BlockDuration, -1 when none is written
    gaps: list[int] = field(default_factory=list)  # the last GAPS_KEPT gaps between frames

    def to_json(self) -> list[Any]:
        return [self.last, self.duration, list(self.gaps)]

    def copy(self) -> TrackTimes:
        return TrackTimes(self.last, self.duration, list(self.gaps))


@dataclass
class CueBase:
    """What the next packed cue is relative to (each take_cues() blob starts from zero)."""

    time: int = 0
    cluster: int = 0


@dataclass
class ScanState:
    """Everything the scanner keeps between chunks: a few hundred bytes plus the packed cues (`take_cues()`
    hands those over to be stored elsewhere, so the state stays small however long the recording).

    Its JSON (`to_json`, kept in PART items) writes the small records as lists, [] for None: the format
    of STATE_VERSION 1, which stored states of recordings under way still use."""

    pos: int = 0  # bytes fed
    carry: bytes = b""  # the start of an element whose header (or the first bytes we read of it) is incomplete
    head: bytes = b""  # the bytes before the first Cluster
    head_done: bool = False
    first_cluster: int = -1
    segment_end: int = UNKNOWN
    scale: int = 1_000_000
    video: int = 0
    default_ns: dict[str, int] = field(default_factory=dict)  # track: DefaultDuration
    ctx: str = _SEGMENT
    skip: int = 0
    then: str = ""
    cluster: OpenCluster | None = None
    group: OpenGroup | None = None
    block: PendingBlock | None = None
    good_end: int = -1  # end of the last complete element: where a cut-short recording is cut
    trailer: int = -1  # the first non-Cluster element after the clusters (an old Cues, Tags...)
    clusters: int = 0
    tracks: dict[str, TrackTimes] = field(default_factory=dict)  # by track number
    saved: dict[str, TrackTimes] = field(default_factory=dict)  # `tracks` when a known-size Cluster opened
    cues: bytes = b""  # packed (see _commit) since the last take_cues()
    cue_base: CueBase = field(default_factory=CueBase)
    last_cue: int = -(1 << 62)
    error: str = ""

    @property
    def in_cluster(self) -> OpenCluster:
        """The open Cluster (the parser asks only where one has opened)."""
        if self.cluster is None:
            raise EbmlError("no Cluster has opened")
        return self.cluster

    @property
    def in_group(self) -> OpenGroup:
        if self.group is None:
            raise EbmlError("no BlockGroup is open")
        return self.group

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": STATE_VERSION}
        for name, value in self.__dict__.items():
            if isinstance(value, bytes):
                value = _b64(value)
            elif name in ("cluster", "group", "block"):
                value = value.to_json() if value is not None else []
            elif name in ("tracks", "saved"):
                value = {track: times.to_json() for track, times in value.items()}
            elif name == "cue_base":
                value = [value.time, value.cluster]
            out[name] = value
        return out

    @staticmethod
    def from_json(raw: dict[str, Any]) -> ScanState:
        if raw.get("v") != STATE_VERSION:
            raise ValueError(f"scan state version {raw.get('v')!r}")
        values = {k: v for k, v in raw.items() if k != "v"}
        for name in ("carry", "head", "cues"):
            values[name] = _unb64(values[name])
        cluster, group, block = values["cluster"], values["group"], values["block"]
        values["cluster"] = OpenCluster(*cluster) if cluster else None
        values["group"] = OpenGroup(group[0], bool(group[1]), group[2], group[3]) if group else None
        values["block"] = PendingBlock(block[0], block[1], bool(block[2]), block[3]) if block else None
        for name in ("tracks", "saved"):
            values[name] = {track: TrackTimes(last, duration, list(gaps))
                            for track, (last, duration, gaps) in values[name].items()}
        values["cue_base"] = CueBase(*values["cue_base"])
        return ScanState(**values)


def _zigzag(value: int) -> int:
    return value * 2 if value >= 0 else -value * 2 - 1


def _unzigzag(value: int) -> int:
    return value // 2 if value % 2 == 0 else -(value + 1) // 2


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@dataclass(frozen=True)
class Cue:
    time: int  # timestamp ticks (TimecodeScale)
    cluster: int  # the Cluster's offset in the original stream
    relative: int  # the block's offset from the Cluster's first child (CueRelativePosition)
    header: int  # the Cluster's header length


def unpack_cues(packed: bytes) -> list[Cue]:
    """The cues of one `take_cues()` blob (each blob starts from zero)."""
    values: list[int] = []
    value = shift = 0
    for byte in packed:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            values.append(value)
            value = shift = 0
    if shift or len(values) % 4:
        raise ValueError("truncated cue blob")
    cues, time, cluster = [], 0, 0
    for i in range(0, len(values), 4):
        time += _unzigzag(values[i])
        cluster += values[i + 1]
        cues.append(Cue(time, cluster, values[i + 2], values[i + 3]))
    return cues


def _block_header(data: bytes, at: int, size: int, start: int, cluster: OpenCluster) -> PendingBlock | None:
    """A (Simple)Block's track, absolute timestamp and keyframe flag, from its first bytes at `at` (None while
    they have not all arrived); `start` is where its element starts."""
    track = ebml.read_vint(data, at)
    if track is None or at + track[1] + 3 > len(data):
        if len(data) - at >= size:
            raise EbmlError(f"a block of {size} bytes at {start} is too short")
        return None
    if track[1] + 3 > size:
        raise EbmlError(f"a block of {size} bytes at {start} is too short")
    if cluster.timecode < 0:
        raise EbmlError(f"a block at {start} before its Cluster's Timecode")
    relative = struct.unpack(">h", data[at + track[1]:at + track[1] + 2])[0]
    flags = data[at + track[1] + 2]
    return PendingBlock(track[0], cluster.timecode + relative, bool(flags & 0x80), start)


class Scanner:
    """Feed a WebM stream in chunks of any size; `finish()` says what the stream holds so far."""

    def __init__(self, state: ScanState | None = None) -> None:
        self.state = state or ScanState()

    @staticmethod
    def resume(raw: dict[str, Any] | None) -> Scanner:
        return Scanner(ScanState.from_json(raw) if raw else None)

    def feed(self, chunk: bytes) -> None:
        s = self.state
        if s.error:
            s.pos += len(chunk)
            return
        try:
            self._feed(bytes(chunk))
        except EbmlError as exc:
            s.error = str(exc) or "invalid WebM"
            s.carry = b""
            s.head = s.head if s.head_done else b""

    def take_cues(self) -> bytes:
        """The packed cues learnt since the last call, to be stored with the recording; the next blob starts
        afresh so blobs decode one by one (unpack_cues)."""
        packed, self.state.cues, self.state.cue_base = self.state.cues, b"", CueBase()
        return packed

    # ------------------------------------------------------------------------------------------------ parsing
    def _feed(self, chunk: bytes) -> None:
        s = self.state
        if not s.head_done:
            s.head += chunk
            s.pos += len(chunk)
            head = read_head(s.head)
            if head is None:
                if len(s.head) > MAX_HEAD_BYTES:
                    raise EbmlError(f"no Cluster in the first {MAX_HEAD_BYTES} bytes")
                return
            chunk, s.head = s.head[head.first_cluster:], s.head[:head.first_cluster]
            s.pos = s.good_end = s.first_cluster = head.first_cluster
            s.head_done = True
            s.segment_end = head.segment_data + head.segment_size if head.segment_size != UNKNOWN else UNKNOWN
            s.scale, s.video = head.timecode_scale, head.video_track
            s.default_ns = {str(n): ns for n, (_, ns) in head.tracks.items() if ns}
        data = s.carry + chunk if s.carry else chunk
        base = s.pos - len(s.carry)
        used = self._parse(data, base)
        s.carry = data[used:]
        s.pos += len(chunk)

    def _parse(self, data: bytes, base: int) -> int:
        s = self.state
        i, n = 0, len(data)
        while True:
            if s.skip:
                take = min(s.skip, n - i)
                i += take
                s.skip -= take
                if s.skip:
                    return i
                self._completed(base + i)
                continue
            self._close_ends(base + i)
            if s.ctx == _AFTER:
                return n  # past the Segment: nothing more to learn, the bytes are trailer
            header = ebml.read_header(data, i)
            if header is None:
                return i
            element_id, size, header_length = header
            at = base + i
            if s.ctx == _SEGMENT:
                i = self._segment_child(element_id, size, header_length, at, i)
            elif s.ctx == _CLUSTER:
                if s.in_cluster.end == UNKNOWN and (element_id in ebml.SEGMENT_CHILDREN or
                                                    element_id in ebml.TOP_LEVEL):
                    s.ctx = _SEGMENT  # the next Segment child ends an unknown-size Cluster
                    continue
                moved = self._cluster_child(data, element_id, size, header_length, at, i)
                if moved is None:
                    return i
                i = moved
            else:
                moved = self._group_child(data, element_id, size, header_length, at, i)
                if moved is None:
                    return i
                i = moved

    def _segment_child(self, element_id: int, size: int, header_length: int, at: int, i: int) -> int:
        s = self.state
        if element_id == ebml.CLUSTER:
            if s.trailer >= 0:
                raise EbmlError(f"a Cluster at {at} after other Segment children")
            end = at + header_length + size if size != UNKNOWN else UNKNOWN
            s.cluster = OpenCluster(at, at + header_length, end)
            s.clusters += 1
            s.ctx = _CLUSTER
            if end != UNKNOWN:
                s.saved = {k: v.copy() for k, v in s.tracks.items()}
            return i + header_length
        if element_id in ebml.TOP_LEVEL or size == UNKNOWN:
            s.trailer = at if s.trailer < 0 else s.trailer
            s.ctx = _AFTER
            return i
        if element_id != ebml.VOID and s.trailer < 0:
            s.trailer = at  # an old Cues, Tags...: the media ends here; a Cluster after it is refused
        self._skip(size, _LEVEL1 if s.trailer < 0 else _TRAILER, at + header_length)
        return i + header_length

    def _cluster_child(self, data: bytes, element_id: int, size: int, header_length: int, at: int,
                       i: int) -> int | None:
        s = self.state
        if size == UNKNOWN:
            raise EbmlError(f"element 0x{element_id:X} at {at} in a Cluster has an unknown size")
        cluster = s.in_cluster
        if cluster.end != UNKNOWN and at + header_length + size > cluster.end:
            raise EbmlError(f"element 0x{element_id:X} at {at} overruns its Cluster")
        if element_id == ebml.TIMECODE:
            if i + header_length + size > len(data):
                return None
            cluster.timecode = ebml.uint(data[i + header_length:i + header_length + size])
            self._skip(0, _CHILD, at + header_length + size)
            return i + header_length + size
        if element_id == ebml.SIMPLE_BLOCK:
            block = _block_header(data, i + header_length, size, at, s.in_cluster)
            if block is None:
                return None
            s.block = block
            self._skip(size, _BLOCK, at + header_length)
            return i + header_length
        if element_id == ebml.BLOCK_GROUP:
            s.ctx = _GROUP
            s.group = OpenGroup(at + header_length + size, False, -1, at)
            s.block = None
            return i + header_length
        self._skip(size, _CHILD, at + header_length)
        return i + header_length

    def _group_child(self, data: bytes, element_id: int, size: int, header_length: int, at: int,
                     i: int) -> int | None:
        s = self.state
        group = s.in_group
        if size == UNKNOWN or at + header_length + size > group.end:
            raise EbmlError(f"element 0x{element_id:X} at {at} overruns its BlockGroup")
        if element_id == ebml.BLOCK:
            block = _block_header(data, i + header_length, size, group.start, s.in_cluster)
            if block is None:
                return None
            s.block = block
        elif element_id == ebml.BLOCK_DURATION:
            if i + header_length + size > len(data):
                return None
            group.duration = ebml.uint(data[i + header_length:i + header_length + size])
            self._skip(0, _GROUP_CHILD, at + header_length + size)
            return i + header_length + size
        elif element_id == ebml.REFERENCE_BLOCK:
            group.references = True
        self._skip(size, _GROUP_CHILD, at + header_length)
        return i + header_length

    def _skip(self, size: int, then: str, data_start: int) -> None:
        s = self.state
        s.skip, s.then = size, then
        if not size:
            self._completed(data_start)

    def _completed(self, end: int) -> None:
        """An element whose bytes have all arrived ends at `end`."""
        s = self.state
        then, s.then = s.then, ""
        if then == _BLOCK:
            if s.block is not None:
                self._commit(s.block, -1)
            s.block = None
        if (then in (_BLOCK, _CHILD) and s.in_cluster.end == UNKNOWN) or then == _LEVEL1:
            s.good_end = end

    def _close_ends(self, at: int) -> None:
        """Leave the BlockGroup, known-size Cluster and known-size Segment that end at `at`."""
        s = self.state
        if s.ctx == _GROUP and at >= s.in_group.end:
            if s.block is not None:
                s.block.keyframe = not s.in_group.references  # a Block is a keyframe when it references nothing
                self._commit(s.block, s.in_group.duration)
            s.block, s.group = None, None
            s.ctx = _CLUSTER
            if s.in_cluster.end == UNKNOWN:
                s.good_end = at
        if s.ctx == _CLUSTER and s.in_cluster.end != UNKNOWN and at >= s.in_cluster.end:
            s.ctx = _SEGMENT
            s.good_end = at
            s.saved = {}
        if s.ctx == _SEGMENT and s.segment_end != UNKNOWN and at >= s.segment_end:
            s.ctx = _AFTER

    def _commit(self, block: PendingBlock, duration: int) -> None:
        s = self.state
        timestamp = block.timestamp
        last = s.tracks.setdefault(str(block.track), TrackTimes())
        if last.last is not None and timestamp > last.last:
            last.gaps = [*last.gaps, timestamp - last.last][-GAPS_KEPT:]
        if last.last is None or timestamp >= last.last:
            last.last, last.duration = timestamp, duration
        gap = round(MIN_CUE_GAP_SECONDS * 1e9 / s.scale)
        if block.keyframe and block.track == s.video and timestamp >= 0 and timestamp - s.last_cue >= gap:
            s.last_cue = timestamp
            cluster, data_start = s.in_cluster.start, s.in_cluster.data_start
            s.cues += b"".join((_leb(_zigzag(timestamp - s.cue_base.time)), _leb(cluster - s.cue_base.cluster),
                                _leb(block.start - data_start), _leb(data_start - cluster)))
            s.cue_base = CueBase(timestamp, cluster)

    # ------------------------------------------------------------------------------------------------ result
    def finish(self, stored_cues: Sequence[bytes] = ()) -> Index:
        """What the stream fed so far holds; `stored_cues` are the blobs taken earlier, in order.
        Raises Unsupported when it cannot be made seekable."""
        s = self.state
        if s.error:
            raise Unsupported(s.error)
        if not s.head_done:
            raise Unsupported("no Cluster: nothing was recorded")
        tracks = s.tracks
        if s.ctx in (_CLUSTER, _GROUP) and s.in_cluster.end != UNKNOWN:
            tracks = s.saved  # cut inside a known-size Cluster: it is dropped whole
        end = s.good_end
        if end <= s.first_cluster or not tracks:
            raise Unsupported("no complete block")
        cues = [c for blob in [*stored_cues, s.cues] for c in unpack_cues(blob)
                if c.cluster + c.header + c.relative < end]
        if not cues:
            raise Unsupported("no keyframe")
        finish_at = 0.0
        for number, times in tracks.items():
            duration: float = times.duration
            if duration < 0:
                default = s.default_ns.get(number, 0) / s.scale
                gaps = times.gaps
                duration = default or (sorted(gaps)[len(gaps) // 2] if gaps else 0)
            finish_at = max(finish_at, float((times.last or 0) + duration))
        return Index(size=s.pos, head=s.head, first_cluster=s.first_cluster, media_end=end,
                     timecode_scale=s.scale, duration=finish_at, cues=tuple(cues), video_track=s.video,
                     clusters=s.clusters)


@dataclass(frozen=True)
class Index:
    size: int  # bytes of the original stream
    head: bytes  # original bytes [0, first_cluster)
    first_cluster: int
    media_end: int  # end of the last complete element (== size unless cut short)
    timecode_scale: int
    duration: float  # in timestamp ticks: the last frame's timestamp plus its duration
    cues: tuple[Cue, ...]
    video_track: int
    clusters: int

    @property
    def duration_seconds(self) -> float:
        return self.duration * self.timecode_scale / 1e9


def scan(data: bytes) -> Index:
    scanner = Scanner()
    scanner.feed(data)
    return scanner.finish()


# ==================================================================================================== the rewrite
@dataclass(frozen=True)
class Plan:
    """The stored object: head + original[middle] + tail_header + original[tail] + cues."""

    head: bytes
    middle: tuple[int, int]  # [H, E) of the original, unchanged
    tail_header: bytes  # a Void header wrapping original[E:S], empty when nothing was cut
    tail: tuple[int, int]
    cues: bytes
    original_size: int

    @property
    def size(self) -> int:
        return len(self.head) + self.middle[1] - self.middle[0] + len(self.tail_header) + \
            self.tail[1] - self.tail[0] + len(self.cues)

    def assemble(self, original: bytes) -> bytes:
        """The whole stored object from the original bytes (small recordings, tests)."""
        if len(original) != self.original_size:
            raise ValueError(f"the original holds {len(original)} bytes, the plan expects {self.original_size}")
        return b"".join((self.head, original[self.middle[0]:self.middle[1]], self.tail_header,
                         original[self.tail[0]:self.tail[1]], self.cues))


def _seek(element_id: int, position: int) -> bytes:
    return ebml.element(ebml.SEEK, ebml.element(ebml.SEEK_ID, ebml.encode_id(element_id)) +
                        ebml.uint_element(ebml.SEEK_POSITION, position, width=8))


def plan(index: Index) -> Plan:
    """The seekable object's head and Cues for what `index` describes."""
    original = index.head
    head = read_head(original, whole=True)
    if head is None:
        raise Unsupported("the head is incomplete")
    info = tracks = None
    others: list[bytes] = []
    for found in head.elements:
        raw = original[found.start:found.end]
        if found.id == ebml.INFO:
            kept = b"".join(original[c.start:c.end] for c in ebml.children(original, found.data_start, found.end)
                            if c.id not in (ebml.DURATION, ebml.CRC32))
            info = ebml.element(ebml.INFO, kept + ebml.float_element(ebml.DURATION, index.duration))
        elif found.id == ebml.TRACKS:
            tracks = raw
        elif found.id not in (ebml.SEEK_HEAD, ebml.VOID, ebml.CUES, ebml.CRC32):
            others.append(raw)  # Tags, Chapters, Attachments: positions in them do not move
    if info is None or tracks is None:
        raise Unsupported("no Info or no Tracks before the first Cluster")
    prefix = original[:head.segment_start]  # the EBML header, verbatim
    segment_data = len(prefix) + 4 + 8
    seek_head_size = len(ebml.element(ebml.SEEK_HEAD, b"".join(_seek(ebml.INFO, 0) for _ in range(3))))
    info_at = seek_head_size
    tracks_at = info_at + len(info)
    middle = (index.first_cluster, index.media_end)
    tail = (index.media_end, index.size)
    tail_header = ebml.encode_id(ebml.VOID) + ebml.encode_size(tail[1] - tail[0], 8) if tail[1] > tail[0] else b""
    keep_payload_size = len(MAGIC) + _LAYOUT.size + len(original)
    keep_size = len(ebml.encode_id(ebml.VOID)) + 8 + keep_payload_size
    head_size = segment_data + tracks_at + len(tracks) + sum(map(len, others)) + keep_size
    shift = head_size - index.first_cluster  # every Cluster moves by this much
    tail_at = head_size + middle[1] - middle[0] + len(tail_header)
    cues_at = tail_at + tail[1] - tail[0]
    layout = _LAYOUT.pack(len(original), head_size, middle[1] - middle[0], tail_at, tail[1] - tail[0])
    keep = ebml.encode_id(ebml.VOID) + ebml.encode_size(keep_payload_size, 8) + MAGIC + layout + original
    seek_head = ebml.element(ebml.SEEK_HEAD, _seek(ebml.INFO, info_at) + _seek(ebml.TRACKS, tracks_at) +
                             _seek(ebml.CUES, cues_at - segment_data))
    points = []
    for cue in index.cues:
        positions = ebml.uint_element(ebml.CUE_TRACK, index.video_track) + \
            ebml.uint_element(ebml.CUE_CLUSTER_POSITION, cue.cluster + shift - segment_data) + \
            ebml.uint_element(ebml.CUE_RELATIVE_POSITION, cue.relative)
        points.append(ebml.element(ebml.CUE_POINT, ebml.uint_element(ebml.CUE_TIME, cue.time) +
                                   ebml.element(ebml.CUE_TRACK_POSITIONS, positions)))
    cues = ebml.element(ebml.CUES, b"".join(points))
    segment_size = cues_at + len(cues) - segment_data
    new_head = b"".join((prefix, ebml.encode_id(ebml.SEGMENT), ebml.encode_size(segment_size, 8), seek_head, info,
                         tracks, *others, keep))
    if len(new_head) != head_size or len(seek_head) != seek_head_size:
        raise AssertionError("head layout miscounted")
    return Plan(new_head, middle, tail_header, tail, cues, index.size)


# ==================================================================================================== rebuilding
@dataclass(frozen=True)
class Layout:
    """Where the client's bytes sit in a stored (rewritten) object: original = head + stored[middle] +
    stored[tail]."""

    head: bytes
    middle: tuple[int, int]
    tail: tuple[int, int]

    @property
    def original_size(self) -> int:
        return len(self.head) + self.middle[1] - self.middle[0] + self.tail[1] - self.tail[0]


def layout(stored_head: bytes) -> Layout | None:
    """The layout recorded in a stored object's first bytes (its head, up to the first Cluster; more is fine);
    None for an object that was never rewritten (it is the client's bytes as they are)."""
    head = read_head(stored_head) or read_head(stored_head, whole=True)
    if head is None:
        raise EbmlError("the stored head is incomplete")
    for found in head.elements:
        payload = stored_head[found.data_start:found.end]
        if found.id == ebml.VOID and payload.startswith(MAGIC):
            fields = _LAYOUT.unpack_from(payload, len(MAGIC))
            original = payload[len(MAGIC) + _LAYOUT.size:]
            if len(original) != fields[0]:
                raise EbmlError("the kept head does not match its layout record")
            return Layout(original, (fields[1], fields[1] + fields[2]), (fields[3], fields[3] + fields[4]))
    return None


def rebuild(stored: bytes) -> bytes:
    """The client's exact bytes from a stored object (rewritten or not)."""
    found = layout(stored)
    if found is None:
        return stored
    return found.head + stored[found.middle[0]:found.middle[1]] + stored[found.tail[0]:found.tail[1]]


def rebuild_stream(read_range: Callable[[int, int], bytes], block: int = 8 * 1024 * 1024) -> Iterator[bytes]:
    """The client's bytes, block by block, from a stored object read by ranges (`read_range(start, end)` returns
    fewer bytes only at the object's end): for a digest of a large object without holding it."""
    want = 64 * 1024
    while True:
        first = read_range(0, want)
        try:
            found = layout(first)
            break
        except EbmlError:
            if len(first) < want or want >= 4 * MAX_HEAD_BYTES:
                found = None  # not WebM this package reads, or an old object: its bytes are the client's
                break
            want *= 4
    if found is None:
        yield first
        at = len(first)
        while len(first) == want:
            first = read_range(at, at + block)
            want = block
            at += len(first)
            if first:
                yield first
        return
    yield found.head
    for start, end in (found.middle, found.tail):
        for at in range(start, end, block):
            yield read_range(at, min(end, at + block))
