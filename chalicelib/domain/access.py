"""Who may see and change what. Every rule of the README's "Permissions" table lives here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping, Protocol, TypeVar

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


class Owned(Protocol):
    """A typed record that belongs to a user (chalicelib/model)."""

    @property
    def user_id(self) -> str: ...


# a typed record, or a raw item of the recording pipeline (its REC and META items are still read as mappings
# there, until that code reads typed records too)
Record = TypeVar("Record", bound=Owned | Mapping[str, Any])


def _owner(record: Owned | Mapping[str, Any]) -> Any:
    return record.get("userId") if isinstance(record, Mapping) else record.user_id


def may_read(caller: Caller, record: Owned | Mapping[str, Any]) -> bool:
    return caller.has(VIEW_ANY) or _owner(record) == caller.user_id


def readable(caller: Caller, record: Record | None, what: str = "session") -> Record:
    """The record, or 404 when it is missing or not the caller's to see (never revealing that it exists)."""
    if record is None or not may_read(caller, record):
        raise NotFound(f"{what} not found")
    return record


# Write rights follow who really produces each record (docs/audit-records.md, "Who writes what"): the gateway's
# server writes SSH/Telnet casts, commands and file events (sessions.ingest); the user's browser records RDP/VNC
# (chunks, input events, finalize), so those also take the session's owner, while its recording is open.
BROWSER_PROTOCOLS = frozenset({"rdp", "vnc"})


class Writer(Enum):
    """As whom a caller appends to a session: the service (any session, open or ended) or its owner (only
    while the recording is open; the store's condition checks that with the write)."""

    SERVICE = "service"
    OWNER = "owner"


def browser_writer(caller: Caller, owner: str, protocol: str, what: str = "session") -> Writer:
    """Who writes a browser-made record (an RDP/VNC chunk, input events, finalize) into a session of `owner`:
    sessions.ingest, or the owner of a browser-recorded session. 404 for anyone else (never revealing that the
    session exists); 403 for the owner of a session the gateway's server records (SSH/Telnet)."""
    if caller.has(INGEST):
        return Writer.SERVICE
    if owner != caller.user_id:
        raise NotFound(f"{what} not found")
    if protocol not in BROWSER_PROTOCOLS:
        raise Forbidden(f"the gateway's server records {protocol} sessions: writing them needs {INGEST}")
    return Writer.OWNER


class NothingVisible(Exception):
    """The filters ask for records the caller may not see: the answer is an empty list, not an error."""


def list_owner(caller: Caller, requested_user: str | None) -> str | None:
    """The userId a list is narrowed to (None: everyone's). Filters only narrow what the caller may see."""
    if caller.has(VIEW_ANY):
        return requested_user
    if requested_user is not None and requested_user != caller.user_id:
        raise NothingVisible()
    return caller.user_id
