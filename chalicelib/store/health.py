"""What a deployment's health check reads from AWS: whether the table and the bucket answer this function's role,
and the CORS rules the bucket carries. Two requests, both reads; no error escapes (a health check reports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.store import keys


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str


@dataclass(frozen=True)
class CorsRule:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    exposed: tuple[str, ...]


@dataclass(frozen=True)
class BucketCors:
    probe: Probe
    rules: tuple[CorsRule, ...]


def _failure(exc: Exception) -> str:
    """The AWS error code (or the client's own error), never more: the report is for an admin, not a debugger."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "")) or type(exc).__name__
    return type(exc).__name__


class HealthProbes:
    def __init__(self, table: Any, s3: Any, bucket: str) -> None:
        self._table = table
        self._s3 = s3
        self._bucket = bucket

    def table(self) -> Probe:
        return table_answers(self._table)

    def bucket_cors(self) -> BucketCors:
        return bucket_cors(self._s3, self._bucket)


def table_answers(table: Any) -> Probe:
    """One GetItem of the recording settings: the table exists, and the role may read it."""
    try:
        table.get_item(Key={"PK": keys.SETTINGS_PK, "SK": keys.RECORDING_SETTINGS_SK})
    except Exception as exc:  # reported, not raised
        return Probe(False, f"the table did not answer: {_failure(exc)}")
    return Probe(True, "the table answers")


def bucket_cors(s3: Any, bucket: str) -> BucketCors:
    """GetBucketCors: the bucket exists, the role may read its configuration, and these rules apply to browsers."""
    try:
        answer = s3.get_bucket_cors(Bucket=bucket)
    except Exception as exc:  # reported, not raised
        code = _failure(exc)
        if code == "NoSuchCORSConfiguration":
            return BucketCors(Probe(True, "the bucket answers"), ())
        return BucketCors(Probe(False, f"the bucket did not answer: {code}"), ())
    rules = tuple(CorsRule(tuple(rule.get("AllowedOrigins", ())), tuple(rule.get("AllowedMethods", ())),
                           tuple(rule.get("AllowedHeaders", ())), tuple(rule.get("ExposeHeaders", ())))
                  for rule in answer.get("CORSRules", ()))
    return BucketCors(Probe(True, "the bucket answers"), rules)
