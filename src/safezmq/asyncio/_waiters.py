"""The pieces the asyncio socket is built of: queued calls (waiters) and small helpers."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from .. import socket as _socket
from ..constants import PollEvent
from ..message import MessageTracker

POLLIN = int(PollEvent.POLLIN)
POLLOUT = int(PollEvent.POLLOUT)
POLLERR = int(PollEvent.POLLERR)

_SyncSocket = _socket.Socket
_sync_recv = _SyncSocket.recv
_sync_recv_multipart = _SyncSocket.recv_multipart

# What a waiter waits for.
_RECV = 0
_RECV_MULTIPART = 1
_SEND = 2
_POLL = 3

#: How each receive kind receives now (indexed by kind).
_RECEIVERS: tuple[Callable[..., Any], ...] = (_sync_recv, _sync_recv_multipart)

#: A waiter queue is swept for cancelled/timed-out futures when it reaches this length (and then
#: at twice the number of live waiters), so abandoned waiters cannot pile up.
_SWEEP_AT = 64


class _Waiter:
    """One queued call: its future and what to do for it."""

    __slots__ = ("copy", "flags", "future", "kind", "load", "msg", "timer", "track")

    def __init__(
        self,
        future: asyncio.Future[Any],
        kind: int,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        load: Callable[[Any], Any] | None = None,
        msg: list[Any] | None = None,
    ) -> None:
        self.future = future
        self.kind = kind
        self.flags = flags
        self.copy = copy
        self.track = track
        self.load = load
        self.msg = msg
        self.timer: asyncio.TimerHandle | None = None


class _Waiters(deque[_Waiter]):
    """A FIFO of waiters that sweeps out finished ones now and then."""

    __slots__ = ("sweep_at",)

    def __init__(self) -> None:
        super().__init__()
        self.sweep_at = _SWEEP_AT

    def prune(self) -> bool:
        """Drop finished waiters from the front; True if none is left."""
        while self:
            if not self[0].future.done():
                return False
            self.popleft()
        return True

    def add(self, waiter: _Waiter) -> None:
        if len(self) >= self.sweep_at:
            live = [w for w in self if not w.future.done()]
            self.clear()
            self.extend(live)
            self.sweep_at = max(_SWEEP_AT, 2 * len(live))
        self.append(waiter)


def _finish(future: asyncio.Future[Any], result: Any, load: Callable[[Any], Any] | None) -> None:
    if load is None:
        future.set_result(result)
        return
    try:
        value = load(result)
    except Exception as exc:
        future.set_exception(exc)
    else:
        future.set_result(value)


def _done_tracker() -> MessageTracker:
    tracker = MessageTracker()
    tracker._set_done()  # the frames were handed over whole; nothing of the caller's is held
    return tracker


def _nothing() -> None:
    return None


def _decode_utf8(data: bytes) -> str:
    return data.decode("utf-8")


def _wake_watcher(watcher: asyncio.Future[Any]) -> None:
    if not watcher.done():
        watcher.set_result(None)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
