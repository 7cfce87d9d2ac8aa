"""TIMESTAMP_FORMAT=gateway: every time of every answer in the gateway's own form (`YYYY-MM-DD HH:MM:SS`, UTC),
which its history page reads with `new Date(t.replace(' ', 'T') + 'Z')`; filters take both forms."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib import container
from chalicelib.settings import ConfigError, get_settings, load_settings
from tests.support.clients import Api, make_token
from tests.support.times import (
    CSV_TIME_COLUMNS,
    GATEWAY_FORM,
    ISO_LIKE,
    gateway_parse,
    strings,
    time_fields,
    to_the_second,
)

ADMIN = make_token("admin", role="admin")
CAST = b'{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "$ "]\n[1.25, "o", "ls\\r\\n"]\n'


def use_format(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TIMESTAMP_FORMAT", value)
    get_settings.cache_clear()
    container.use(None)  # rebuilt from the environment (the tables stay: they are moto's)


def record_everything(api: Api) -> tuple[str, str]:
    """A finished SSH session with its cast and commands, and a file session with events: every record kind."""
    session_id = api.post("/sessions", ADMIN, {"protocol": "ssh", "connectionId": "web-1"}).json["sessionId"]
    assert api.post(f"/sessions/{session_id}/recording/chunk", ADMIN, CAST,
                    content_type="application/x-asciicast").status_code == 200
    commands = [{"elapsed": 1.0, "command": "ls", "output_preview": "a b"},  # timed on arrival
                {"elapsed": 2.5, "command": "id", "output_preview": "uid=0", "timestamp": "2025-03-04T05:06:07.891Z"}]
    assert api.post(f"/sessions/{session_id}/commands", ADMIN, commands).status_code == 200
    assert api.post(f"/sessions/{session_id}/recording/finalize", ADMIN).json["recordingState"] == "complete"
    events = [{"action": "upload", "path": "/srv/a", "timestamp": "2025-03-04T05:06:07.500+02:00"},
              {"action": "delete", "path": "/srv/b"}]
    assert api.post("/file-sessions/fs-1/events", ADMIN,
                    {"protocol": "sftp", "connectionId": "files-1", "events": events}).status_code == 200
    return session_id, "fs-1"


def every_answer(api: Api, session_id: str, file_id: str) -> dict[str, Any]:
    """Each answer kind that carries a time, by name (the playback and the export add to the access log)."""
    def body(path: str) -> Any:
        response = api.get(path, ADMIN)
        assert response.status_code == 200, (path, response.body)
        return response.json

    answers = {
        "sessions": body("/sessions"),
        "session": body(f"/sessions/{session_id}"),
        "commands": body(f"/sessions/{session_id}/commands"),
        "playback": body(f"/sessions/{session_id}/recording?redirect=false"),
        "file-sessions": body("/file-sessions"),
        "file-events": body(f"/file-sessions/{file_id}/events"),
        "export": body(f"/file-sessions/{file_id}/export?format=json"),
    }
    answers["access-log"] = body("/access-log")
    return answers


def csv_times(api: Api, file_id: str) -> list[str]:
    text = api.get(f"/file-sessions/{file_id}/export?format=csv", ADMIN).body.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    return [row[column] for row in rows for column in CSV_TIME_COLUMNS]


def test_every_time_of_every_answer_is_in_the_gateways_form_and_reads_as_the_same_moment(
        api, recording_on, monkeypatch):
    session_id, file_id = record_everything(api)
    iso_answers = every_answer(api, session_id, file_id)
    iso_csv = csv_times(api, file_id)
    # the contract's default: ISO 8601, which the gateway's page cannot read (its date filter keeps every row)
    assert all(gateway_parse(value) is None for _, value in time_fields(iso_answers) if value)

    use_format(monkeypatch, "gateway")
    answers = every_answer(api, session_id, file_id)
    for kind, answer in answers.items():
        found = [(where, value) for where, value in time_fields(answer) if value is not None]
        assert found, f"{kind} carries no time"
        for where, value in found:
            assert GATEWAY_FORM.match(value), (kind, where, value)
            assert gateway_parse(value) is not None, (kind, where, value)
        assert not [s for s in strings(answer) if ISO_LIKE.search(s)], kind  # no time left in another form
    # the same moments, cut to the second: field by field where the records are the same in both rounds
    for kind in ("sessions", "session", "commands", "file-sessions", "file-events", "export"):
        before, after = list(time_fields(iso_answers[kind])), list(time_fields(answers[kind]))
        assert [where for where, _ in before] == [where for where, _ in after], kind
        for (where, iso), (_, shown) in zip(before, after, strict=True):
            assert (shown is None) == (iso is None), (kind, where)
            if iso is not None:
                assert shown is not None and gateway_parse(shown) == to_the_second(iso), (kind, where)
    logged = {gateway_parse(entry["at"]) for entry in answers["access-log"]["entries"]}
    assert {to_the_second(entry["at"]) for entry in iso_answers["access-log"]["entries"]} <= logged
    expires = gateway_parse(answers["playback"]["expiresAt"])
    assert expires is not None and timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    # a given time: the command's own 05:06:07.891Z, the event's 05:06:07.500+02:00
    assert answers["commands"]["commands"][1]["timestamp"] == "2025-03-04 05:06:07"
    assert answers["file-events"]["events"][0]["timestamp"] == "2025-03-04 03:06:07"

    shown_csv = csv_times(api, file_id)
    assert all(GATEWAY_FORM.match(value) for value in shown_csv), shown_csv
    assert [gateway_parse(value) for value in shown_csv] == [to_the_second(value) for value in iso_csv]


def test_iso_is_the_default_and_a_bad_format_stops_the_service():
    required = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "JWT_SECRET": "s"}
    assert load_settings(required).timestamp_format == "iso"
    assert load_settings({**required, "TIMESTAMP_FORMAT": "gateway"}).timestamp_format == "gateway"
    for bad in ("GATEWAY", "sqlite", "unix"):
        with pytest.raises(ConfigError, match=r"^TIMESTAMP_FORMAT must be iso or gateway, got "):
            load_settings({**required, "TIMESTAMP_FORMAT": bad})


def backfilled(api: Api, started: datetime) -> str:
    response = api.post("/sessions", ADMIN, {"protocol": "ssh", "connectionId": "c1", "userId": "bob",
                                              "startedAt": started.isoformat()})
    assert response.status_code == 200, response.body
    session_id: str = response.json["sessionId"]
    return session_id


@pytest.mark.parametrize("answer_format", ["iso", "gateway"])
def test_filters_take_both_forms_and_a_gateway_to_covers_its_second(api, recording_on, monkeypatch, answer_format):
    use_format(monkeypatch, answer_format)
    whole = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    first, second, third = (backfilled(api, whole + timedelta(seconds=s, milliseconds=400)) for s in (0, 60, 120))

    def listed(**filters: str) -> list[str]:
        query = "&".join(f"{name}={quote(value)}" for name, value in filters.items())
        response = api.get(f"/sessions?{query}", ADMIN)
        assert response.status_code == 200, response.body
        return [s["id"] for s in response.json["sessions"]]

    minute = whole + timedelta(seconds=60)
    gateway, iso = minute.strftime("%Y-%m-%d %H:%M:%S"), minute.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert listed(**{"from": gateway}) == listed(**{"from": iso}) == [third, second]
    assert listed(**{"from": gateway.replace(" ", "+")}) == [third, second]  # a form's "+" for the space
    # the gateway's form is cut to the second (second started at :00.400): as `to` it names that whole second
    assert listed(to=gateway) == [second, first]
    assert listed(to=iso) == [first]  # an ISO time is exact
    assert listed(**{"from": gateway, "to": gateway}) == [second]
    shown = api.get(f"/sessions/{second}", ADMIN).json["startedAt"]
    assert listed(**{"from": shown, "to": shown}) == [second]  # a row's own time, in either form, finds the row
    for bad in ("2024-13-01 00:00:00", "yesterday", "2024-01-01  00:00:00"):
        assert api.get(f"/sessions?to={quote(bad)}", ADMIN).status_code == 400, bad
