"""Future-returning Context, Socket and Poller for tornado coroutines (pyzmq's
``zmq.eventloop.future``).

tornado 6's ``Future`` *is* ``asyncio.Future`` and its IOLoop runs on asyncio, so these are the
:mod:`safezmq.asyncio` classes with pyzmq's tornado-side extras: the deprecated ``io_loop``
argument, a separate ``Context.instance()``, and sockets that register with the IOLoop they are
used on, so that ``IOLoop.close(all_fds=True)`` closes them as it does pyzmq's.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, ClassVar

from tornado.ioloop import IOLoop

from .. import asyncio as _zasyncio
from .. import context as _context

__all__ = ["CancelledError", "Context", "Poller", "Socket"]

#: What awaiting a cancelled future raises.  pyzmq defines its own exception here because its
#: tornado futures once could not be cancelled; tornado 6's futures are asyncio's, so
#: cancellation is asyncio's.
CancelledError = asyncio.CancelledError


class Poller(_zasyncio.Poller):
    """A Poller whose ``poll()`` returns a future (``zmq.eventloop.future.Poller``)."""


class Socket(_zasyncio.Socket):
    """A socket whose send/recv/poll return futures (``zmq.eventloop.future.Socket``)."""

    _poller_class = Poller

    def _get_loop(self) -> IOLoop:
        """The IOLoop of the running loop.  The socket registers with it (watching its FD, as
        pyzmq's do), so that ``IOLoop.close(all_fds=True)`` closes it."""
        io_loop = IOLoop.current()
        self._loop_for_call()
        if self.__dict__.get("_io_loop") is not io_loop:
            self._unregister()
            io_loop.add_handler(self, self._fd_ready, IOLoop.READ)
            self.__dict__["_io_loop"] = io_loop
        return io_loop

    def _fd_ready(self, fd: Any, events: int) -> None:
        # The FD only says "look at EVENTS": reading them clears it; the waiting futures are
        # served through the mailbox hook, not from here.
        if not self._closed:
            self._events()

    def _unregister(self) -> None:
        io_loop: IOLoop | None = self.__dict__.pop("_io_loop", None)
        if io_loop is not None and not getattr(io_loop, "closing", False):
            try:
                io_loop.remove_handler(self.mailbox.signaler.fd)
            except (OSError, ValueError, RuntimeError):
                pass  # the loop or the descriptor is already gone

    def _close(self, linger: int | None = None) -> None:
        if not self._closed:
            self._unregister()
        super()._close(linger)


class Context(_zasyncio.Context):
    """A context whose sockets return futures (``zmq.eventloop.future.Context``)."""

    _instance: ClassVar[_context.Context | None] = None  # not shared with the other contexts
    _instance_pid: ClassVar[int | None] = None
    io_loop = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.pop("io_loop", None) is not None:
            warnings.warn(
                f"{type(self).__name__}(io_loop) is deprecated and ignored (as in pyzmq 22.2): "
                "the running loop is always used",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(*args, **kwargs)

    def _default_socket_class(self) -> Any:
        return Socket

    def socket(self, socket_type: int, socket_class: Any = None, **kwargs: Any) -> Socket:
        sock: Socket = _context.Context.socket(self, socket_type, socket_class, **kwargs)
        return sock
