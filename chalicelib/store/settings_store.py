"""Recording settings (one item) and the connections the gateway registers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from chalicelib.model.sessions import Connection, RecordingSettings
from chalicelib.store import generations as generation
from chalicelib.store import keys, records
from chalicelib.store.dynamo import aws_errors, batch_get, set_expression

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_SETTINGS_KEY = {"PK": keys.SETTINGS_PK, "SK": keys.RECORDING_SETTINGS_SK}


def _connection_key(connection_id: str) -> dict[str, str]:
    return {"PK": keys.connection_pk(connection_id), "SK": keys.META}


class SettingsRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def recording(self) -> RecordingSettings:
        with aws_errors():
            return records.recording_settings(self._table.get_item(Key=_SETTINGS_KEY).get("Item"))

    def update_recording(self, changes: Mapping[str, Any]) -> RecordingSettings:
        """SET the named attributes (enabled, retentionDays, maxTotalBytes); the settings after it."""
        with aws_errors():
            response = self._table.update_item(Key=_SETTINGS_KEY, **set_expression(changes), ReturnValues="ALL_NEW")
        return records.recording_settings(response.get("Attributes"))

    def recording_and_connection(
        self, connection_id: str, consistent: bool = False
    ) -> tuple[RecordingSettings, Connection | None, int]:
        """What a session start needs (the recording settings, the connection, the purge generation), in one
        BatchGetItem. Eventually consistent by default: the start's transaction checks the generation, and
        retries with `consistent` when a purge moved it."""
        found = batch_get(self._table, [_SETTINGS_KEY, _connection_key(connection_id), generation.generation_key()],
                          consistent)
        settings = next((i for i in found if i["SK"] == keys.RECORDING_SETTINGS_SK), None)
        connection = next((i for i in found if i["PK"] != keys.SETTINGS_PK), None)
        gen = generation.generation_of(next((i for i in found if i["SK"].startswith(keys.GENERATION_PREFIX)), None))
        return (records.recording_settings(settings),
                records.connection(connection_id, connection) if connection else None, gen)

    def put_connection(self, connection_id: str, changes: Mapping[str, Any]) -> Connection:
        """SET the named attributes (name, recordingEnabled) of the connection; the connection after it."""
        with aws_errors():
            response = self._table.update_item(Key=_connection_key(connection_id), **set_expression(changes),
                                               ReturnValues="ALL_NEW")
        return records.connection(connection_id, response["Attributes"])
