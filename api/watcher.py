"""One change watcher per ASGI process: reads each new change once and wakes the subscribers it concerns.

Signals, in order of speed: an announcement on Redis pub/sub
(``core.feed.change_publish``, after each commit, from any process, when Redis
is configured), which carries the row, and a poll of the log every
``CHANGE_POLL_SECONDS`` (the only signal in embedded mode, the safety net in
production).  An announced row is taken as it is only when it is the next
cursor (cursors commit in order, so nothing can be missing below it);
otherwise the watcher reads the log.  It reads each new row once, with its
scope keys, and keeps the recent ones in memory; subscribers register the scopes
they hold (``core.audiences.user_scopes``) and are woken only by a change
addressed to one of them, found through an index by scope, so a change costs
the subscribers it concerns, not every socket of the process.  The scopes are
the same rule as ``core.selectors.change_visible_to``; a subscriber reads its
user again (one database read) when a change is addressed to them personally,
which is how a new role, grid or a revoked token reaches it.  A subscriber whose messages read nothing but the
change may leave a ``deliver`` callback while it waits: the watcher calls it instead of waking the subscriber
(``api.multiplex``), so a change to a thousand sockets wakes no task.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis.asyncio
from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Max

from core.feed import change_signal_row, changes_channel
from core.models import Change

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class ChangeRow:
    """A row of the change log as the watcher read it: what a subscription message says, and to whom."""

    id: int
    at: datetime
    kind: str
    object_type: str
    object_id: int
    scopes: frozenset[str]
    facts: dict


class Listener:
    """A subscriber's registration: the scopes it holds, woken when a change addressed to one of them arrives.

    While the subscriber waits, ``deliver`` may take the new rows in its place (``api.multiplex``): it answers
    False when the subscriber must look at them itself, and is then dropped until the subscriber sets it again.
    """

    __slots__ = ("deliver", "scopes", "woken")

    def __init__(self, scopes: frozenset[str]) -> None:
        self.scopes = scopes
        self.woken = asyncio.Event()
        self.deliver: Callable[[list[ChangeRow]], bool] | None = None


class ChangeWatcher:
    RECENT = 20_000

    def __init__(self) -> None:
        self.latest = 0
        self.recent: collections.deque[ChangeRow] = collections.deque(maxlen=self.RECENT)
        self._listeners: dict[str, set[Listener]] = collections.defaultdict(set)
        self._grew = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = asyncio.Lock()

    async def ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (a restarted server, a test): start afresh on it
            self._loop, self._task, self._started = loop, None, asyncio.Lock()
            self._listeners = collections.defaultdict(set)
        if self._task is not None and not self._task.done():
            return
        async with self._started:
            if self._task is not None and not self._task.done():
                return
            self._grew = asyncio.Event()
            self.latest = await _latest_id()
            self._task = loop.create_task(self._run(), name="onegrid-change-watcher")

    def listen(self, scopes: frozenset[str]) -> Listener:
        listener = Listener(scopes)
        for key in scopes:
            self._listeners[key].add(listener)
        return listener

    def rescope(self, listener: Listener, scopes: frozenset[str]) -> None:
        """The subscriber's scopes changed (a new role, a grid assigned or taken away)."""
        if scopes == listener.scopes:
            return
        self.forget(listener)
        listener.scopes = scopes
        for key in scopes:
            self._listeners[key].add(listener)

    def forget(self, listener: Listener) -> None:
        for key in listener.scopes:
            members = self._listeners.get(key)
            if members is not None:
                members.discard(listener)
                if not members:
                    del self._listeners[key]

    @property
    def listeners(self) -> int:
        return len({listener for members in self._listeners.values() for listener in members})

    async def wait_beyond(self, cursor: int, timeout: float) -> bool:
        """Wait until the log holds an id above ``cursor``; False on timeout."""
        while self.latest <= cursor:
            event = self._grew
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                return self.latest > cursor
        return True

    def rows_after(self, cursor: int) -> list[ChangeRow] | None:
        """Rows above ``cursor``, or None when the window no longer reaches back that far."""
        if self.recent and self.recent[0].id > cursor + 1:
            return None
        newer = []
        for row in reversed(self.recent):  # new rows sit at the right end: O(new), not O(window)
            if row.id <= cursor:
                break
            newer.append(row)
        newer.reverse()
        return newer

    async def _run(self) -> None:
        channel = changes_channel()
        announcements = _Announcements(channel) if channel is not None else None
        outage = False
        while True:
            announced = None
            try:
                if announcements is None:
                    await asyncio.sleep(settings.CHANGE_POLL_SECONDS)
                else:
                    announced = await announcements.next(settings.CHANGE_POLL_SECONDS)
                if outage:
                    log.info("change watcher: Redis answers again")
                    outage = False
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis is down: poll the log meanwhile, subscribe again when it is back
                if not outage:
                    log.warning("change watcher: Redis unavailable; polling the log until it is back", exc_info=True)
                outage = True
                await asyncio.sleep(settings.CHANGE_POLL_SECONDS)
            try:
                await self._catch_up(change_signal_row(announced) if announced is not None else None)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("change watcher: could not read the log; retrying", exc_info=True)
                await asyncio.sleep(1)

    async def _catch_up(self, announced: dict | None = None) -> None:
        if announced is not None and announced["id"] <= self.latest:
            return  # read already, after a later announcement or a poll
        if announced is not None and announced["id"] == self.latest + 1:
            rows = [ChangeRow(announced["id"], announced["at"], announced["kind"], announced["object_type"],
                              announced["object_id"], announced["scopes"], announced["facts"])]
        else:
            rows = await _rows_after(self.latest)
        if not rows:
            return
        self.recent.extend(rows)
        self.latest = rows[-1].id
        woken = set()
        listeners = self._listeners
        for row in rows:
            for key in row.scopes:
                members = listeners.get(key)
                if members:
                    woken.update(members)
        for listener in woken:
            if listener.deliver is not None and _delivered(listener, rows):
                continue
            listener.deliver = None
            listener.woken.set()
        event, self._grew = self._grew, asyncio.Event()
        event.set()


