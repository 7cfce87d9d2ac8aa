"""The one module that talks DynamoDB's plumbing: every other store module builds its items and expressions and
hands them here.

- errors: `aws_errors()` turns a ClientError into the domain error (`translate`); AWS errors are told apart by
  their code (`error_code`, `cancellation_reasons`), never by their message; `conditional()` is a write whose
  failed condition is an answer (False), not an error.
- transactions: `transact()`, one contract: all or nothing; a failed condition raises ConditionFailed (which
  carries each entry's reason and, where asked for, the item as it was); conflicts with other transactions are
  retried only when the caller says so (`retry_conflicts=True`: items every writer touches, such as the
  generation copies, the counters or a file session's META). One retry policy for all of them: CONFLICT_ATTEMPTS
  tries, jittered backoff of at most 1 s (the file-session writes had their own loop of 5 tries and 0.5 s).
- batches of transactions with a one-by-one fallback: `transact_each()`.
- paging: `query_pages()` / `query_items()` (every page), `query_page()` (one), `walk_page()` (skip, then a
  page, reading one more to learn whether another follows).
- BatchWriteItem and BatchGetItem with their unprocessed items sent again: `batch_write()`, `batch_get()`.
- the purge-generation condition every count-changing write carries: `generation_condition()`.
- DynamoDB's Decimals back to ints and floats: `plain()`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.errors import Conflict, ServiceError, Unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BATCH_WRITE_ITEMS = 25  # DynamoDB's BatchWriteItem limit
IN_FLIGHT = 8  # requests at once for work that fans out (botocore's client pool holds 10 connections)
CONFLICT_ATTEMPTS = 6  # tries of a write that conflicts with other transactions, when the caller retries them

T = TypeVar("T")
R = TypeVar("R")
Item = dict[str, Any]
Entry = dict[str, Any]  # one TransactWriteItems entry: {"Put" | "Update" | "Delete" | "ConditionCheck": {...}}

CONDITION_FAILED = "ConditionalCheckFailed"  # a cancellation reason's code
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
    """A conditional write found the item in another state than it required.

    Of a transaction: `reasons` is each entry's cancellation code (None or "None" where it held), `old_items` the
    item each failed entry found, when the entry asked for it (ReturnValuesOnConditionCheckFailure=ALL_OLD)."""

    def __init__(self, message: str, old_items: Sequence[Item | None] = (), **extra: Any) -> None:
        super().__init__(message, **extra)
        self.old_items: list[Item | None] = list(old_items)

    @property
    def reasons(self) -> list[str | None]:
        return list(self.extra.get("reasons", []))

    @property
    def failed(self) -> list[bool]:
        """Per entry: did its condition fail."""
        return [reason == CONDITION_FAILED for reason in self.reasons]


# ---- errors ----------------------------------------------------------------------------------------------------
def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def cancellation_reasons(exc: BaseException) -> list[str | None]:
    """The per-entry codes of a cancelled transaction ([] for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return []
    return [reason.get("Code") for reason in response.get("CancellationReasons", [])]


def translate(exc: Exception) -> Exception:
    """The domain error for a botocore ClientError; anything else is returned unchanged."""
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return exc
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        return ConditionFailed("the item changed concurrently")
    if code == "TransactionCanceledException":
        reasons = cancellation_reasons(exc)
        if CONDITION_FAILED in reasons:
            return ConditionFailed("the item changed concurrently", _old_items(exc), reasons=reasons)
        return Unavailable("storage is busy, retry", reasons=reasons)
    if code in _RETRYABLE:
        return Unavailable("storage is busy, retry")
    return ServiceError(f"storage error: {code}")


def _old_items(exc: Exception) -> list[Item | None]:
    from boto3.dynamodb.types import TypeDeserializer

    deserialize = TypeDeserializer().deserialize
    response = getattr(exc, "response", None) or {}
    return [plain({k: deserialize(v) for k, v in reason["Item"].items()}) if reason.get("Item") else None
            for reason in response.get("CancellationReasons", [])]


@contextmanager
def aws_errors(translator: Callable[[Exception], Exception] = translate,
               ignoring: frozenset[str] = frozenset()) -> Iterator[None]:
    """Run the AWS calls inside with their errors translated (`translator`: DynamoDB's by default), the original
    error kept as the cause; an error whose code is in `ignoring` is an answer, not an error: it ends the block
    quietly."""
    try:
        yield
    except Exception as exc:
        if ignoring and error_code(exc) in ignoring:
            return
        translated = translator(exc)
        if translated is exc:
            raise
        raise translated from exc


def conditional(write: Callable[[], Any]) -> bool:
    """Run a conditional write: True when it was written, False when its condition did not hold (any other
    error is translated and raised)."""
    try:
        with aws_errors():
            write()
    except ConditionFailed:
        return False
    return True


def is_conflict(exc: BaseException) -> bool:
    """Another transaction holds the item: worth a retry (botocore's retry modes do not retry it). A failed
    condition is never a conflict: it is an answer."""
    reasons = cancellation_reasons(exc)
    return CONDITION_FAILED not in reasons and (
        error_code(exc) == "TransactionConflictException" or "TransactionConflict" in reasons)


def retrying_conflicts(write: Callable[[], T], sleep: Callable[[float], Any] = time.sleep) -> T:
    """Run a write on a busy item, retrying conflicts with other transactions (up to CONFLICT_ATTEMPTS tries,
    with jittered backoff; then Unavailable); any other error is translated and raised at once."""
    for attempt in range(CONFLICT_ATTEMPTS):
        with aws_errors():
            try:
                return write()
            except Exception as exc:
                if not is_conflict(exc):
                    raise
                if attempt == CONFLICT_ATTEMPTS - 1:
                    raise Unavailable("storage is busy, retry") from exc
        sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311  (jitter, not secrecy)
    raise AssertionError("unreachable")


# ---- transactions ----------------------------------------------------------------------------------------------
def transact(table: Table, entries: Sequence[Entry], *, retry_conflicts: bool,
             sleep: Callable[[float], Any] = time.sleep) -> None:
    """TransactWriteItems: every entry or none. ConditionFailed when a condition does not hold (with each
    entry's reason and the old items asked for); conflicts with other transactions retried when
    `retry_conflicts`, else (like every other error) translated and raised."""
    client = table.meta.client

    def write() -> None:
        client.transact_write_items(TransactItems=list(entries))  # type: ignore[arg-type]

    if retry_conflicts:
        retrying_conflicts(write, sleep)
        return
    with aws_errors():
        write()


def transact_each(table: Table, records: Sequence[T], group_size: int,
                  entries: Callable[[Sequence[T]], list[Entry]], *, sleep: Callable[[float], Any] = time.sleep,
                  concurrent: bool = False) -> list[T]:
    """Write `records` in transactions of `group_size` (the entries of a group: `entries(group)`; conflicts
    retried). A group whose condition fails is written again one record at a time, skipping the records whose
    own condition fails. The records written, in order. `concurrent`: the groups are independent and go
    IN_FLIGHT at once."""
    def write(group: Sequence[T]) -> list[T]:
        try:
            transact(table, entries(group), retry_conflicts=True, sleep=sleep)
            return list(group)
        except ConditionFailed:
            written = []
            for one in group:  # one of them changed: write the others one by one
                try:
                    transact(table, entries([one]), retry_conflicts=True, sleep=sleep)
                    written.append(one)
                except ConditionFailed:
                    continue
            return written

    groups = [records[start:start + group_size] for start in range(0, len(records), group_size)]
    if concurrent:
        return [one for written in concurrently(write, groups) for one in written]
    return [one for group in groups for one in write(group)]


# ---- expressions -----------------------------------------------------------------------------------------------
GENERATION_NAMES = {"#gen": "gen"}


def generation_condition(gen: int) -> str:
    """The condition that an item (a META, REC or generation copy) is of purge generation `gen`: with #gen for
    "gen" (GENERATION_NAMES) and :gen for `gen`. Generation 0 is the absence of the attribute (no purge yet)."""
    return "(attribute_not_exists(#gen) OR #gen = :gen)" if gen == 0 else "#gen = :gen"


def set_expression(changes: Mapping[str, Any], remove: Sequence[str] = ()) -> dict[str, Any]:
    """UpdateItem arguments that SET each named attribute to its value and REMOVE the `remove` ones."""
    names = {f"#f{i}": name for i, name in enumerate(changes)}
    values = {f":v{i}": value for i, value in enumerate(changes.values())}
    removed = {f"#r{i}": name for i, name in enumerate(remove)}
    expression = ""
    if changes:
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes)))
    if removed:
        expression += " REMOVE " + ", ".join(removed)
    arguments: dict[str, Any] = {"UpdateExpression": expression.strip(),
                                 "ExpressionAttributeNames": {**names, **removed}}
    if values:
        arguments["ExpressionAttributeValues"] = values
    return arguments


