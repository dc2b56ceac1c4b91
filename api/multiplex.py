"""Shared subscription messages written straight to their sockets, one frame per socket, without a task each.

One change to a thousand live subscribers of ``changes`` went, per socket, through a task woken, its
generator resumed, strawberry's per-event pipeline (a copy of the executor, the extensions' hooks, the
protocol's message dict) and Channels' encoder: about 0.1 ms a socket, so the thousandth socket heard the change
100 ms after the first (py-spy on the server of ``bench/fanout.py --only latency``).  For a message that reads
nothing but itself (``api.execution.SharedPayload``), the change watcher now hands the rows to the waiting
subscriber's ``Sink`` instead of waking it: the subscriber's own rules decide in place (its scopes, its token's
time), the payload is executed once per operation (``OneGridExecutor.shared_result``), encoded once, and each
socket gets the one ``next`` frame with its operation's id, written at once.

The subscriber's generator stays the authority: it is woken, as before, for everything a sink does not decide
(a change addressed to the user personally or to their access, a token that ran out, a window the watcher no
longer holds, a payload that did not execute cleanly), and it waits for the sink's writes before it sends
anything itself, so a socket's messages keep their cursor order.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

#: The graphql-transport-ws operation that the current task runs (set by ``api.websocket``'s handler).
current_operation: contextvars.ContextVar[Any] = contextvars.ContextVar("onegrid_operation", default=None)
#: The executor of the current task's subscription (set by ``api.execution.OneGridExecutor``).
current_executor: contextvars.ContextVar[Any] = contextvars.ContextVar("onegrid_executor", default=None)

#: Frames a slow reader's sink holds at most; past them the subscriber's own path waits for the reader.
BACKLOG = 100

#: The JSON of the last results sent, by the identity of their data: (data, its JSON).
_ENCODED: collections.OrderedDict[int, tuple[object, str]] = collections.OrderedDict()
_ENCODED_KEPT = 256


def data_json(data: object) -> str:
    """``data`` as JSON, encoded once for every socket that sends the same result object."""
    found = _ENCODED.get(id(data))
    if found is not None and found[0] is data:
        return found[1]
    text = json.dumps(data, separators=(",", ":"))
    _ENCODED[id(data)] = (data, text)
    while len(_ENCODED) > _ENCODED_KEPT:
        _ENCODED.popitem(last=False)
    return text


def next_frame(operation_id: str, data_text: str) -> str:
    """A graphql-transport-ws ``next`` message with no errors and no extensions, as strawberry sends it."""
    return '{"id":' + json.dumps(operation_id) + ',"type":"next","payload":{"data":' + data_text + "}}"


class Sink:
    """Where a subscription of a shared payload writes its messages directly: one operation on one socket."""

    __slots__ = ("_backlog", "_consumer", "_executor", "_operation", "_payload_of", "_prefix", "_writing")

    def __init__(self, consumer, operation, executor, payload_of: Callable[[Any], Any]) -> None:
        self._consumer, self._operation, self._executor = consumer, operation, executor
        self._payload_of = payload_of
        self._prefix = next_frame(operation.id, "")[:-2]
        self._writing: asyncio.Task | None = None  # a write that waits for a slow reader, then the backlog
        self._backlog: collections.deque[str] = collections.deque()

    @classmethod
    def current(cls, context: dict, payload_of: Callable[[Any], Any]) -> Sink | None:
        """The sink of the subscription the current task runs, whose messages are ``payload_of(row)`` (a
        ``SharedPayload``); None outside a websocket operation (a test executing the schema directly), where
        messages take strawberry's path only."""
        operation, executor, consumer = current_operation.get(), current_executor.get(), context.get("ws")
        if operation is None or executor is None or consumer is None:
            return None
        return cls(consumer, operation, executor, payload_of)

    def push(self, row) -> bool:
        """Send the message for ``row`` on this operation now; False when it must take strawberry's path instead
        (its result has errors or is not ready, or the reader is so slow that ``BACKLOG`` frames wait already:
        strawberry's path then waits for them, holding no more), and nothing was sent."""
        if not self._open():
            return True  # the client completed the operation, or the socket is closing: nothing more to say
        if len(self._backlog) >= BACKLOG:
            return False
        result = self._executor.shared_result(self._payload_of(row))
        if result is None or result.errors:
            return False
        frame = self._prefix + data_json(result.data) + "}}"
        if self._writing is not None:
            self._backlog.append(frame)
            return True
        waiting = self._write_now(frame)
        if waiting is not None:
            self._writing = asyncio.get_running_loop().create_task(self._write_rest(*waiting))
        return True

    def _open(self) -> bool:
        """Whether the operation still runs: not completed by the client (whose id it may then use again for
        another subscription) and its socket not closing."""
        operation = self._operation
        return not operation.completed and operation.handler.operations.get(operation.id) is operation

    async def drained(self) -> None:
        """Wait until every frame pushed so far is written (before strawberry's path sends the next message)."""
        while self._writing is not None:
            await asyncio.wait((self._writing,))  # not cancelled with the waiter: the frames still go out

    def _write_now(self, frame: str) -> tuple[Coroutine, Any] | None:
        """Run the socket's send until it finishes or has to wait (its reader is slow: the transport's buffer is
        full); what it waits for, to be finished in a task.  Python 3.12's eager tasks do this for every task;
        here it is the one call that a thousand sockets make at once, and it almost never waits."""
        send = self._consumer.base_send({"type": "websocket.send", "text": frame})  # Channels' ``send``, unwrapped
        try:
            return send, send.send(None)
        except StopIteration:
            return None
        except Exception:  # the client is gone: its consumer ends the operation
            log.debug("subscription frame not written", exc_info=True)
            return None

    async def _write_rest(self, send: Coroutine, waiting: Any) -> None:
        try:
            try:
                while True:
                    if waiting is None:  # a bare yield (``asyncio.sleep(0)``)
                        await asyncio.sleep(0)
                    else:
                        waiting._asyncio_future_blocking = False
                        await asyncio.wait((waiting,))
                    waiting = send.send(None)
            except StopIteration:
                pass
            finally:
                send.close()
            while self._backlog and self._open():
                await self._consumer.base_send({"type": "websocket.send", "text": self._backlog.popleft()})
        except Exception:
            log.debug("subscription frames not written", exc_info=True)
        finally:
            self._backlog.clear()  # written, or for an operation that ended: never for the next one of its id
            self._writing = None
