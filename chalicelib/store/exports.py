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
        # a random key per answer: a URL never serves another caller's export, and nothing is overwritten
        key = f"{EXPORTS_PREFIX}{datetime.now(UTC):%Y-%m-%d}/{uuid.uuid4().hex}/{filename}"
        disposition = f'{"attachment" if attachment else "inline"}; filename="{filename}"'
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
