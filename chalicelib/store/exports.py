"""Answers too large for a Lambda response, parked in S3 under exports/ and handed out as presigned GET URLs.

The objects are temporary: the bucket's lifecycle rule `expire-exports` (infra/resources.yaml) deletes everything
under exports/ a day after it was written, well after the URL (PRESIGN_TTL_SECONDS) has expired.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from chalicelib.store.dynamo import aws_errors

EXPORTS_PREFIX = "exports/"


class ExportStore:
    def __init__(self, s3: Any, bucket: str, ttl_seconds: int, kms_key_id: str | None = None) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._ttl = ttl_seconds
        self._kms_key_id = kms_key_id

    def publish(self, body: bytes, content_type: str, filename: str, attachment: bool) -> str:
        """Write `body` to a fresh key and return a presigned (SigV4) URL that reads it."""
        key, disposition = _new_key(filename, attachment)
        extra: dict[str, Any] = {}
        if self._kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}
        with aws_errors():
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type,
                                ContentDisposition=disposition, **extra)
            url: str = self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._ttl
            )
        return url

    def upload(self, content_type: str, filename: str, attachment: bool) -> ExportUpload:
        """A fresh key written part after part (an answer too large to hold whole: chalicelib/api/answers.py)."""
        key, disposition = _new_key(filename, attachment)
        return ExportUpload(self._s3, self._bucket, self._ttl, key, content_type, disposition, self._kms_key_id)


def _new_key(filename: str, attachment: bool) -> tuple[str, str]:
    # a random key per answer: a URL never serves another caller's export, and nothing is overwritten
    key = f"{EXPORTS_PREFIX}{datetime.now(UTC):%Y-%m-%d}/{uuid.uuid4().hex}/{filename}"
    return key, f'{"attachment" if attachment else "inline"}; filename="{filename}"'


class ExportUpload:
    """One answer written to S3 part after part (a multipart upload), so it is never whole in memory. Parts
    but the last are at least MIN_PART bytes (S3's floor)."""

    MIN_PART = 5 * 1024 * 1024

    def __init__(self, s3: Any, bucket: str, ttl_seconds: int, key: str, content_type: str, disposition: str,
                 kms_key_id: str | None) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._ttl = ttl_seconds
        self._key = key
        self._parts: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        if kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
        with aws_errors():
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type, ContentDisposition=disposition, **extra,
            )["UploadId"]

    @property
    def min_part(self) -> int:
        return self.MIN_PART

    def part(self, body: bytes) -> None:
        number = len(self._parts) + 1
        with aws_errors():
            etag = self._s3.upload_part(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                        PartNumber=number, Body=body)["ETag"]
        self._parts.append({"PartNumber": number, "ETag": etag})

    def complete(self) -> str:
        """Finish the object; a presigned (SigV4) URL that reads it."""
        with aws_errors():
            self._s3.complete_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                               MultipartUpload={"Parts": self._parts})
            url: str = self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": self._key}, ExpiresIn=self._ttl)
        return url

    def abort(self) -> None:
        with aws_errors():
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
