"""Who may see and change what. Every rule of the README's "Permissions" table lives here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from chalicelib.errors import Forbidden, NotFound

VIEW_ANY = "sessions.view_any"
DELETE = "sessions.delete"
INGEST = "sessions.ingest"
MANAGE_SETTINGS = "settings.manage"


@dataclass(frozen=True)
class Caller:
    user_id: str
    username: str
    role: str
    permissions: frozenset[str]

    def has(self, permission: str) -> bool:
        return permission in self.permissions


def require(caller: Caller, permission: str) -> None:
    if not caller.has(permission):
        raise Forbidden(f"missing permission {permission}")


def may_read(caller: Caller, record: Mapping[str, Any]) -> bool:
    return caller.has(VIEW_ANY) or record.get("userId") == caller.user_id


def may_write(caller: Caller, record: Mapping[str, Any]) -> bool:
    return caller.has(INGEST) or record.get("userId") == caller.user_id


def readable(caller: Caller, record: Mapping[str, Any] | None, what: str = "session") -> Mapping[str, Any]:
    """The record, or 404 when it is missing or not the caller's to see (never revealing that it exists)."""
    if record is None or not may_read(caller, record):
        raise NotFound(f"{what} not found")
    return record


def writable(caller: Caller, record: Mapping[str, Any] | None, what: str = "session") -> Mapping[str, Any]:
    """The record, or 404 when it is missing or the caller may not write into it (nor learn that it exists)."""
    if record is None or not may_write(caller, record):
        raise NotFound(f"{what} not found")
    return record


class NothingVisible(Exception):
    """The filters ask for records the caller may not see: the answer is an empty list, not an error."""


def list_owner(caller: Caller, requested_user: str | None) -> str | None:
    """The userId a list is narrowed to (None: everyone's). Filters only narrow what the caller may see."""
    if caller.has(VIEW_ANY):
        return requested_user
    if requested_user is not None and requested_user != caller.user_id:
        raise NothingVisible()
    return caller.user_id
