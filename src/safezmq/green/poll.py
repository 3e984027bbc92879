"""Green Poller and select: waiting blocks only the calling greenlet (``zmq.green.Poller``).

Readiness is decided as safezmq's Poller decides it; only the waiting differs: in the gevent
hub, on each socket's FD (a green socket's shared watcher, which other greenlets' calls on that
socket also wake; a plain safezmq socket's FD through a watcher of our own) and on the raw
descriptors, with the poll's timeout as a hub timer.
"""

from __future__ import annotations

import time
from typing import Any

from gevent.event import Event  # type: ignore[import-untyped]
from gevent.hub import get_hub  # type: ignore[import-untyped]

from .. import poll as _poll
from ..poll import POLLERR, POLLIN, POLLOUT

#: libev's EV_READ and EV_WRITE.
_READ = 1
_WRITE = 2


def _drain_and_set(sock: Any, event: Any) -> None:
    """A plain safezmq socket's FD fired: drain it (it stays readable until drained; the
    poller then processes what was posted when it looks again) and wake the poller."""
    if not sock.closed:
        sock.mailbox.signaler.drain()
    event.set()


class Poller(_poll.Poller):
    """safezmq's Poller, with a ``poll()`` that blocks only the calling greenlet."""

    def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Ready (socket, events) pairs; ``timeout`` in milliseconds (None or -1: forever,
        0: look without waiting).  A raw descriptor is reported by its fd number."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000
        while True:
            ready, _ = self._check()
            if ready:
                return ready
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
            self._wait(remaining)

    def _wait(self, timeout: float | None) -> None:
        """Wait until something registered may be ready, or ``timeout`` seconds."""
        event = Event()
        loop = get_hub().loop
        green: list[Any] = []
        watchers: list[Any] = []
        try:
            for sock, flags in self.sockets:
                if hasattr(sock, "_green_watch"):
                    sock._green_watch(event)
                    green.append(sock)
                elif _poll._is_socket(sock):
                    watcher = loop.io(sock.mailbox.signaler.fd, _READ)
                    watchers.append(watcher)
                    watcher.start(_drain_and_set, sock, event)
                else:
                    mask = (_READ if flags & (POLLIN | POLLERR) else 0) | (
                        _WRITE if flags & POLLOUT else 0
                    )
                    if mask:
                        watcher = loop.io(_poll._fileno(sock), mask)
                        watchers.append(watcher)
                        watcher.start(event.set)
            event.wait(timeout)
        finally:
            for watcher in watchers:
                watcher.close()
            for sock in green:
                sock._green_unwatch(event)


def select(
    rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """safezmq.select, blocking only the calling greenlet; ``timeout`` in seconds."""
    poller = Poller()
    for items, flag in ((rlist, POLLIN), (wlist, POLLOUT), (xlist, POLLERR)):
        for sock in items:
            poller.register(sock, dict(poller.sockets).get(sock, 0) | flag)
    ms = None if timeout is None or timeout < 0 else timeout * 1000
    events = dict(poller.poll(ms))

    def ready(items: list[Any], flag: int) -> list[Any]:
        keys = (s if _poll._is_socket(s) else _poll._fileno(s) for s in items)
        return [k for k in dict.fromkeys(keys) if events.get(k, 0) & flag]

    return ready(rlist, POLLIN), ready(wlist, POLLOUT), ready(xlist, POLLERR)


def zmq_poll(sockets: list[tuple[Any, int]], timeout: float | None = -1) -> list[tuple[Any, int]]:
    """pyzmq's low-level poll (list of (socket or fd, events), ``timeout`` in ms), blocking
    only the calling greenlet."""
    poller = Poller()
    for sock, flags in sockets:
        poller.register(sock, dict(poller.sockets).get(sock, 0) | flags)
    return poller.poll(timeout)


__all__ = ["Poller", "select", "zmq_poll"]
