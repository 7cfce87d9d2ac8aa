"""EBML, the binary format under Matroska/WebM: variable-length integers and elements (RFC 8794).

An element is an ID (1-4 bytes, its length marker kept), a data size (a VINT of 1-8 bytes, all value bits set
meaning "unknown": MediaRecorder writes the Segment and every Cluster that way) and the data.
Pure Python and stdlib only, so importing it costs a Lambda nothing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator

# The IDs this package reads or writes.
EBML = 0x1A45DFA3
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_ID = 0x53AB
SEEK_POSITION = 0x53AC
INFO = 0x1549A966
TIMECODE_SCALE = 0x2AD7B1
DURATION = 0x4489
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_NUMBER = 0xD7
TRACK_TYPE = 0x83
DEFAULT_DURATION = 0x23E383
CODEC_ID = 0x86
CLUSTER = 0x1F43B675
TIMECODE = 0xE7
SIMPLE_BLOCK = 0xA3
BLOCK_GROUP = 0xA0
BLOCK = 0xA1
BLOCK_DURATION = 0x9B
REFERENCE_BLOCK = 0xFB
CUES = 0x1C53BB6B
CUE_POINT = 0xBB
CUE_TIME = 0xB3
CUE_TRACK_POSITIONS = 0xB7
CUE_TRACK = 0xF7
CUE_CLUSTER_POSITION = 0xF1
CUE_RELATIVE_POSITION = 0xF0
TAGS = 0x1254C367
CHAPTERS = 0x1043A770
ATTACHMENTS = 0x1941A469
VOID = 0xEC
CRC32 = 0xBF

# Children of a Segment: any of them (or a new EBML header) ends an unknown-size Cluster.
SEGMENT_CHILDREN = frozenset({SEEK_HEAD, INFO, TRACKS, CUES, CLUSTER, TAGS, CHAPTERS, ATTACHMENTS})
TOP_LEVEL = frozenset({EBML, SEGMENT})

UNKNOWN = -1  # the data size of an element written before its length was known


class EbmlError(ValueError):
    """The bytes are not EBML this package can follow."""


def vint_length(first: int) -> int:
    """The length (1-8) of a VINT from its first byte; 0 for the invalid 0x00."""
    for length in range(1, 9):
        if first & (0x100 >> length):
            return length
    return 0


def read_id(data: bytes | memoryview, at: int) -> tuple[int, int] | None:
    """(element ID, its length) at `at`, or None when the bytes end first."""
    if at >= len(data):
        return None
    length = vint_length(data[at])
    if not 1 <= length <= 4:
        raise EbmlError(f"invalid element ID byte 0x{data[at]:02x}")
    if at + length > len(data):
        return None
    return int.from_bytes(data[at:at + length], "big"), length


def read_size(data: bytes | memoryview, at: int) -> tuple[int, int] | None:
    """(data size or UNKNOWN, its length) at `at`, or None when the bytes end first."""
    if at >= len(data):
        return None
    length = vint_length(data[at])
    if not length:
        raise EbmlError("invalid data size byte 0x00")
    if at + length > len(data):
        return None
    value = int.from_bytes(data[at:at + length], "big") & ((1 << (7 * length)) - 1)
    if value == (1 << (7 * length)) - 1:
        return UNKNOWN, length
    return value, length


def read_header(data: bytes | memoryview, at: int) -> tuple[int, int, int] | None:
    """(ID, data size or UNKNOWN, header length) of the element at `at`, or None when the bytes end first."""
    got = read_id(data, at)
    if got is None:
        return None
    element_id, id_length = got
    size = read_size(data, at + id_length)
    if size is None:
        return None
    return element_id, size[0], id_length + size[1]


def read_vint(data: bytes | memoryview, at: int) -> tuple[int, int] | None:
    """A VINT's value (marker removed) and length, as in a Block's track number."""
    return read_size(data, at)


def uint(data: bytes | memoryview) -> int:
    return int.from_bytes(data, "big")


def float_value(data: bytes | memoryview) -> float:
    if len(data) == 4:
        return float(struct.unpack(">f", data)[0])
    if len(data) == 8:
        return float(struct.unpack(">d", data)[0])
    if not data:
        return 0.0
    raise EbmlError(f"a float of {len(data)} bytes")


def encode_id(element_id: int) -> bytes:
    length = (element_id.bit_length() + 7) // 8
    return element_id.to_bytes(length, "big")


def encode_size(size: int, length: int | None = None) -> bytes:
    """A data size VINT, the shortest one unless `length` is given; UNKNOWN writes all ones."""
    if size == UNKNOWN:
        length = length or 8
        return ((1 << (7 * length)) - 1 | (1 << (7 * length))).to_bytes(length, "big")
    if length is None:
        length = 1
        while size >= (1 << (7 * length)) - 1:  # all ones is reserved for "unknown"
            length += 1
    if length > 8 or size >= (1 << (7 * length)) - 1:
        raise EbmlError(f"size {size} does not fit a VINT of {length} bytes")
    return (size | (1 << (7 * length))).to_bytes(length, "big")


def element(element_id: int, payload: bytes, size_length: int | None = None) -> bytes:
    return encode_id(element_id) + encode_size(len(payload), size_length) + payload


def uint_element(element_id: int, value: int, width: int | None = None) -> bytes:
    """An unsigned integer element, in the fewest bytes unless `width` fixes them (so lengths can be planned)."""
    if width is None:
        width = max(1, (value.bit_length() + 7) // 8)
    return element(element_id, value.to_bytes(width, "big"))


def float_element(element_id: int, value: float) -> bytes:
    return element(element_id, struct.pack(">d", value))


@dataclass(frozen=True)
class Element:
    id: int
    start: int  # offset of its ID
    data_start: int
    size: int  # UNKNOWN for an unknown size

    @property
    def end(self) -> int:
        if self.size == UNKNOWN:
            raise EbmlError(f"element 0x{self.id:X} at {self.start} has an unknown size")
        return self.data_start + self.size


def children(data: bytes | memoryview, start: int, end: int) -> Iterator[Element]:
    """The elements of data[start:end], all of known size (an element's children, a whole head)."""
    at = start
    while at < end:
        header = read_header(data, at)
        if header is None:
            raise EbmlError(f"element header cut at {at}")
        element_id, size, header_length = header
        found = Element(element_id, at, at + header_length, size)
        if size == UNKNOWN or found.end > end:
            raise EbmlError(f"element 0x{element_id:X} at {at} overruns its parent")
        yield found
        at = found.end
