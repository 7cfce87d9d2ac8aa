"""Make a stored WebM seekable inside S3: only its new head, its cut-off tail and its Cues pass through us.

The new object (webm.Plan) is written under another key by a multipart upload whose middle parts are
`UploadPartCopy` ranges of the original, so the video is copied by S3, not downloaded and uploaded again:

    part 1      new head + the first ~5 MiB of the clusters (read from the original: every part but the last must
                hold 5 MiB, and the head alone is ~1 KB)
    parts 2..n  UploadPartCopy of the rest of the clusters, in ranges of at most COPY_PART_BYTES (S3 allows 5 GiB)
    last part   the Void header + tail of a cut-short recording (usually nothing) + the Cues

Objects below `small_bytes` are simply read, rewritten and put. Every read and copy is conditional on the
original's ETag, so an original replaced meanwhile fails the rewrite instead of mixing two versions.

The original stays untouched: `verify()` checks the new object with a few ranged reads (its size, its head, its
end, the bytes at every part boundary and at sampled cue positions against the original's), and only then may the
caller point the recording at the new key and delete the original (the client's bytes stay recoverable from the new
object: webm.rebuild).
"""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalicelib.media import ebml, webm

log = logging.getLogger("session_audit.seekable")

MIN_PART_BYTES = 5 * 1024 * 1024  # S3: every part but the last
COPY_PART_BYTES = 1024 * 1024 * 1024  # S3 allows 5 GiB; smaller ranges copy in parallel and retry cheaply
SMALL_OBJECT_BYTES = 16 * 1024 * 1024  # below this, reading and putting the whole object is as cheap
MAX_TAIL_BYTES = 64 * 1024 * 1024  # the cut-off partial element is read; a bigger one is not worth it
COPY_WORKERS = 4
SAMPLED_CUES = 8


class VerifyFailed(RuntimeError):
    """The new object is not what the plan says: it must not replace the original."""


@dataclass
class Traffic:
    """Bytes moved by a rewrite: through this process (read, written) and inside S3 (copied)."""

    read: int = 0
    written: int = 0
    copied: int = 0
    requests: dict[str, int] = field(default_factory=dict)

    def count(self, operation: str) -> None:
        self.requests[operation] = self.requests.get(operation, 0) + 1


@dataclass(frozen=True)
class Rewritten:
    key: str
    size: int
    etag: str
    source_etag: str
    parts: tuple[tuple[int, int], ...]  # [start, end) of the new object of each part (one for a PutObject)
    plan: webm.Plan
    traffic: Traffic


