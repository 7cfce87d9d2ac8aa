import pytest

from chalicelib.api import params
from chalicelib.errors import BadRequest, UnsupportedMediaType


@pytest.mark.parametrize("value", ["a", "sess_1", "A-b.c_9", "x" * 128, 42])
def test_valid_ids(value):
    assert params.valid_id(value) == str(value)


@pytest.mark.parametrize("value", ["", "x" * 129, "a/b", "..", ".", "a b", "é", "a%00", None, True, 1.5, ["a"]])
def test_invalid_ids(value):
    with pytest.raises(BadRequest):
        params.valid_id(value)


def test_json_body_rules():
    assert params.json_body(b'{"a": 1}', "application/json; charset=utf-8") == {"a": 1}
    with pytest.raises(UnsupportedMediaType):
        params.json_body(b"{}", "text/plain")
    for bad in (b"", b"{", b"\xff\xfe", None):
        with pytest.raises(BadRequest):
            params.json_body(bad, "application/json")
    with pytest.raises(BadRequest):
        params.json_object(b"[]", "application/json")
    with pytest.raises(BadRequest, match="unknown field"):
        params.json_object(b'{"x": 1}', "application/json", ("y",))


@pytest.mark.parametrize("query", [{"page": "0"}, {"page": "-1"}, {"page": "1e3"}, {"limit": "0"},
                                   {"limit": "2001"}, {"limit": "abc"}, {"page": "99999999999"},
                                   {"page": "1000", "limit": "2000"}])
def test_bad_paging(query):
    with pytest.raises(BadRequest):
        params.paging(query)


def test_paging_defaults_and_bounds():
    assert params.paging({}) == (1, 25)
    assert params.paging({"page": "3", "limit": "2000"}) == (3, 2000)


def test_list_filters_normalise_times():
    filters = params.list_filters({"from": "2024-01-01T00:00:00+02:00", "to": "2024-01-02"}, ["ssh"])
    assert filters.start == "2023-12-31T22:00:00.000Z"
    assert filters.end == "2024-01-02T00:00:00.000Z"
    for bad in ({"from": "yesterday"}, {"protocol": "gopher"}, {"userId": "a/b"},
                {"from": "2024-02-01", "to": "2024-01-01"}):
        with pytest.raises(BadRequest):
            params.list_filters(bad, ["ssh"])
