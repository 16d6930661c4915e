"""Incremental fetch sessions (KIP-227): a broker remembers a consumer's partitions so that
later fetches send and receive only what changed.

Request ``(session_id, epoch)``::

    (0, -1)   sessionless full fetch
    (0,  0)   full fetch; open a session (its id comes back in the response)
    (S, -1)   close session S; sessionless full fetch
    (S,  0)   close session S; full fetch opening a new one
    (S,  N)   incremental fetch in S: N must be the session's next epoch
              (else INVALID_FETCH_SESSION_EPOCH; an unknown S is FETCH_SESSION_ID_NOT_FOUND)

An incremental request lists only partitions whose fetch position changed (added or updated)
and ``forgotten`` ones to drop; the response lists only partitions with records, an error, or
a high watermark, last stable offset or log start offset different from the last response.
The cache holds ``max.incremental.fetch.session.cache.slots`` sessions, evicting the least
recently used.
"""

from __future__ import annotations

import itertools
import uuid
from collections import OrderedDict

import attrs

__all__ = ["CachedPartition", "FetchSession", "FetchSessionCache", "PartitionKey"]

FINAL_EPOCH = -1
INITIAL_EPOCH = 0

#: A partition as a fetch names it: (topic name or topic id text, partition index).
PartitionKey = tuple[str, int]


@attrs.define
class CachedPartition:
    fetch_offset: int
    max_bytes: int
    current_leader_epoch: int = -1
    log_start_offset: int = -1
    # What the last response said, to decide whether to say it again.
    high_watermark: int = -1
    last_stable_offset: int = -1
    response_log_start: int = -1

    def changed_since_last_response(self, hw: int, lso: int, log_start: int) -> bool:
        changed = (hw, lso, log_start) != (
            self.high_watermark,
            self.last_stable_offset,
            self.response_log_start,
        )
        self.high_watermark, self.last_stable_offset, self.response_log_start = (
            hw,
            lso,
            log_start,
        )
        return changed


@attrs.define
class FetchSession:
    id: int
    epoch: int  #: the epoch the next incremental request must carry
    partitions: dict[PartitionKey, CachedPartition] = attrs.Factory(dict)
    #: The resolved topic name and id of each partition key.
    names: dict[PartitionKey, tuple[str, uuid.UUID]] = attrs.Factory(dict)


class FetchSessionCache:
    """The sessions of one broker."""

    def __init__(self, max_slots: int) -> None:
        self.max_slots = max_slots
        self._sessions: OrderedDict[int, FetchSession] = OrderedDict()
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self) -> FetchSession | None:
        """A new session, or None when the cache holds no session at all (0 slots)."""
        if self.max_slots <= 0:
            return None
        while len(self._sessions) >= self.max_slots:
            self._sessions.popitem(last=False)
        session = FetchSession(next(self._ids) & 0x7FFFFFFF or next(self._ids), 1)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: int) -> FetchSession | None:
        session = self._sessions.get(session_id)
        if session is not None:
            self._sessions.move_to_end(session_id)
        return session

    def remove(self, session_id: int) -> None:
        self._sessions.pop(session_id, None)
