"""The boundary between botocore and the domain: one function turns ClientError into domain errors,
and one turns DynamoDB's Decimals back into ints and floats."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.errors import Conflict, ServiceError, Unavailable

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
