"""A chunk's commit cancelled only by another transaction on its items (an input-event flush checking REC, a hold
on META) wrote nothing and is tried again, rather than answering 503 to a recorder that never retries."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.errors import Unavailable
from chalicelib.model.recording import Segment
from chalicelib.store.dynamo import CONFLICT_ATTEMPTS
from chalicelib.store.recordings import RecordingRepository


def conflict() -> ClientError:
    return ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                        "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"},
                                                {"Code": "None"}]}, "TransactWriteItems")


class Client:
    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.calls = 0

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.conflicts:
            raise conflict()
        assert TransactItems[-1]["ConditionCheck"]["ConditionExpression"] == "attribute_not_exists(onHold)"
        return {}


def commit(client: Client) -> Any:
    table = SimpleNamespace(name="t", meta=SimpleNamespace(client=client))
    return RecordingRepository(table).commit(  # type: ignore[arg-type]
        "s1", segment=Segment("u1", 3), index=None, sha256="x", now_ms=1, owner="alice", cap=10, room=None,
        max_ahead=10, owner_protocols=("rdp", "vnc"))


def test_a_commit_that_met_another_transaction_is_tried_again():
    client = Client(conflicts=2)
    assert commit(client) is None
    assert client.calls == 3


def test_a_commit_that_keeps_meeting_others_is_503():
    client = Client(conflicts=CONFLICT_ATTEMPTS)
    with pytest.raises(Unavailable):
        commit(client)
    assert client.calls == CONFLICT_ATTEMPTS
