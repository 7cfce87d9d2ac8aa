"""Recording settings (one item) and the connections the gateway registers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from chalicelib.store import generations as generation
from chalicelib.store import keys
from chalicelib.store.dynamo import plain, set_expression, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RECORDING_DEFAULTS: dict[str, Any] = {"enabled": False, "retentionDays": 90, "maxTotalBytes": None}
_SETTINGS_KEY = {"PK": keys.SETTINGS_PK, "SK": keys.RECORDING_SETTINGS_SK}


def _connection_key(connection_id: str) -> dict[str, str]:
    return {"PK": keys.connection_pk(connection_id), "SK": keys.META}


def _recording(item: Mapping[str, Any] | None) -> dict[str, Any]:
    stored = plain(dict(item or {}))
    return {name: stored.get(name, default) for name, default in RECORDING_DEFAULTS.items()}


class SettingsRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def recording(self) -> dict[str, Any]:
        try:
            return _recording(self._table.get_item(Key=_SETTINGS_KEY).get("Item"))
        except Exception as exc:
            raise translate(exc) from exc

    def update_recording(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = self._table.update_item(
                Key=_SETTINGS_KEY,
                **set_expression(changes),
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            raise translate(exc) from exc
        return _recording(response.get("Attributes"))

    def recording_and_connection(
        self, connection_id: str, consistent: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any] | None, int]:
        """What a session start needs (the recording settings, the connection, the purge generation), in one
        BatchGetItem. Eventually consistent by default: the start's transaction checks the generation, and
        retries with `consistent` when a purge moved it."""
        request: Any = {self._table.name: {
            "Keys": [_SETTINGS_KEY, _connection_key(connection_id), generation.generation_key()],
            "ConsistentRead": consistent,
        }}
        found: list[dict[str, Any]] = []
        try:
            while request:
                response = self._table.meta.client.batch_get_item(RequestItems=request)
                found.extend(response["Responses"].get(self._table.name, []))
                request = response.get("UnprocessedKeys") or {}
        except Exception as exc:
            raise translate(exc) from exc
        settings = next((i for i in found if i["SK"] == keys.RECORDING_SETTINGS_SK), None)
        connection = next((i for i in found if i["PK"] != keys.SETTINGS_PK), None)
        gen = generation.generation_of(next((i for i in found if i["SK"].startswith(keys.GENERATION_PREFIX)), None))
        return _recording(settings), (plain(connection) if connection else None), gen

    def put_connection(self, connection_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = self._table.update_item(
                Key=_connection_key(connection_id),
                **set_expression(changes),
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            raise translate(exc) from exc
        stored: dict[str, Any] = plain(response["Attributes"])
        return stored