class SeekableWriter:
    def __init__(self, s3: Any, bucket: str, encryption: dict[str, str] | None = None,
                 small_bytes: int = SMALL_OBJECT_BYTES, copy_part_bytes: int = COPY_PART_BYTES,
                 workers: int = COPY_WORKERS) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._encryption = encryption or {}
        self._small = small_bytes
        self._copy_part = max(copy_part_bytes, 2 * MIN_PART_BYTES)  # so that equal ranges each hold 5 MiB
        self._workers = workers

    # ------------------------------------------------------------------------------------------------ writing
    def rewrite(self, source_key: str, dest_key: str, index: webm.Index,
                content_type: str = "video/webm") -> Rewritten:
        """Write the seekable form of `source_key` (described by `index`) under `dest_key`; the source stays."""
        if dest_key == source_key:
            raise ValueError("the seekable object goes under another key: the original stays until it is verified")
        traffic = Traffic()
        head = self._s3.head_object(Bucket=self._bucket, Key=source_key)
        traffic.count("HeadObject")
        size, etag = int(head["ContentLength"]), str(head["ETag"])
        if size != index.size:
            raise webm.Unsupported(f"the object holds {size} bytes, its index describes {index.size}")
        plan = webm.plan(index)
        if plan.tail[1] - plan.tail[0] > MAX_TAIL_BYTES:
            raise webm.Unsupported(f"{plan.tail[1] - plan.tail[0]} bytes after the last complete element")
        if size <= self._small:
            original = self._read(source_key, etag, 0, size, traffic)
            body = plan.assemble(original)
            response = self._s3.put_object(Bucket=self._bucket, Key=dest_key, Body=body, ContentType=content_type,
                                           **self._encryption)
            traffic.count("PutObject")
            traffic.written += len(body)
            return Rewritten(dest_key, len(body), str(response["ETag"]), etag, ((0, len(body)),), plan, traffic)
        return self._multipart(source_key, dest_key, etag, plan, content_type, traffic)

    def _multipart(self, source_key: str, dest_key: str, etag: str, plan: webm.Plan, content_type: str,
                   traffic: Traffic) -> Rewritten:
        start, end = plan.middle
        # part 1 must reach 5 MiB; take the whole middle when what would remain could not make a part of its own
        fill = min(end - start, max(0, MIN_PART_BYTES - len(plan.head)))
        if end - start - fill < MIN_PART_BYTES:
            fill = end - start
        copies = _ranges(start + fill, end, self._copy_part)
        upload = self._s3.create_multipart_upload(Bucket=self._bucket, Key=dest_key, ContentType=content_type,
                                                  **self._encryption)
        traffic.count("CreateMultipartUpload")
        upload_id = upload["UploadId"]
        try:
            first = plan.head + self._read(source_key, etag, start, start + fill, traffic)
            etags = [self._upload(dest_key, upload_id, 1, first, traffic)]
            source = {"Bucket": self._bucket, "Key": source_key}

            def copy(numbered: tuple[int, tuple[int, int]]) -> str:
                number, (low, high) = numbered
                response = self._s3.upload_part_copy(
                    Bucket=self._bucket, Key=dest_key, UploadId=upload_id, PartNumber=number, CopySource=source,
                    CopySourceRange=f"bytes={low}-{high - 1}", CopySourceIfMatch=etag)
                return str(response["CopyPartResult"]["ETag"])

            with ThreadPoolExecutor(max_workers=self._workers) as pool:
                etags += list(pool.map(copy, enumerate(copies, start=2)))
            for _ in copies:
                traffic.count("UploadPartCopy")
            traffic.copied += sum(high - low for low, high in copies)
            last = plan.tail_header + self._read(source_key, etag, *plan.tail, traffic) + plan.cues
            etags.append(self._upload(dest_key, upload_id, len(copies) + 2, last, traffic))
            done = self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=dest_key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})
            traffic.count("CompleteMultipartUpload")
        except Exception:
            try:
                self._s3.abort_multipart_upload(Bucket=self._bucket, Key=dest_key, UploadId=upload_id)
            except Exception:
                log.warning("could not abort the upload of %s (the bucket's lifecycle rule does)", dest_key,
                            exc_info=True)
            raise
        sizes = [len(first), *(high - low for low, high in copies), len(last)]
        bounds, at = [], 0
        for part_size in sizes:
            bounds.append((at, at + part_size))
            at += part_size
        return Rewritten(dest_key, plan.size, str(done["ETag"]), etag, tuple(bounds), plan, traffic)

    def _read(self, key: str, etag: str, start: int, end: int, traffic: Traffic) -> bytes:
        if end <= start:
            return b""
        response = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={start}-{end - 1}", IfMatch=etag)
        body: bytes = response["Body"].read()
        traffic.count("GetObject")
        traffic.read += len(body)
        if len(body) != end - start:
            raise VerifyFailed(f"read {len(body)} bytes of {key} [{start}, {end})")
        return body

    def _upload(self, key: str, upload_id: str, number: int, body: bytes, traffic: Traffic) -> str:
        response = self._s3.upload_part(Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                        Body=body)
        traffic.count("UploadPart")
        traffic.written += len(body)
        return str(response["ETag"])

    # ------------------------------------------------------------------------------------------------ checking
    def verify(self, source_key: str, done: Rewritten) -> Traffic:
        """Read back enough of the new object to trust it: size, head, end, every part boundary and sampled cue
        positions compared with the original's bytes; the kept layout must give back the original's size.
        Costs a few small ranged reads whatever the size. Raises VerifyFailed."""
        traffic = Traffic()
        plan = done.plan
        head = self._s3.head_object(Bucket=self._bucket, Key=done.key)
        traffic.count("HeadObject")
        if int(head["ContentLength"]) != plan.size:
            raise VerifyFailed(f"{done.key} holds {head['ContentLength']} bytes, expected {plan.size}")
        new_etag = str(head["ETag"])
        stored_head = self._read(done.key, new_etag, 0, len(plan.head), traffic)
        if stored_head != plan.head:
            raise VerifyFailed(f"{done.key}: the head differs")
        found = webm.layout(stored_head)
        if found is None or found.original_size != plan.original_size:
            raise VerifyFailed(f"{done.key}: the kept layout does not give back the original")
        ending = plan.tail_header + (plan.tail[1] - plan.tail[0]) * b"\0" + plan.cues
        stored_end = self._read(done.key, new_etag, plan.size - len(ending), plan.size, traffic)
        if not stored_end.endswith(plan.cues) or not stored_end.startswith(plan.tail_header):
            raise VerifyFailed(f"{done.key}: the Cues or the tail's Void differ")
        shift = len(plan.head) - plan.middle[0]
        probes = {low for low, _ in done.parts[1:]} | {high - 16 for _, high in done.parts[:-1]}
        cues = _cue_positions(plan)
        probes |= {cues[round(i * (len(cues) - 1) / max(1, SAMPLED_CUES - 1))] + shift
                   for i in range(min(SAMPLED_CUES, len(cues)))}
        for at in sorted(p for p in probes if len(plan.head) <= p < len(plan.head) + plan.middle[1] - plan.middle[0]):
            width = min(16, len(plan.head) + plan.middle[1] - plan.middle[0] - at)
            mine = self._read(done.key, new_etag, at, at + width, traffic)
            theirs = self._read(source_key, done.source_etag, at - shift, at - shift + width, traffic)
            if mine != theirs:
                raise VerifyFailed(f"{done.key}: bytes at {at} differ from the original's at {at - shift}")
        for at in cues:
            if at + shift - len(plan.head) < 0:
                raise VerifyFailed("a cue points into the head")
        for position in cues[:1] + cues[-1:]:
            start = self._read(done.key, new_etag, position + shift, position + shift + 4, traffic)
            if start != ebml.encode_id(ebml.CLUSTER):
                raise VerifyFailed(f"{done.key}: no Cluster at {position + shift}")
        return traffic


