"""Device, ThreadDevice, ProcessDevice: a proxy run in the foreground or the background.

The device records, for each of its sockets, the options to set and the endpoints to bind and
connect; the sockets are only created by ``run()`` in the thread or process that runs the
device, because a socket must be used by one thread only.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

from ..constants import DeviceType, Errno, SocketOption, SocketType
from ..context import Context
from ..error import ZMQBindError, ZMQError
from ..proxy import proxy
from ..socket import Socket

#: Tries at reserving a port not already reserved by this device (as pyzmq).
_RESERVE_TRIES = 5
#: Seconds between looks at ``done`` while a foreground device is joined.
_JOIN_POLL = 0.001


class SocketPlan:
    """What to do to one of a device's sockets once it exists: options, binds, connects."""

    __slots__ = ("binds", "connects", "sockopts")

    def __init__(self) -> None:
        self.binds: list[str] = []
        self.connects: list[str] = []
        self.sockopts: list[tuple[int, Any]] = []

    def create(self, ctx: Context, socket_type: int) -> Socket:
        """Create the socket, then set options (first: ROUTING_ID must precede connects),
        bind, connect.  A socket that fails half-way is closed, not leaked."""
        sock: Socket = ctx.socket(socket_type)
        try:
            self.apply(sock)
        except BaseException:
            sock.close(linger=0)
            raise
        return sock

    def apply(self, sock: Socket) -> None:
        for opt, value in self.sockopts:
            sock.setsockopt(opt, value)
        for addr in self.binds:
            sock.bind(addr)
        for addr in self.connects:
            sock.connect(addr)


