"""Every key shape of the one DynamoDB table, in one screen.

| item                 | PK              | SK             | list indexes (SK: <startedAt>#<id>)          |
|----------------------|-----------------|----------------|----------------------------------------------|
| session              | SESSION#<id>    | META           | GSI1 USER#<uid>#SESSION, GSI2 ALL#SESSION,   |
|                      |                 |                | GSI3 PROTOCOL#SESSION#<protocol>             |
| file session         | FILES#<id>      | META           | as sessions, with FILES for SESSION          |
| connection           | CONNECTION#<id> | META           |                                              |
| recording settings   | SETTINGS        | RECORDING      |                                              |
| totals (sharded)     | STATS#<00..15>  | META           |                                              |

List sort keys start with the ISO `startedAt`, so a time range is a key condition and a purge can hide
everything before a moment with one watermark instead of touching every row.
"""

from __future__ import annotations

SESSION = "SESSION"
FILES = "FILES"
META = "META"
STATS_PK = "STATS"
STATS_SHARDS = 16
SETTINGS_PK = "SETTINGS"
RECORDING_SETTINGS_SK = "RECORDING"

BY_USER_INDEX = "GSI1"
ALL_INDEX = "GSI2"
BY_PROTOCOL_INDEX = "GSI3"


def session_pk(session_id: str) -> str:
    return f"{SESSION}#{session_id}"


def file_session_pk(session_id: str) -> str:
    return f"{FILES}#{session_id}"


def connection_pk(connection_id: str) -> str:
    return f"CONNECTION#{connection_id}"


def stats_pk(shard: int) -> str:
    # one partition per shard: a partition takes at most 1,000 writes a second
    return f"{STATS_PK}#{shard:02d}"


def list_sort_key(started_at: str, item_id: str) -> str:
    return f"{started_at}#{item_id}"


def by_user_pk(kind: str, user_id: str) -> str:
    return f"USER#{user_id}#{kind}"


def all_pk(kind: str) -> str:
    return f"ALL#{kind}"


def by_protocol_pk(kind: str, protocol: str) -> str:
    return f"PROTOCOL#{kind}#{protocol}"


def list_index_keys(kind: str, user_id: str, protocol: str, started_at: str, item_id: str) -> dict[str, str]:
    """The index attributes that put a session or file session in every list it belongs to."""
    sk = list_sort_key(started_at, item_id)
    return {
        "GSI1PK": by_user_pk(kind, user_id),
        "GSI1SK": sk,
        "GSI2PK": all_pk(kind),
        "GSI2SK": sk,
        "GSI3PK": by_protocol_pk(kind, protocol),
        "GSI3SK": sk,
    }
