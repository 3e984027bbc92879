"""``safezmq.asyncio.Poller``: a poll() that returns a future."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from .. import poll as _poll
from ..constants import Errno
from ..error import ContextTerminated, ZMQError
from ._socket import Socket
from ._waiters import POLLERR, POLLIN, POLLOUT, _wake_watcher


class Poller(_poll.Poller):
    """A Poller whose ``poll()`` returns a future (``zmq.asyncio.Poller``).

    Registered objects may be safezmq sockets (async or not), file descriptors or objects with
    ``fileno()``; as in pyzmq, the result names a raw descriptor by its fd number.
    """

    def poll(self, timeout: float | None = -1) -> asyncio.Future[list[tuple[Any, int]]]:  # type: ignore[override]
        """A future of the ready (socket, events) pairs; ``timeout`` in milliseconds (None or
        -1: no timeout; [] when it expires)."""
        loop = asyncio.get_running_loop()
        try:
            ready = self._ready()
        except Exception as exc:
            future: asyncio.Future[list[tuple[Any, int]]] = loop.create_future()
            future.set_exception(exc)
            return future
        if ready or timeout == 0:
            future = loop.create_future()
            future.set_result(ready)
            return future
        return loop.create_task(self._wait(loop, timeout))

    def _ready(self) -> list[tuple[Any, int]]:
        """What is ready now (without waiting)."""
        ready: list[tuple[Any, int]] = []
        raw: dict[int, int] = {}
        for sock, flags in self.sockets:
            if _poll._is_socket(sock):
                if sock.closed:
                    raise ZMQError(Errno.ENOTSOCK, "cannot poll a closed socket")
                if getattr(sock, "_ctx_terminated", False):
                    raise ContextTerminated()
                events = sock._events() & flags
                if events:
                    ready.append((sock, events))
            else:
                raw[_poll._fileno(sock)] = flags
        if raw:
            ready += _poll.raw_ready(raw)
        return ready

    async def _wait(
        self, loop: asyncio.AbstractEventLoop, timeout: float | None
    ) -> list[tuple[Any, int]]:
        deadline = None if timeout is None or timeout < 0 else loop.time() + timeout / 1000
        while True:
            ready = self._ready()
            if ready:
                return ready
            if deadline is not None and loop.time() >= deadline:
                return []
            watcher: asyncio.Future[Any] = loop.create_future()
            wake = functools.partial(_wake_watcher, watcher)
            readers: list[int] = []
            writers: list[int] = []
            timer: asyncio.TimerHandle | None = None

            try:
                for sock, flags in self.sockets:
                    if isinstance(sock, Socket):
                        sock._loop_for_call()
                        sock._add_poll_waiter(watcher, flags, -1)
                    elif _poll._is_socket(sock):
                        fd = int(sock.FD)  # a sync socket: its mailbox signals the FD
                        loop.add_reader(fd, wake)
                        readers.append(fd)
                    else:
                        fd = _poll._fileno(sock)
                        if flags & (POLLIN | POLLERR):
                            loop.add_reader(fd, wake)
                            readers.append(fd)
                        if flags & POLLOUT:
                            loop.add_writer(fd, wake)
                            writers.append(fd)
                if deadline is not None:
                    timer = loop.call_at(deadline, wake)
                await watcher
            finally:
                if timer is not None:
                    timer.cancel()
                for fd in readers:
                    loop.remove_reader(fd)
                for fd in writers:
                    loop.remove_writer(fd)
                if not watcher.done():
                    watcher.cancel()
