"""Poller and select over safezmq sockets and ordinary file descriptors (pyzmq's API).

A socket is ready when its pattern says so (after processing its mailbox); while nothing is
ready the poller sleeps in ``poll(2)`` on every socket's FD (which its mailbox signals) and on
the raw descriptors, then looks again.
"""

from __future__ import annotations

import select as _select
import time
from typing import Any

from .constants import Errno, PollEvent
from .error import ContextTerminated, ZMQError

POLLIN = int(PollEvent.POLLIN)
POLLOUT = int(PollEvent.POLLOUT)
POLLERR = int(PollEvent.POLLERR)


def _is_socket(obj: Any) -> bool:
    return hasattr(obj, "_events") and hasattr(obj, "mailbox")


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    if hasattr(obj, "fileno"):
        return int(obj.fileno())
    raise TypeError(f"cannot poll {obj!r}: not a safezmq socket, an fd or an object with fileno()")


class Poller:
    """Wait for events on several sockets and file descriptors."""

    def __init__(self) -> None:
        self.sockets: list[tuple[Any, int]] = []
        self._index: dict[Any, int] = {}

    def register(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        """Watch ``socket`` for ``flags`` (0 unregisters)."""
        if not flags:
            if socket in self._index:  # register(s, 0) is unregister(s), if registered
                self.unregister(socket)
            return
        if socket in self._index:
            self.sockets[self._index[socket]] = (socket, flags)
        else:
            self._index[socket] = len(self.sockets)
            self.sockets.append((socket, flags))

    modify = register

    def __contains__(self, socket: Any) -> bool:
        return socket in self._index

    def unregister(self, socket: Any) -> None:
        idx = self._index.pop(socket)
        self.sockets.pop(idx)
        for i, (sock, _) in enumerate(self.sockets[idx:], idx):
            self._index[sock] = i

    def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Ready (socket, events) pairs; ``timeout`` in milliseconds (None or -1: forever).

        As in pyzmq, a raw descriptor is reported by its fd number (even when an object with
        ``fileno()`` was registered), and a socket whose context was terminated raises ETERM."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000
        while True:
            ready, waiter = self._check()
            if ready:
                return ready
            if deadline is None:
                wait_ms = -1
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                wait_ms = max(1, int(remaining * 1000 + 0.999))
            fired = waiter.poll(wait_ms)
            if not fired and deadline is not None and time.monotonic() >= deadline:
                return []

    def _check(self) -> tuple[list[tuple[Any, int]], Any]:
        ready: list[tuple[Any, int]] = []
        waiter = _select.poll()
        raw: dict[int, int] = {}  # fd -> the events asked for
        for sock, flags in self.sockets:
            if _is_socket(sock):
                if sock.closed:
                    raise ZMQError(Errno.ENOTSOCK, "cannot poll a closed socket")
                events = sock._events() & flags
                if getattr(sock, "_ctx_terminated", False):
                    raise ContextTerminated()
                if events:
                    ready.append((sock, events))
                waiter.register(sock.mailbox.signaler.fd, _select.POLLIN)
            else:
                fd = _fileno(sock)
                raw[fd] = raw.get(fd, 0) | flags
        if raw:
            for fd, flags in raw.items():
                mask = 0
                if flags & POLLIN:
                    mask |= _select.POLLIN | _select.POLLPRI
                if flags & POLLOUT:
                    mask |= _select.POLLOUT
                if flags & POLLERR:
                    mask |= _select.POLLERR
                waiter.register(fd, mask)
            ready += raw_ready(raw)
        return ready, waiter


def raw_ready(raw: dict[int, int]) -> list[tuple[int, int]]:
    """Which of the raw descriptors ``raw`` (fd -> the events asked for) are ready now, as
    (fd, events) pairs in ZeroMQ's terms; POLLERR is always reported."""
    probe = _select.poll()
    for fd in raw:
        probe.register(fd, _select.POLLIN | _select.POLLPRI | _select.POLLOUT)
    ready = []
    for fd, revents in probe.poll(0):
        events = 0
        if revents & (_select.POLLIN | _select.POLLPRI | _select.POLLHUP):
            events |= POLLIN
        if revents & _select.POLLOUT:
            events |= POLLOUT
        if revents & (_select.POLLERR | _select.POLLNVAL):
            events |= POLLERR
        events &= raw[fd] | POLLERR
        if events:
            ready.append((fd, events))
    return ready


def select(
    rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Like ``select.select`` for safezmq sockets and fds; ``timeout`` in seconds.  As in
    pyzmq, a ready raw descriptor is returned as its fd number."""
    poller = Poller()
    for sock in rlist:
        poller.register(sock, POLLIN)
    for sock in wlist:
        flags = dict(poller.sockets).get(sock, 0)
        poller.register(sock, flags | POLLOUT)
    for sock in xlist:
        flags = dict(poller.sockets).get(sock, 0)
        poller.register(sock, flags | POLLERR)
    ms = None if timeout is None or timeout < 0 else timeout * 1000
    events = dict(poller.poll(ms))

    def ready(items: list[Any], flag: int) -> list[Any]:
        keys = (s if _is_socket(s) else _fileno(s) for s in items)
        return [k for k in dict.fromkeys(keys) if events.get(k, 0) & flag]

    return ready(rlist, POLLIN), ready(wlist, POLLOUT), ready(xlist, POLLERR)


def zmq_poll(sockets: list[tuple[Any, int]], timeout: float | None = -1) -> list[tuple[Any, int]]:
    """pyzmq's low-level poll: ``sockets`` is a list of (socket or fd, events), ``timeout``
    in milliseconds (-1 or None: forever); returns the ready (socket, events) pairs."""
    poller = Poller()
    for sock, flags in sockets:
        previous = dict(poller.sockets).get(sock, 0)
        poller.register(sock, previous | flags)
    return poller.poll(timeout)
