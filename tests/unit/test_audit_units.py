"""Pure parts of the audit records: the elapsed sort key, packing, CSV neutralising, the answer-size measure."""

import json
import random

import pytest

from chalicelib.api.answers import envelope_bytes
from chalicelib.api.file_export import neutralised
from chalicelib.store.audit import pack_events, unpack_events
from chalicelib.store.keys import command_sk, sortable_elapsed


def test_sortable_elapsed_orders_like_the_numbers_ints_and_floats_mixed():
    rng = random.Random(7)
    values = [0, 1, 1.5, 1.05, 2, 10, 9.999, 1e-07, 0.1, 300000, 300000.5, 999_999_999_999.5]
    values += [rng.uniform(0, 10_000) for _ in range(500)] + [rng.randrange(0, 10**9) for _ in range(500)]
    keyed = sorted(values, key=lambda v: command_sk(sortable_elapsed(v), "b", 0))
    assert keyed == sorted(values)
    assert sortable_elapsed(1e-07) == "000000000000.0000001"
    assert sortable_elapsed(300000) == "000000300000"


def test_packed_events_keep_ints_and_floats():
    events = [(12.734, "move"), (1500, "click"), (0.1 + 0.2, "key"), (1e-07, "move")]
    back = unpack_events(pack_events(events))
    assert back == events and [type(e) for e, _ in back] == [float, int, float, float]


def test_neutralised_prefixes_only_formula_starts():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralised(start + "x") == "'" + start + "x"
    assert neutralised("a=b") == "a=b" and neutralised(None) == "" and neutralised(" =x") == " =x"


def test_envelope_bytes_counts_json_escaping():
    body = json.dumps({"events": [{"elapsed": 1, "event_type": "move"}]})
    assert envelope_bytes(body) == len(body) + 2 + body.count('"')  # a backslash per quote
    assert envelope_bytes("é") == len('"\\u00e9"')


def client_error(code, reasons=()):
    from botocore.exceptions import ClientError

    response = {"Error": {"Code": code, "Message": code}}
    if reasons:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "TransactWriteItems")


def test_conflicts_on_a_busy_item_are_retried_other_errors_are_not():
    from chalicelib.errors import Unavailable
    from chalicelib.store.dynamo import ConditionFailed
    from chalicelib.store.dynamo import retrying_conflicts as retry_conflicts

    failures = [client_error("TransactionCanceledException", ["None", "TransactionConflict"]),
                client_error("TransactionConflictException")]

    def flaky():
        if failures:
            raise failures.pop(0)
        return "done"

    assert retry_conflicts(flaky, sleep=lambda _: None) == "done" and failures == []

    def always(error):
        def write():
            raise error
        return write

    with pytest.raises(Unavailable):
        retry_conflicts(always(client_error("TransactionConflictException")), sleep=lambda _: None)
    calls = []

    def condition_failed():
        calls.append(1)
        raise client_error("TransactionCanceledException", ["ConditionalCheckFailed", "None"])

    with pytest.raises(ConditionFailed):
        retry_conflicts(condition_failed, sleep=lambda _: None)
    assert calls == [1]  # a failed condition is an answer, not a conflict: no retry


def test_unprocessed_items_are_sent_again_until_written():
    from types import SimpleNamespace

    from chalicelib.store.audit import write_all

    sent = []

    class Client:
        def batch_write_item(self, RequestItems):
            puts = RequestItems["t"]
            sent.append(len(puts))
            # DynamoDB leaves the last item of a full request unprocessed once
            return {"UnprocessedItems": {"t": puts[-1:]}} if len(puts) == 25 else {}

    table = SimpleNamespace(name="t", meta=SimpleNamespace(client=Client()))
    requests_made = write_all(table, [{"PK": str(i)} for i in range(30)], sleep=lambda _: None)
    assert sent == [25, 1, 5] and requests_made == 3