# ---- batches ---------------------------------------------------------------------------------------------------
def batch_write(table: Table, requests: Sequence[dict[str, Any]], sleep: Callable[[float], None],
                max_rounds: int = 8, max_backoff: float = 1.0) -> int:
    """BatchWriteItem `requests` (PutRequest/DeleteRequest entries), 25 a call, retrying unprocessed items with
    jittered backoff; Unavailable when they stay unprocessed. Returns the number of calls made."""
    client = table.meta.client
    calls = 0
    for start in range(0, len(requests), BATCH_WRITE_ITEMS):
        pending: Any = {table.name: list(requests[start:start + BATCH_WRITE_ITEMS])}
        for round_number in range(max_rounds):
            with aws_errors():
                response = client.batch_write_item(RequestItems=pending)
            calls += 1
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                break
            sleep(random.uniform(0, min(max_backoff, 0.05 * 2**round_number)))  # noqa: S311  (jitter, not secrecy)
        else:
            raise Unavailable("storage is busy, retry")
    return calls


def batch_get(table: Table, item_keys: Sequence[Mapping[str, str]], consistent: bool) -> list[Item]:
    """One BatchGetItem of up to 100 keys, its unprocessed keys asked again until none is left: the raw items
    found, in no particular order."""
    client = table.meta.client
    items: list[Item] = []
    request: Any = {table.name: {"Keys": [dict(k) for k in item_keys], "ConsistentRead": consistent}}
    with aws_errors():
        while request:
            response = client.batch_get_item(RequestItems=request)
            items.extend(response["Responses"].get(table.name, []))
            request = response.get("UnprocessedKeys") or {}
    return items


