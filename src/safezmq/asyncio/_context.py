"""``safezmq.asyncio.Context``: a context whose I/O runs on the running loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from .. import context as _context
from ..engine.iothread import IOThread, LoopRunner
from ._socket import Socket
from ._waiters import _running_loop


class Context(_context.Context):
    """A context whose sockets are asyncio sockets (``zmq.asyncio.Context``).

    Its I/O runs on the running event loop (no thread) when it starts inside one, or on an I/O
    thread when its first tcp/ipc socket binds or connects before any loop runs.
    """

    _instance: ClassVar[_context.Context | None] = None  # not shared with safezmq.Context
    _instance_pid: ClassVar[int | None] = None

    def _default_socket_class(self) -> Callable[..., Any]:
        return Socket

    def socket(
        self, socket_type: int, socket_class: Callable[..., Any] | None = None, **kwargs: Any
    ) -> Socket:
        sock: Socket = super().socket(socket_type, socket_class, **kwargs)
        return sock

    def _make_runner(self) -> LoopRunner:
        loop = _running_loop()
        if loop is None:
            return IOThread()
        return LoopRunner(loop)

    def _runner(self) -> LoopRunner:
        runner = self._runner_instance
        if runner is not None and not isinstance(runner, IOThread) and runner.loop.is_closed():
            # The loop this context ran on is gone (and with it its connections): new sockets
            # move to the loop now running (or to an I/O thread).
            with self._lock:
                if self._runner_instance is runner:
                    self._runner_instance = None
        return super()._runner()

    def _check_loop(self, running: asyncio.AbstractEventLoop | None) -> None:
        """A socket is about to bind/connect from ``running`` (None: from no loop)."""
        runner = self._runner_instance
        if (
            running is not None
            and runner is not None
            and not isinstance(runner, IOThread)
            and runner.loop is not running
            and not runner.loop.is_closed()
            and not runner.loop.is_running()
        ):
            # A running one (in another thread) serves this socket as an I/O thread would, so
            # a Context can be shared by threads with loops of their own, as pyzmq's can.
            raise RuntimeError(
                "this safezmq.asyncio.Context runs its I/O on another event loop that is open "
                "but not running; use one Context per event loop, or keep that loop running"
            )

    def _blocks_own_loop(self) -> bool:
        """Whether waiting here would stop the loop that runs this context's I/O."""
        runner = self._runner_instance
        if runner is None or isinstance(runner, IOThread):
            return False
        loop = runner.loop
        return loop.is_closed() or not loop.is_running() or _running_loop() is loop

    def term(self) -> None:
        """Terminate: waiting calls fail with ContextTerminated; returns once every socket is
        closed and, as in pyzmq, their queued messages are sent (or LINGER expired).

        Called on the event loop that runs this context's I/O, it cannot wait for the sending
        (that needs the loop to run): it returns once the sockets are closed and the queued
        messages go out while the loop keeps running.  ``await asyncio.to_thread(ctx.term)``
        waits for them, LINGER and all.
        """
        if not self._blocks_own_loop():
            super().term()
            return
        self._terminate_sockets()
        with self._changed:
            self._open_engines.clear()
        self._runner_instance = None

    def __repr__(self) -> str:
        state = "terminated" if self._closed else f"{len(self._sockets)} sockets"
        return f"<safezmq.asyncio.Context({state})>"
