"""maxUserBytesPerDay: whom a chunk's bytes are charged to, and what a refusal leaves behind (docs/recordings.md).

The bytes are counted in the chunk's own commit (one more item in its transaction, whose condition refuses the
commit when the user's counter of the UTC day would pass the cap), so nothing here costs an AWS call on the way
in, except the owner of a session the ingest token writes into, read once per session and process.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from datetime import timedelta
from typing import Callable

from chalicelib.domain import access
from chalicelib.domain import access_log as actions
from chalicelib.domain.access import Caller
from chalicelib.domain.access_log import AccessLog
from chalicelib.errors import TooManyRequests
from chalicelib.model.clock import Clock
from chalicelib.model.recording import QuotaCharge
from chalicelib.store.recordings import RecordingRepository

log = logging.getLogger("session_audit.recordings")

COUNTER_KEPT = timedelta(days=3)  # from the day's start: the counter item expires two days after its day
OWNERS_KEPT = 10_000  # sessions whose owner this process remembers (an owner never changes)


class DailyQuota:
    def __init__(self, repo: RecordingRepository, cap: Callable[[], int | None], access_log: AccessLog | None,
                 clock: Clock) -> None:
        self._repo = repo
        self._cap = cap
        self._access_log = access_log
        self._clock = clock
        self._owners: OrderedDict[str, str] = OrderedDict()

    def charge(self, caller: Caller, session_id: str) -> QuotaCharge | None:
        """Whose counter of today the chunk counts in, under which cap; None when no cap is set (nothing is
        counted then) or the session does not exist (the commit answers that)."""
        cap = self._cap()
        if cap is None:
            return None
        # the session's owner: a user writes only into their own sessions (the commit checks it), the ingest
        # token writes on the owner's behalf, so the owner's quota is the one spent either way
        user_id = self._owner(session_id) if caller.has(access.INGEST) else caller.user_id
        if user_id is None:
            return None
        start = self._clock.utc().replace(hour=0, minute=0, second=0, microsecond=0)
        return QuotaCharge(user_id, start.date().isoformat(), cap, int((start + COUNTER_KEPT).timestamp()))

    def refuse(self, caller: Caller, session_id: str, charge: QuotaCharge, ip: str | None) -> None:
        """Mark the session and record the refusal (the first time only), then raise the 429."""
        if self._repo.update_meta(session_id, {"quotaExceeded": True}, only_if_missing="quotaExceeded"):
            detail = {"userId": charge.user_id, "day": charge.day, "maxUserBytesPerDay": charge.cap}
            log.warning(json.dumps({"userQuotaExceeded": {"sessionId": session_id, **detail}}, sort_keys=True))
            if self._access_log is not None:
                self._access_log.record_done(caller, actions.QUOTA, actions.session_target(session_id), ip,
                                             **detail)
        raise TooManyRequests(f"the recording quota of user {charge.user_id} for {charge.day} (UTC) is used up: "
                              f"maxUserBytesPerDay is {charge.cap} bytes; chunks are refused until the next UTC day")

    def _owner(self, session_id: str) -> str | None:
        owner = self._owners.get(session_id)
        if owner is None:
            rec = self._repo.get(session_id)
            if rec is None:
                return None
            owner = rec.user_id
            self._owners[session_id] = owner
            while len(self._owners) > OWNERS_KEPT:
                self._owners.popitem(last=False)
        return owner
