import pytest

from chalicelib.api import cursors
from chalicelib.errors import BadRequest

KEY = {"PK": "SESSION#a", "SK": "META", "GSI2PK": "ALL#SESSION", "GSI2SK": "2024-01-01T00:00:00.000Z#a"}


def test_round_trip_in_the_same_scope():
    token = cursors.encode(KEY, "scope-1", "secret")
    assert cursors.decode(token, "scope-1", "secret") == KEY
    assert cursors.encode(None, "scope-1", "secret") is None
    assert cursors.decode(None, "scope-1", "secret") is None


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # tampered payload
    lambda t: "A" + t[1:] if t[0] != "A" else "B" + t[1:],  # tampered mac
    lambda t: "!!!",
    lambda t: "x" * 3000,
])
def test_tampered_or_garbage_cursors_are_400(mutate):
    token = cursors.encode(KEY, "scope-1", "secret")
    with pytest.raises(BadRequest):
        cursors.decode(mutate(token), "scope-1", "secret")


def test_a_cursor_of_another_list_or_key_is_refused():
    token = cursors.encode(KEY, "scope-1", "secret")
    with pytest.raises(BadRequest):
        cursors.decode(token, "scope-2", "secret")
    with pytest.raises(BadRequest):
        cursors.decode(token, "scope-1", "other-secret")
