"""A file descriptor that one thread makes readable to wake another.

This is what ``socket.FD`` returns: it becomes readable when something may have changed for the
socket, and the owner drains it before looking.  Linux's eventfd costs one descriptor and one
syscall per signal; elsewhere a socketpair does the same job.
"""

from __future__ import annotations

import os
import select
import socket


class Signaler:
    """A level-triggered wake-up fd: ``signal()`` makes it readable, ``drain()`` clears it."""

    __slots__ = ("_read_fd", "_sockets", "_write_fd", "fd")

    def __init__(self) -> None:
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        if hasattr(os, "eventfd"):
            fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._read_fd = self._write_fd = fd
        else:  # pragma: no cover - non-Linux platforms
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            self._sockets = (a, b)
            self._read_fd, self._write_fd = a.fileno(), b.fileno()
        self.fd = self._read_fd

    def signal(self) -> None:
        try:
            if self._sockets is None:
                os.eventfd_write(self._write_fd, 1)
            else:  # pragma: no cover
                os.write(self._write_fd, b"\x01")
        except (BlockingIOError, OSError):
            pass  # already readable (counter saturated / buffer full), or closed

    def drain(self) -> None:
        try:
            if self._sockets is None:
                os.eventfd_read(self._read_fd)
            else:  # pragma: no cover
                while os.read(self._read_fd, 4096):
                    pass
        except (BlockingIOError, OSError):
            pass

    def wait(self, timeout: float | None) -> bool:
        """Block until readable or ``timeout`` seconds (None: forever).  True if readable."""
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        ms = -1 if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return bool(poller.poll(ms))

    def close(self) -> None:
        if self._sockets is None:
            if self._read_fd >= 0:
                os.close(self._read_fd)
        else:  # pragma: no cover
            for s in self._sockets:
                s.close()
        self._read_fd = self._write_fd = -1