# ---- queries ---------------------------------------------------------------------------------------------------
def query_pages(table: Table, query: Mapping[str, Any], start_key: Mapping[str, Any] | None = None,
                page_limit: Callable[[], int] | None = None) -> Iterator[dict[str, Any]]:
    """The Query responses of `query` page after page, from `start_key`; `page_limit`, when given, is asked for
    each page's Limit just before that page is read."""
    kwargs = dict(query)
    key = start_key
    while True:
        if key is not None:
            kwargs["ExclusiveStartKey"] = key
        if page_limit is not None:
            kwargs["Limit"] = page_limit()
        with aws_errors():
            response = table.query(**kwargs)
        yield dict(response)
        key = response.get("LastEvaluatedKey")
        if key is None:
            return


def query_items(table: Table, query: Mapping[str, Any]) -> Iterator[Item]:
    """Every raw item `query` matches, page after page."""
    for response in query_pages(table, query):
        yield from response["Items"]


def query_page(table: Table, query: Mapping[str, Any], limit: int,
               start_key: Mapping[str, Any] | None = None) -> tuple[list[Item], Item | None]:
    """One page of at most `limit` raw items from `start_key`, and the key to read on from (None at the end)."""
    response = next(query_pages(table, {**query, "Limit": limit}, start_key))
    return list(response["Items"]), response.get("LastEvaluatedKey")


def walk_page(table: Table, query: Mapping[str, Any], limit: int, skip: int,
              start_key: Mapping[str, Any] | None) -> tuple[list[Item], bool, int]:
    """Query pages until `skip` items are passed and `limit` more are taken, reading one more to learn whether
    another page follows: (raw items, more follow, items read)."""
    items: list[Item] = []
    skipped = read = 0
    # the Limit of each page is what is still to skip and to take, asked as each page is read (late binding)
    for response in query_pages(table, query, start_key,
                                page_limit=lambda: (skip - skipped) + (limit + 1 - len(items))):  # noqa: B023
        read += response.get("ScannedCount", 0)
        for raw in response["Items"]:
            if skipped < skip:
                skipped += 1
            elif len(items) < limit:
                items.append(raw)
            else:
                return items, True, read
    return items, False, read


# ---- values ----------------------------------------------------------------------------------------------------
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


def concurrently(work: Callable[[T], R], inputs: Sequence[T], in_flight: int | None = None) -> list[R]:
    """`work` on every input, up to `in_flight` at once: independent requests whose latencies would otherwise
    add up inside one API call. Results in input order; the first error is raised. `work` must use a boto3
    client (thread-safe), not a resource (not)."""
    if len(inputs) <= 1:
        return [work(one) for one in inputs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(in_flight or IN_FLIGHT, len(inputs))) as pool:
        return list(pool.map(work, inputs))
