"""Answers too large for a Lambda response (MAX_RESPONSE_BYTES, decided by the API) are parked in S3 and answered
with a presigned URL: this is the API's door to that store, so the API reaches no repository itself."""

from __future__ import annotations

from chalicelib.store.exports import ExportStore, ExportUpload


class Exports:
    def __init__(self, store: ExportStore) -> None:
        self._store = store

    def publish(self, body: bytes, content_type: str, filename: str, attachment: bool) -> str:
        """A presigned URL that reads `body` back (a fresh object per answer; expired by the bucket's lifecycle)."""
        return self._store.publish(body, content_type, filename, attachment=attachment)

    def upload(self, content_type: str, filename: str, attachment: bool) -> ExportUpload:
        """An answer written part after part (a multipart upload); its URL once complete."""
        return self._store.upload(content_type, filename, attachment)