class Device:
    """A proxy between an "in" and an "out" socket, given socket types, not sockets::

        dev = Device(zmq.QUEUE, zmq.ROUTER, zmq.DEALER)
        dev.bind_in("tcp://127.0.0.1:5555")
        dev.bind_out("tcp://127.0.0.1:5556")
        dev.start()  # runs here, until the context is terminated

    An ``out_type`` below 0 makes the in socket serve as both.  ``context_factory`` (a class
    attribute, overridable per instance) gives the context the sockets are created in.
    """

    context_factory: Callable[[], Context] = Context.instance

    def __init__(
        self,
        device_type: int = DeviceType.QUEUE,
        in_type: int | None = None,
        out_type: int | None = None,
    ) -> None:
        if in_type is None:
            raise TypeError("in_type must be specified")
        if out_type is None:
            raise TypeError("out_type must be specified")
        self.device_type = device_type
        self.in_type = in_type
        self.out_type = out_type
        self.daemon = True
        self.done = False
        self._plans: dict[str, SocketPlan] = {"in": SocketPlan(), "out": SocketPlan()}
        self._random_addrs: list[str] = []
        self._sockets: list[Socket] = []
        self._context: Context | None = None

    # -- configuration, applied in run() ------------------------------------------------------

    def bind_in(self, addr: str) -> None:
        """Bind the in socket to ``addr`` once it exists."""
        self._plans["in"].binds.append(addr)

    def connect_in(self, addr: str) -> None:
        """Connect the in socket to ``addr`` once it exists."""
        self._plans["in"].connects.append(addr)

    def setsockopt_in(self, opt: int, value: Any) -> None:
        """Set an option on the in socket once it exists (before any bind or connect)."""
        self._plans["in"].sockopts.append((opt, value))

    def bind_in_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a free port on ``addr`` (``tcp://host``) for the in socket; return it."""
        return self._bind_random("in", addr, *args, **kwargs)

    def bind_out(self, addr: str) -> None:
        """Bind the out socket to ``addr`` once it exists."""
        self._plans["out"].binds.append(addr)

    def connect_out(self, addr: str) -> None:
        """Connect the out socket to ``addr`` once it exists."""
        self._plans["out"].connects.append(addr)

    def setsockopt_out(self, opt: int, value: Any) -> None:
        """Set an option on the out socket once it exists (before any bind or connect)."""
        self._plans["out"].sockopts.append((opt, value))

    def bind_out_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a free port on ``addr`` (``tcp://host``) for the out socket; return it."""
        return self._bind_random("out", addr, *args, **kwargs)

    def _bind_random(self, role: str, addr: str, *args: Any, **kwargs: Any) -> int:
        port = self._reserve_random_port(addr, *args, **kwargs)
        self._plans[role].binds.append(f"{addr}:{port}")
        return port

    def _reserve_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """A port that was free a moment ago.  The device binds it only when it runs, so
        (as in pyzmq) another program could take it first; we at least never hand out the
        same port twice."""
        with Context() as ctx:
            binder: Socket = ctx.socket(SocketType.PUSH)
            binder.setsockopt(SocketOption.LINGER, 0)
            for _ in range(_RESERVE_TRIES):
                port = binder.bind_to_random_port(addr, *args, **kwargs)
                candidate = f"{addr}:{port}"
                if candidate not in self._random_addrs:
                    self._random_addrs.append(candidate)
                    return port
            raise ZMQBindError("Could not reserve random port.")

    # -- running ------------------------------------------------------------------------------

    def _new_socket(self, role: str, socket_type: int) -> Socket:
        assert self._context is not None
        sock = self._plans[role].create(self._context, socket_type)
        self._sockets.append(sock)
        return sock

    def _setup_sockets(self) -> tuple[Socket, Socket]:
        self._context = self.context_factory()
        ins = self._new_socket("in", self.in_type)
        if self.out_type < 0:
            # The in socket serves both ways; its "out" configuration applies to it too.
            self._plans["out"].apply(ins)
            return ins, ins
        return ins, self._new_socket("out", self.out_type)

    def run_device(self) -> None:
        """Create the sockets and run the proxy (call start(), not this)."""
        ins, outs = self._setup_sockets()
        proxy(ins, outs)

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            if not sock.closed:
                sock.close()

    def run(self) -> None:
        """run_device(), ending quietly when the context is terminated (the normal way to stop
        a device) and always closing the sockets, so the context's term() can finish."""
        try:
            self.run_device()
        except ZMQError as exc:
            if exc.errno not in (Errno.ETERM, Errno.ENOTSOCK):
                raise
        finally:
            try:
                self._close_sockets()
            finally:
                # Only now: join() of a foreground device must mean its sockets are closed.
                self.done = True

    def start(self) -> None:
        """Run the device in this thread (the background devices override this)."""
        self.run()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the device has finished (at most ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done and (deadline is None or time.monotonic() < deadline):
            time.sleep(_JOIN_POLL)


Launcher = threading.Thread | multiprocessing.Process


class BackgroundDevice(Device):
    """A device run by a launcher (a thread or a process) started by ``start()``.
    ``_launch_class`` makes the launcher, as in pyzmq (e.g. a spawn-context Process)."""

    _launch_class: Callable[..., Launcher]
    launcher: Launcher | None = None

    def _launch_target(self) -> Callable[[], None]:
        return self.run

    def start(self) -> None:
        launcher = self._launch_class(
            target=self._launch_target(), name=f"safezmq-{type(self).__name__}"
        )
        launcher.daemon = self.daemon
        self.launcher = launcher
        launcher.start()

    def join(self, timeout: float | None = None) -> None:
        if self.launcher is None:
            raise RuntimeError("the device was never started")
        self.launcher.join(timeout=timeout)


class ThreadDevice(BackgroundDevice):
    """A device run in a background thread (see Device).  Its sockets live in that thread;
    terminating its context ends it cleanly."""

    _launch_class = threading.Thread


class ProcessDevice(BackgroundDevice):
    """A device run in a child process (see Device), in a context of its own: the parent's
    contexts (and their I/O threads) are no use in the child."""

    _launch_class = multiprocessing.Process
    context_factory: Callable[[], Context] = Context

    def _launch_target(self) -> Callable[[], None]:
        return self._run_in_child

    def _run_in_child(self) -> None:
        """run(), then terminate the child's context: the process is about to exit, and
        without term() whatever its sockets still queue (the reply to TERMINATE, say) would
        die with the I/O thread instead of being sent within LINGER."""
        try:
            self.run()
        finally:
            ctx = self._context
            if ctx is not None and not ctx.closed:
                ctx.term()


__all__ = ["BackgroundDevice", "Device", "ProcessDevice", "ThreadDevice"]
