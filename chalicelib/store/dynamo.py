"""The boundary between botocore and the domain: one function turns ClientError into domain errors,
and one turns DynamoDB's Decimals back into ints and floats."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any, Callable, Sequence, TypeVar

from chalicelib.errors import Conflict, ServiceError, Unavailable

BATCH_WRITE_ITEMS = 25  # DynamoDB's BatchWriteItem limit
IN_FLIGHT = 8  # requests at once for work that fans out (botocore's client pool holds 10 connections)

T = TypeVar("T")
R = TypeVar("R")

_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "SlowDown",
    "TransactionInProgressException",
}


class ConditionFailed(Conflict):
    """A conditional write found the item in another state than it required."""


def translate(exc: Exception) -> Exception:
    """The domain error for a botocore ClientError; anything else is returned unchanged."""
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return exc
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return ConditionFailed("the item changed concurrently")
    if code == "TransactionCanceledException":
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if "ConditionalCheckFailed" in reasons:
            return ConditionFailed("the item changed concurrently", reasons=reasons)
        return Unavailable("storage is busy, retry", reasons=reasons)
    if code in _RETRYABLE:
        return Unavailable("storage is busy, retry")
    return ServiceError(f"storage error: {code}")


def plain(value: Any) -> Any:
    """DynamoDB's Decimal numbers as Python ints (when integral) or floats, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, set):
        return {plain(v) for v in value}
    return value


def set_expression(changes: dict[str, Any] | Any) -> dict[str, Any]:
    """UpdateItem arguments that SET each named attribute to its value."""
    names = {f"#f{i}": name for i, name in enumerate(changes)}
    values = {f":v{i}": value for i, value in enumerate(changes.values())}
    return {
        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def batch_write(client: Any, table_name: str, requests: Sequence[dict[str, Any]], sleep: Callable[[float], None],
                max_rounds: int = 8, max_backoff: float = 1.0) -> int:
    """BatchWriteItem `requests` (PutRequest/DeleteRequest entries), 25 a call, retrying unprocessed items with
    jittered backoff; Unavailable when they stay unprocessed. Returns the number of calls made."""
    calls = 0
    for start in range(0, len(requests), BATCH_WRITE_ITEMS):
        pending: Any = {table_name: list(requests[start:start + BATCH_WRITE_ITEMS])}
        for round_number in range(max_rounds):
            try:
                response = client.batch_write_item(RequestItems=pending)
            except Exception as exc:
                raise translate(exc) from exc
            calls += 1
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                break
            sleep(random.uniform(0, min(max_backoff, 0.05 * 2**round_number)))  # noqa: S311  (jitter, not secrecy)
        else:
            raise Unavailable("storage is busy, retry")
    return calls


def walk_page(table: Any, query: dict[str, Any], limit: int, skip: int,
              start_key: dict[str, Any] | None) -> tuple[list[dict[str, Any]], bool, int]:
    """Query pages until `skip` items are passed and `limit` more are taken, reading one more to learn whether
    another page follows: (raw items, more follow, items read)."""
    kwargs = dict(query)
    items: list[dict[str, Any]] = []
    skipped = read = 0
    more = False
    key = start_key
    while True:
        if key is not None:
            kwargs["ExclusiveStartKey"] = key
        try:
            response = table.query(Limit=(skip - skipped) + (limit + 1 - len(items)), **kwargs)
        except Exception as exc:
            raise translate(exc) from exc
        read += response.get("ScannedCount", 0)
        for raw in response["Items"]:
            if skipped < skip:
                skipped += 1
            elif len(items) < limit:
                items.append(raw)
            else:
                more = True
                break
        key = response.get("LastEvaluatedKey")
        if more or key is None:
            return items, more, read


def concurrently(work: Callable[[T], R], inputs: Sequence[T], in_flight: int | None = None) -> list[R]:
    """`work` on every input, up to `in_flight` at once: independent requests whose latencies would otherwise
    add up inside one API call. Results in input order; the first error is raised. `work` must use a boto3
    client (thread-safe), not a resource (not)."""
    if len(inputs) <= 1:
        return [work(one) for one in inputs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(in_flight or IN_FLIGHT, len(inputs))) as pool:
        return list(pool.map(work, inputs))