def _delivered(listener: Listener, rows: list[ChangeRow]) -> bool:
    try:
        return listener.deliver(rows)
    except Exception:  # the subscriber's own path decides, and reports, whatever went wrong here
        log.warning("change watcher: direct delivery failed; waking the subscriber", exc_info=True)
        return False


class _Announcements:
    """The Redis pub/sub channel of change announcements, subscribed afresh after an outage."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._client: redis.asyncio.Redis | None = None
        self._pubsub = None

    async def next(self, timeout: float) -> bytes | None:
        """The next announcement, or None when none came within ``timeout``; raises when Redis is unreachable."""
        try:
            if self._pubsub is None:
                self._client = redis.asyncio.Redis.from_url(
                    settings.REDIS_URL, socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                    socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT, health_check_interval=15)
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(self.channel)
            message = await self._pubsub.get_message(timeout=timeout)
        except BaseException:
            await self._close()
            raise
        return None if message is None else message["data"]

    async def _close(self) -> None:
        pubsub, client, self._pubsub, self._client = self._pubsub, self._client, None, None
        for closing in (pubsub, client):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing.aclose()


@database_sync_to_async
def _latest_id() -> int:
    return Change.objects.aggregate(top=Max("id"))["top"] or 0


@database_sync_to_async
def _rows_after(cursor: int) -> list[ChangeRow]:
    rows = (Change.objects.filter(id__gt=cursor).order_by("id")
            .values_list("id", "at", "kind", "object_type", "object_id", "scopes", "facts")[:5000])
    return [ChangeRow(id, at, kind, object_type, object_id, frozenset(scopes), facts)
            for id, at, kind, object_type, object_id, scopes, facts in rows]


watcher = ChangeWatcher()
