"""Every key shape of the one DynamoDB table, in one screen.

| item                 | PK              | SK             | list indexes (SK: <startedAt>#<id>)          |
|----------------------|-----------------|----------------|----------------------------------------------|
| session              | SESSION#<id>    | META           | GSI1 USER#<uid>#SESSION, GSI2 ALL#SESSION,   |
|                      |                 |                | GSI3 PROTOCOL#SESSION#<protocol>             |
|                      |                 |                | (each + `@<gen>` from generation 1 on)       |
| command (SSH)        | SESSION#<id>    | CMD#<elapsed>#<batch>#<n>                                     |
| input events, packed | SESSION#<id>    | EVENTS#<first elapsed>#<batch>#<part> (<= 5,000 events)       |
| audit totals         | SESSION#<id>    | TOTALS (commands, events: what the session holds)             |
| file session         | FILES#<id>      | META           | as sessions, with FILES for SESSION          |
| file event           | FILES#<id>      | EVENT#t<timestamp>#<receivedAt>#<batch>#<n> (time order)      |
|   (before: legacy)   | FILES#<id>      | EVENT#<batch>#<n> (still read, sorted on reading)             |
| file batch marker    | FILES#<id>      | BATCH#<batch> (the batch is counted in eventCount)            |
| connection           | CONNECTION#<id> | META           |                                              |
| recording settings   | SETTINGS        | RECORDING      |                                              |
| totals (sharded)     | STATS#<00..15>  | META           | (bytes: the storage total)                   |
| generation totals    | STATS#<00..15>  | GEN#<gen>      | (sessions, recordings, fileSessions, held)   |
| a user's daily bytes | USERBYTES#<uid> | DAY#<YYYY-MM-DD> (UTC; bytes; expiresAt: TTL)                 |
| purge generation     | SETTINGS        | GENERATION#<00..15> (16 copies of `gen`, changed together)    |
| legal hold           | HOLDS           | SESSION#<id> / FILES#<id> (of a held session / file session)  |
| background job       | JOBS            | PURGE#<gen%08d> / DELETE#<SESSION|FILES>#<id>                 |
| sweep state          | SETTINGS        | RETENTION / RECONCILE                                         |
| access-log entry     | ACCESS#<00..15> | <at ISO>#<random> (before sharding: PK ACCESS, still read)    |
| retained recording   | SESSION#<id>    | RETAIN         | GSI2 RECORDINGS / <startedAt>#<id>           |
| live recording       | SESSION#<id>    | REC            | (none: written by every chunk, so unindexed) |
| sweep marker         | SESSION#<id>    | OPEN           | GSI2 OPEN#RECORDING / <due ISO>#<id>         |
| indexed chunk        | SESSION#<id>    | CHUNK#<index%010d> |                                          |
| multipart part       | SESSION#<id>    | PART#<n%05d>   | (WebM: + scan state and packed cues after it) |
| lake mark (outbox)   | SESSION#<id>    | LAKE#commands#<batch>#<group%02d>, LAKE#sessions (rewritten)  |
|   (of file events)   | FILES#<id>      | LAKE#files#<batch>#00 | GSI2 LAKE#<00..15> / <marked>#<PK>#<SK> |

S3 keys: `staging/<sessionId>/<name>` (chunks awaiting compaction), `recordings/<sessionId>.<webm|cast>`,
`recordings/<sessionId>.seekable.webm` (the WebM with Duration and Cues that replaces the client's object once
verified; docs/seekable-webm.md), `lake/<kind>/day=YYYY-MM-DD/<run>.json` (the audit lake, docs/search.md).
A lake mark (store/outbox.py) lists the records its write stored, until `lake_export` has copied them to the lake.
The OPEN marker is the sweeper's sparse index: it exists while a recording is open or has work left after
completion (staging cleanup, digest); its sort key is the moment the sweeper should look next.

<elapsed> is `sortable_elapsed()`: the number zero-padded, so commands sort by elapsed. <batch> is a digest of
the validated batch, so a retried batch lands on the same keys instead of duplicating its records.

List sort keys start with the ISO `startedAt`, so a time range is a key condition. List partitions carry
the purge generation (`ALL#SESSION@3`): a purge moves the generation on, which hides every list entry of the
old one at once, and the background worker walks the old partition to delete it (docs/purge-retention.md).
A user's daily bytes item counts the chunk bytes charged to the user on a UTC day (maxUserBytesPerDay);
DynamoDB deletes it by TTL (`expiresAt`) two days after the day.
A RETAIN item exists for each finished recording with bytes, so retention finds recordings oldest first
without reading sessions that have none.
"""