def _ranges(start: int, end: int, most: int) -> list[tuple[int, int]]:
    """[start, end) in near-equal ranges of at most `most` bytes: each holds more than most/2 (>= 5 MiB)."""
    if end <= start:
        return []
    count = -(-(end - start) // most)
    bounds = [start + i * (end - start) // count for i in range(count + 1)]
    return list(itertools.pairwise(bounds))


def _cue_positions(plan: webm.Plan) -> list[int]:
    """The original offsets of the Clusters the plan's Cues point at."""
    found = webm.layout(plan.head)
    if found is None:
        raise VerifyFailed("the plan's head keeps no layout")
    positions = []
    cues = plan.cues
    header = ebml.read_header(cues, 0)
    if header is None:
        return []
    new_head = webm.read_head(plan.head, whole=True)
    if new_head is None:
        raise VerifyFailed("the plan's head does not parse")
    for point in ebml.children(cues, header[2], len(cues)):
        for child in ebml.children(cues, point.data_start, point.end):
            if child.id != ebml.CUE_TRACK_POSITIONS:
                continue
            for item in ebml.children(cues, child.data_start, child.end):
                if item.id == ebml.CUE_CLUSTER_POSITION:
                    new_at = new_head.segment_data + ebml.uint(cues[item.data_start:item.end])
                    positions.append(new_at - (len(plan.head) - plan.middle[0]))
    return positions
