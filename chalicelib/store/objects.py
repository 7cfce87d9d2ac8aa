"""Recording bytes in S3: staged chunks, multipart uploads, finished objects, presigned playback URLs.

Every object is written encrypted: SSE-S3 by default, SSE-KMS when a key id is configured.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable

from chalicelib.errors import ServiceError, Unavailable
from chalicelib.store.dynamo import aws_errors, error_code

_RETRYABLE = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "503", "500"}
_DELETE_BATCH = 1000
_STREAM_BLOCK = 1024 * 1024


class MissingObject(ServiceError):
    """The object read is not in the bucket (S3's NoSuchKey): callers tell it apart by this type."""


def _translate(exc: Exception) -> Exception:
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in _RETRYABLE:
            return Unavailable("storage is busy, retry")
        if code == "NoSuchKey":
            return MissingObject(f"object storage error: {code}")
        return ServiceError(f"object storage error: {code}")
    if isinstance(exc, BotoCoreError):
        return Unavailable("object storage unreachable, retry")
    return exc


def _s3_errors(ignoring: frozenset[str] = frozenset()) -> Any:
    """S3 errors as domain errors (those with a code in `ignoring` end the block quietly)."""
    return aws_errors(_translate, ignoring)


class RecordingObjects:
    def __init__(self, s3: Any, bucket: str, kms_key_id: str | None = None) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._encryption: dict[str, str] = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
            if kms_key_id
            else {"ServerSideEncryption": "AES256"}
        )

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        with _s3_errors():
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type,
                                **self._encryption)

    def get(self, key: str) -> bytes:
        """The object's bytes; MissingObject when it is not there."""
        with _s3_errors():
            body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def delete(self, keys: Iterable[str]) -> None:
        """Delete the keys (missing ones are fine), 1,000 per request."""
        pending = list(dict.fromkeys(keys))
        with _s3_errors():
            for start in range(0, len(pending), _DELETE_BATCH):
                batch = pending[start:start + _DELETE_BATCH]
                self._s3.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                )

    def list_keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix}
        with _s3_errors():
            while True:
                response = self._s3.list_objects_v2(**kwargs)
                found.extend(o["Key"] for o in response.get("Contents", []))
                if not response.get("IsTruncated"):
                    return found
                kwargs["ContinuationToken"] = response["NextContinuationToken"]

    def list_page(self, prefix: str, start_after: str | None,
                  max_keys: int = 1000) -> tuple[list[dict[str, Any]], bool]:
        """One ListObjectsV2 page after `start_after`: [{"key", "size", "modified" (epoch s)}], and whether
        more follow."""
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if start_after:
            kwargs["StartAfter"] = start_after
        with _s3_errors():
            response = self._s3.list_objects_v2(**kwargs)
        found = [{"key": o["Key"], "size": int(o["Size"]), "modified": o["LastModified"].timestamp()}
                 for o in response.get("Contents", [])]
        return found, bool(response.get("IsTruncated"))

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload (its parts stop being stored and billed); one already gone is fine."""
        with _s3_errors(ignoring=frozenset({"NoSuchUpload", "404"})):
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)

    def create_upload(self, key: str, content_type: str) -> str:
        with _s3_errors():
            response = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=content_type, **self._encryption
            )
        upload_id: str = response["UploadId"]
        return upload_id

    def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        with _s3_errors():
            response = self._s3.upload_part(
                Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )
        etag: str = response["ETag"]
        return etag

    def complete_upload(self, key: str, upload_id: str, parts: list[tuple[int, str]], size: int) -> None:
        """Complete with the parts in ascending order; an upload completed before (a retry) is fine when
        the object is there with the expected size."""
        completed = False
        with _s3_errors(ignoring=frozenset({"NoSuchUpload"})):
            self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in sorted(parts)]},
            )
            completed = True
        if not completed and self.size(key) != size:
            raise ServiceError("object storage error: NoSuchUpload")

    def size(self, key: str) -> int | None:
        response = None
        with _s3_errors(ignoring=frozenset({"404", "NoSuchKey", "NotFound"})):
            response = self._s3.head_object(Bucket=self._bucket, Key=key)
        if response is None:
            return None
        length: int = response["ContentLength"]
        return length

    def sha256(self, key: str) -> tuple[str, int]:
        """The object's SHA-256 (hex) and size, streamed."""
        digest = hashlib.sha256()
        size = 0
        with _s3_errors():
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
            for block in iter(lambda: body.read(_STREAM_BLOCK), b""):
                digest.update(block)
                size += len(block)
        return digest.hexdigest(), size

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of an object (fewer at its end)."""
        if end <= start:
            return b""
        body: bytes = b""
        with _s3_errors(ignoring=frozenset({"InvalidRange"})):
            body = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={start}-{end - 1}")[
                "Body"].read()
        return body

    def seekable_writer(self) -> Any:
        """The WebM rewriter on this bucket, with this encryption (chalicelib/media/rewrite.py)."""
        from chalicelib.media.rewrite import SeekableWriter

        return SeekableWriter(self._s3, self._bucket, self._encryption)

    def presign(self, key: str, ttl: int, content_type: str, disposition: str | None) -> str:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key, "ResponseContentType": content_type}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        with _s3_errors():
            url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)
        return url