from __future__ import annotations

from chalicelib.model.audit import ELAPSED_DIGITS
from chalicelib.model.sessions import FILES_KIND, SESSION_KIND

SESSION = SESSION_KIND
FILES = FILES_KIND
META = "META"
STATS_PK = "STATS"
STATS_SHARDS = 16
SETTINGS_PK = "SETTINGS"
RECORDING_SETTINGS_SK = "RECORDING"

COMMAND_PREFIX = "CMD#"
EVENTS_PREFIX = "EVENTS#"
FILE_EVENT_PREFIX = "EVENT#"
# file events in time order: `EVENT#t<timestamp>#<receivedAt>#<batch>#<n>`; before that (still read) they were
# `EVENT#<batch>#<n>`, whose hex digits all sort below "g" (and "t")
TIMED_FILE_EVENT_PREFIX = "EVENT#t"
LEGACY_FILE_EVENTS_END = "EVENT#g"
AUDIT_TOTALS = "TOTALS"  # SESSION#<id> / TOTALS: the commands and input events the session holds (its caps)
FILE_BATCH_PREFIX = "BATCH#"
REC = "REC"
OPEN = "OPEN"
OPEN_PK = "OPEN#RECORDING"

GENERATION_PREFIX = "GENERATION#"
HOLDS_PK = "HOLDS"
JOBS_PK = "JOBS"
ACCESS_PK = "ACCESS"  # the access log's one partition before it was sharded: still read, no longer written
ACCESS_SHARDS = 16
RETAIN = "RETAIN"
RETAIN_PK = "RECORDINGS"
RETENTION_STATE_SK = "RETENTION"
RECONCILE_STATE_SK = "RECONCILE"
LAKE_MARK_PREFIX = "LAKE#"  # SESSION#<id> / FILES#<id> partitions: the lake's outbox marks
LAKE_SESSIONS_SK = "LAKE#sessions"
LAKE_SHARDS = 16
LAKE_PREFIX = "lake/"
STAGING_PREFIX = "staging/"
RECORDINGS_PREFIX = "recordings/"

BY_USER_INDEX = "GSI1"
ALL_INDEX = "GSI2"
BY_PROTOCOL_INDEX = "GSI3"
OPEN_INDEX = ALL_INDEX  # sparse use of GSI2 by the OPEN markers, in a partition of its own
LAKE_INDEX = ALL_INDEX  # sparse use of GSI2 by the lake's outbox marks, in 16 partitions of their own


def session_pk(session_id: str) -> str:
    return f"{SESSION}#{session_id}"


def file_session_pk(session_id: str) -> str:
    return f"{FILES}#{session_id}"


def connection_pk(connection_id: str) -> str:
    return f"CONNECTION#{connection_id}"


def stats_pk(shard: int) -> str:
    # one partition per shard: a partition takes at most 1,000 writes a second
    return f"{STATS_PK}#{shard:02d}"


def user_bytes_pk(user_id: str) -> str:
    return f"USERBYTES#{user_id}"


def day_sk(day: str) -> str:
    return f"DAY#{day}"


def generation_sk(shard: int) -> str:
    return f"{GENERATION_PREFIX}{shard:02d}"


def generation_counter_sk(gen: int) -> str:
    return f"GEN#{gen}"


def list_sort_key(started_at: str, item_id: str) -> str:
    return f"{started_at}#{item_id}"


def _generation(gen: int) -> str:
    # generation 0 keeps the plain names, so a table written before purges existed needs no migration
    return f"@{gen}" if gen else ""


def by_user_pk(kind: str, user_id: str, gen: int = 0) -> str:
    return f"USER#{user_id}#{kind}{_generation(gen)}"


def all_pk(kind: str, gen: int = 0) -> str:
    return f"ALL#{kind}{_generation(gen)}"


def by_protocol_pk(kind: str, protocol: str, gen: int = 0) -> str:
    return f"PROTOCOL#{kind}#{protocol}{_generation(gen)}"


def list_partitions(kind: str, user_id: str, protocol: str, gen: int) -> dict[str, str]:
    return {"GSI1PK": by_user_pk(kind, user_id, gen), "GSI2PK": all_pk(kind, gen),
            "GSI3PK": by_protocol_pk(kind, protocol, gen)}


