"""The seekable rewrite inside S3 (moto in process): the video is copied by UploadPartCopy, not moved through us."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.s3_traffic import S3Traffic
from chalicelib import aws
from chalicelib.media import rewrite, webm
from tests.support import webm as wf
from tests.support.clients import BUCKET

MiB = 1024 * 1024
SSE = {"ServerSideEncryption": "AES256"}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    if not wf.have_ffmpeg():
        pytest.fail(wf.FFMPEG_MISSING)
    folder = tmp_path_factory.mktemp("webm-s3")
    small = wf.chrome_style(wf.encode(folder / "small.webm", seconds=3.0))
    noisy = wf.chrome_style(wf.encode(folder / "noise.webm", seconds=2.0, size="320x240", bitrate="4M", gop=10,
                                      noise=True))
    return {"small": small, "12MiB": wf.looped(noisy, 12 * MiB), "26MiB": wf.looped(noisy, 26 * MiB)}


@pytest.fixture
def s3(moto: None) -> Iterator[Any]:
    yield aws.s3_client()


def stored(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def indexed(data: bytes, chunk: int = 1_000_003) -> webm.Index:
    """The index as the pipeline learns it: chunk by chunk, cues taken away at every chunk."""
    scanner, taken = webm.Scanner(), []
    for at in range(0, len(data), chunk):
        scanner.feed(data[at:at + chunk])
        taken.append(scanner.take_cues())
    return scanner.finish(taken)


def run(s3: Any, data: bytes, **options: Any) -> tuple[rewrite.Rewritten, S3Traffic, S3Traffic]:
    s3.put_object(Bucket=BUCKET, Key="recordings/s.webm", Body=data, **SSE)
    writer = rewrite.SeekableWriter(s3, BUCKET, SSE, **options)
    traffic = S3Traffic().attach(s3)
    try:
        done = writer.rewrite("recordings/s.webm", "recordings/s.seekable.webm", indexed(data))
        written = S3Traffic()
        written.calls, written.sent, written.received, written.copied = (
            traffic.calls.copy(), traffic.sent, traffic.received, traffic.copied)
        traffic.reset()
        writer.verify("recordings/s.webm", done)
    finally:
        traffic.detach(s3)
    return done, written, traffic


def test_a_small_recording_is_read_rewritten_and_put(s3: Any, media: dict[str, bytes]) -> None:
    data = media["small"]
    done, written, _ = run(s3, data)
    assert written.calls == {"HeadObject": 1, "GetObject": 1, "PutObject": 1}
    result = stored(s3, done.key)
    assert result == webm.plan(webm.scan(data)).assemble(data)
    assert webm.rebuild(result) == data
    assert stored(s3, "recordings/s.webm") == data  # the original stays until the caller switches over
    head = s3.head_object(Bucket=BUCKET, Key=done.key)
    assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == "video/webm"


@pytest.mark.parametrize("name, copies", [("12MiB", 1), ("26MiB", 3)])
def test_a_large_recording_is_copied_inside_s3(s3: Any, media: dict[str, bytes], name: str, copies: int,
                                               tmp_path: Path) -> None:
    data = media[name]
    done, written, checked = run(s3, data, small_bytes=MiB, copy_part_bytes=10 * MiB)
    assert written.calls["UploadPartCopy"] == copies
    assert written.calls["UploadPart"] == 2  # the head with the first 5 MiB, and the Cues
    assert written.calls["CompleteMultipartUpload"] == 1
    plan = done.plan
    # through this process: about 5 MiB each way, whatever the size; the rest is copied by S3
    assert written.received == rewrite.MIN_PART_BYTES - len(plan.head)
    assert written.sent == rewrite.MIN_PART_BYTES + len(plan.cues)
    assert written.copied == len(data) - plan.middle[0] - written.received
    assert (written.sent, written.received, written.copied) == (
        done.traffic.written, done.traffic.read, done.traffic.copied)  # its own account agrees with the wire's
    assert all(high - low >= rewrite.MIN_PART_BYTES for low, high in done.parts[:-1])
    assert checked.received < 64 * 1024 and checked.calls["GetObject"] <= 40  # verification reads little
    result = stored(s3, done.key)
    assert result == plan.assemble(data)  # byte for byte the local rewrite
    assert hashlib.sha256(b"".join(webm.rebuild_stream(
        lambda a, b: s3.get_object(Bucket=BUCKET, Key=done.key, Range=f"bytes={a}-{b - 1}")["Body"].read(),
        block=4 * MiB))).hexdigest() == hashlib.sha256(data).hexdigest()
    if name == "12MiB":
        out = tmp_path / "big.webm"
        out.write_bytes(result)
        duration = wf.ffprobe_duration(out)
        assert duration is not None and abs(duration - webm.scan(data).duration_seconds) < 1e-6
        original = tmp_path / "orig.webm"
        original.write_bytes(data)
        assert wf.frame_hashes(out) == wf.frame_hashes(original)


def test_a_large_recording_cut_short_keeps_its_tail(s3: Any, media: dict[str, bytes]) -> None:
    data = media["12MiB"][:-1234]
    done, written, _ = run(s3, data, small_bytes=MiB)
    assert done.plan.tail_header and written.calls["UploadPartCopy"] == 1
    result = stored(s3, done.key)
    assert result == done.plan.assemble(data)
    assert webm.rebuild(result) == data


def test_verification_refuses_an_object_that_differs(s3: Any, media: dict[str, bytes]) -> None:
    data = media["12MiB"]
    done, _, _ = run(s3, data, small_bytes=MiB)
    result = bytearray(stored(s3, done.key))
    result[done.parts[1][0]] ^= 0xFF  # a copied part that starts one byte off would show here first
    s3.put_object(Bucket=BUCKET, Key=done.key, Body=bytes(result))
    with pytest.raises(rewrite.VerifyFailed):
        rewrite.SeekableWriter(s3, BUCKET).verify("recordings/s.webm", done)


def test_an_index_of_other_bytes_is_refused(s3: Any, media: dict[str, bytes]) -> None:
    data = media["small"]
    s3.put_object(Bucket=BUCKET, Key="recordings/s.webm", Body=data + b"more")
    with pytest.raises(webm.Unsupported):
        rewrite.SeekableWriter(s3, BUCKET).rewrite("recordings/s.webm", "recordings/s.seekable.webm",
                                                   webm.scan(data))
    with pytest.raises(ValueError):
        rewrite.SeekableWriter(s3, BUCKET).rewrite("recordings/s.webm", "recordings/s.webm", webm.scan(data))


def test_an_original_replaced_during_the_rewrite_fails_it(s3: Any, media: dict[str, bytes]) -> None:
    data = media["12MiB"]
    s3.put_object(Bucket=BUCKET, Key="recordings/s.webm", Body=data)

    def swap(**_: Any) -> None:  # another writer replaces the original once the rewrite has looked at it
        s3.meta.events.unregister("after-call.s3.CreateMultipartUpload", swap)
        s3.put_object(Bucket=BUCKET, Key="recordings/s.webm", Body=data[::-1])

    # every read is If-Match the ETag seen first (the copies CopySourceIfMatch, which moto does not check)
    s3.meta.events.register("after-call.s3.CreateMultipartUpload", swap)
    with pytest.raises(Exception, match=r"PreconditionFailed|412"):
        rewrite.SeekableWriter(s3, BUCKET, small_bytes=MiB).rewrite(
            "recordings/s.webm", "recordings/s.seekable.webm", indexed(data))
    uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert uploads == []  # aborted