def list_index_keys(kind: str, user_id: str, protocol: str, started_at: str, item_id: str,
                    gen: int = 0) -> dict[str, str]:
    """The index attributes that put a session or file session in every list it belongs to."""
    sk = list_sort_key(started_at, item_id)
    partitions = list_partitions(kind, user_id, protocol, gen)
    return {
        "GSI1PK": partitions["GSI1PK"],
        "GSI1SK": sk,
        "GSI2PK": partitions["GSI2PK"],
        "GSI2SK": sk,
        "GSI3PK": partitions["GSI3PK"],
        "GSI3SK": sk,
    }


def sortable_elapsed(elapsed: int | float) -> str:
    """`elapsed` (0 <= elapsed < 10**12) as text whose string order is its numeric order."""
    from decimal import Decimal

    exact = Decimal(repr(elapsed)) if isinstance(elapsed, float) else Decimal(elapsed)
    whole, _, fraction = format(exact, "f").partition(".")
    # '#' (after the key) sorts before '.', so 1 < 1.5; fractions compare digit by digit.
    return f"{int(whole):0{ELAPSED_DIGITS}d}" + (f".{fraction}" if fraction else "")


def command_sk(elapsed_key: str, batch: str, index: int) -> str:
    return f"{COMMAND_PREFIX}{elapsed_key}#{batch}#{index:04d}"


def events_sk(first_elapsed_key: str, batch: str, part: int) -> str:
    return f"{EVENTS_PREFIX}{first_elapsed_key}#{batch}#{part:02d}"


def file_event_sk(timestamp: str, received_at: str, batch: str, index: int) -> str:
    """Sorts as (timestamp, receivedAt, id) does: both times are fixed-width ISO, the id is evt_<batch><n>."""
    return f"{TIMED_FILE_EVENT_PREFIX}{timestamp}#{received_at}#{batch}#{index:04d}"


def legacy_file_event_sk(batch: str, index: int) -> str:
    """The key file events had before they were kept in time order (still read)."""
    return f"{FILE_EVENT_PREFIX}{batch}#{index:04d}"


def file_batch_sk(batch: str) -> str:
    return f"{FILE_BATCH_PREFIX}{batch}"


def hold_sk(kind: str, item_id: str) -> str:
    return f"{kind}#{item_id}"


def purge_job_sk(gen: int) -> str:
    return f"PURGE#{gen:08d}"


def delete_job_sk(kind: str, item_id: str) -> str:
    return f"DELETE#{kind}#{item_id}"


def access_pk(shard: int) -> str:
    # one partition per shard: every playback writes an entry, and a partition takes ~1,000 writes a second
    return f"{ACCESS_PK}#{shard:02d}"


def access_sk(at: str, entry_id: str) -> str:
    return f"{at}#{entry_id}"


def part_sk(number: int) -> str:
    return f"PART#{number:05d}"


def chunk_sk(index: int) -> str:
    return f"CHUNK#{index:010d}"


def open_sort_key(due: str, session_id: str) -> str:
    return f"{due}#{session_id}"


def lake_mark_sk(kind: str, batch: str, group: int) -> str:
    return f"{LAKE_MARK_PREFIX}{kind}#{batch}#{group:02d}"


def lake_shard(pk: str) -> int:
    """The outbox shard of a partition: fixed by its key, so a rewritten mark stays in its shard."""
    import zlib

    return zlib.crc32(pk.encode()) % LAKE_SHARDS


def lake_pk(shard: int) -> str:
    # one index partition per shard: every audit write marks one, and a partition takes ~1,000 writes a second
    return f"{LAKE_MARK_PREFIX}{shard:02d}"


def lake_mark_sort_key(marked_at: str, pk: str, sk: str) -> str:
    return f"{marked_at}#{pk}#{sk}"


def lake_day_prefix(kind: str, day: str) -> str:
    return f"{LAKE_PREFIX}{kind}/day={day}/"


def lake_key(kind: str, day: str, run: str) -> str:
    return f"{lake_day_prefix(kind, day)}{run}.json"


def staging_prefix(session_id: str) -> str:
    return f"{STAGING_PREFIX}{session_id}/"


def staging_key(session_id: str, name: str) -> str:
    return f"{staging_prefix(session_id)}{name}"


def recording_key(session_id: str, extension: str) -> str:
    return f"{RECORDINGS_PREFIX}{session_id}.{extension}"


def seekable_key(session_id: str) -> str:
    return f"{RECORDINGS_PREFIX}{session_id}.seekable.webm"


RECORDING_SUFFIXES = (".seekable.webm", ".webm", ".cast")


def session_of_recording_key(key: str) -> str:
    """The session id of any object under recordings/ (recording_key or seekable_key); ids may hold dots."""
    name = key[len(RECORDINGS_PREFIX):]
    for suffix in RECORDING_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name.rsplit(".", 1)[0]
