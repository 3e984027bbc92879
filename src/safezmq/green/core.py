"""Green Context and Socket: blocking calls that block only the calling greenlet.

Every blocking call is its non-blocking form, retried: when it would block (EAGAIN), the
greenlet waits in the gevent hub on the socket's ``FD`` (its mailbox's wake-up descriptor, see
safezmq.engine.mailbox) and tries again.  The descriptor only says "something may have
changed", and safezmq keeps it readable until drained, so the watcher drains it on every wake
and the woken greenlet looks at the socket again (processing whatever was posted) before it
waits again: no wake-up is lost, and none keeps the hub spinning.

Several greenlets may use one socket (one receiving while another sends, or a Poller): they
share one watcher per socket.  Because one greenlet's call can make another's possible without
any wake-up from the I/O thread (a REQ's receive allows the next send; processing the mailbox
consumes the wake-up meant for a peer greenlet), every call that may have changed the socket's
state wakes the others, who simply retry.

RCVTIMEO and SNDTIMEO are honoured (Again when they expire), as in safezmq's blocking sockets.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import gevent  # type: ignore[import-untyped]
from gevent.event import Event  # type: ignore[import-untyped]
from gevent.hub import get_hub  # type: ignore[import-untyped]
from gevent.monkey import get_original  # type: ignore[import-untyped]

from .. import context as _context
from .. import message as _message
from .. import socket as _socket
from ..constants import PollEvent, SocketOption
from ..engine.iothread import LoopRunner
from ..error import Again, NotDone
from ..message import _repr_name
from .iothread import HubIOThread
from .poll import Poller

T = TypeVar("T")

DONTWAIT = 1
#: libev's EV_READ: the socket's FD is watched for readability only (as pyzmq's zmq.green).
_READ = 1
_TIMEOS = frozenset({SocketOption.RCVTIMEO, SocketOption.SNDTIMEO})
_TIMEO_WARNING = (
    "safezmq.green honours RCVTIMEO and SNDTIMEO (a blocked call raises Again when they "
    "expire), but pyzmq's zmq.green ignores them: code that must also run on pyzmq should "
    "bound its waits with gevent.Timeout instead"
)
#: Native locks, whether or not ``threading`` is monkey-patched (see _native_locks).
_NativeRLock: Callable[[], Any] = get_original("_thread", "RLock")
_native_lock: Callable[[], Any] = get_original("_thread", "allocate_lock")
_NativeLockType = type(_native_lock())
#: How often Context.term() looks again while it waits for sockets and their engines to close.
TERM_POLL_INTERVAL = 0.01
#: MessageTracker.wait() looks again after this, doubling up to TRACKER_POLL_MAX.
TRACKER_POLL_MIN = 0.0005
TRACKER_POLL_MAX = 0.01


def _native_locks(obj: Any, names: Sequence[str], factory: Callable[[], Any]) -> None:
    """Give ``obj`` native locks in place of the ones it made with ``threading``.

    These locks guard a few lines shared with the context's I/O thread (a mailbox's posts,
    monitor events, the engines' bookkeeping).  Under monkey-patching ``threading`` makes
    gevent locks, and a greenlet waiting for one that a native thread holds is not reliably
    woken when it is released: a socket's close() could hang forever.  A native lock held for
    a few lines is what the unpatched library uses anyway.  Called before any other thread
    can see ``obj``."""
    for name in names:
        getattr(obj, name)  # AttributeError if safezmq renamed it: the tests then say so
        setattr(obj, name, factory())


def _green_name(obj: object, text: str) -> str:
    """A repr naming the green class (``safezmq.green.Socket``, as pyzmq says
    ``zmq.green.Socket``) instead of the name safezmq's own classes get."""
    plain = "<" + _repr_name(obj)
    if text.startswith(plain):
        return f"<safezmq.green.{type(obj).__name__}{text[len(plain) :]}"
    return text


class MessageTracker(_message.MessageTracker):
    """A MessageTracker whose ``wait()`` blocks only the calling greenlet (a green socket's
    sends return these).

    The I/O thread finishes a tracker by setting a threading Event; a greenlet waiting on
    that Event would stop the whole thread (or, monkey-patched, wait on a gevent primitive that
    another native thread signals, which can miss the wake-up).  So this one sleeps in the hub
    and looks again, soon at first and then every TRACKER_POLL_MAX seconds."""

    def wait(self, timeout: float | int | None = -1) -> None:
        """Wait until done, at most ``timeout`` seconds (-1 or None: no limit); NotDone if the
        time runs out first."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        delay = TRACKER_POLL_MIN
        while not self.done:
            pause = delay
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NotDone()
                pause = min(delay, remaining)
            gevent.sleep(pause)
            delay = min(delay * 2, TRACKER_POLL_MAX)


def _green_tracker(
    tracker: _message.MessageTracker | None,
) -> _message.MessageTracker | None:
    """What a green send returns for ``tracker``: one whose wait() blocks only the greenlet.
    A tracker already done is returned as it is (there is nothing to wait for, and pyzmq code
    may check ``tracker is zmq._FINISHED_TRACKER``)."""
    if tracker is None or isinstance(tracker, MessageTracker) or tracker.done:
        return tracker
    return MessageTracker(tracker)


class Socket(_socket.Socket):
    """A safezmq socket whose blocking calls block only the calling greenlet
    (``zmq.green.Socket``)."""

    #: What waits for this socket in poll() and in safezmq's proxies (pyzmq's name).
    _poller_class: type[Poller] = Poller

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self, "_shadow_obj", None) is None:  # a new socket, not a shadow
            _native_locks(self.mailbox, ["_lock"], _NativeRLock)
            _native_locks(self, ["_monitor_lock"], _NativeRLock)
        # Greenlets waiting on the socket and their watcher of its FD: one per socket (a
        # shadow shares its socket's state).
        self.__dict__.setdefault("_green_waiters", [])
        self.__dict__.setdefault("_green_watcher", None)

    def __repr__(self) -> str:
        return _green_name(self, super().__repr__())

    # -- waiting ------------------------------------------------------------------------------

    def _green_watch(self, event: Any) -> None:
        """Set ``event`` (a gevent Event) at the next wake-up of this socket: its FD fired, or
        another greenlet's call may have changed what the socket can do."""
        waiters: list[Any] = self._green_waiters
        waiters.append(event)
        if self._green_watcher is None:
            watcher = get_hub().loop.io(self.mailbox.signaler.fd, _READ)
            watcher.start(self._green_fd_ready)
            object.__setattr__(self, "_green_watcher", watcher)

    def _green_unwatch(self, event: Any) -> None:
        waiters: list[Any] = self._green_waiters
        try:
            waiters.remove(event)
        except ValueError:
            pass
        if not waiters:
            self._green_stop_watcher()

    def _green_stop_watcher(self) -> None:
        watcher = self._green_watcher
        if watcher is not None:
            object.__setattr__(self, "_green_watcher", None)
            watcher.close()

    def _green_fd_ready(self) -> None:
        """The FD fired (in the hub).  Drain it: the descriptor stays readable until drained,
        and the greenlets woken here process what was posted when they look again.  (Draining
        before they look loses nothing: a post after the drain signals the FD again.)"""
        if not self._closed:
            self.mailbox.signaler.drain()
        self._green_wake()

    def _green_wake(self) -> None:
        for event in list(self._green_waiters):
            event.set()

    def _green_changed(self) -> None:
        """This greenlet's call may have made another's possible: let them look again."""
        if self._green_waiters:
            self._green_wake()

    def _green_wait(self, deadline: float | None) -> bool:
        """Wait (this greenlet only) for the next wake-up or ``deadline``; False if the
        deadline had already passed."""
        timeout = None
        if deadline is not None:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return False
        event = Event()
        self._green_watch(event)
        try:
            event.wait(timeout)
        finally:
            self._green_unwatch(event)
        return True

    def _blocking(
        self, attempt: Callable[[int], T], flags: int, timeo: SocketOption, timed_out: str
    ) -> T:
        """``attempt(flags | DONTWAIT)`` until it does not raise Again, waiting in between;
        Again(``timed_out``) once the ``timeo`` option's time has passed."""
        try:
            if flags & DONTWAIT:
                return attempt(flags)
            flags |= DONTWAIT
            deadline: float | None = None
            waited = False
            while True:
                try:
                    return attempt(flags)
                except Again:
                    pass
                if not waited:
                    waited = True
                    timeout = self.options[timeo]
                    if timeout >= 0:
                        deadline = time.monotonic() + timeout / 1000
                if not self._green_wait(deadline):
                    raise Again(msg=timed_out)
        finally:
            self._green_changed()

    # The socket core processes the mailbox in these: what it ran (a peer attached, a pipe
    # became readable or writable, the context terminated) may concern other greenlets.

    def _process_commands(self) -> None:
        pending = bool(self.mailbox._items)
        try:
            super()._process_commands()
        finally:
            if pending:
                self._green_changed()

    def _events(self) -> int:
        pending = bool(self.mailbox._items)
        events = super()._events()
        if pending:
            self._green_changed()
        return events

    def _close(self, linger: int | None = None) -> None:
        # The watcher goes before the descriptor does; the waiters then find the socket closed.
        self._green_stop_watcher()
        try:
            super()._close(linger)
        finally:
            self._green_wake()

    # -- sending and receiving ----------------------------------------------------------------

    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> _message.MessageTracker | None:
        """Send one frame, blocking only this greenlet (see safezmq.Socket.send)."""
        send = super().send
        tracker = self._blocking(
            lambda f: send(data, f, copy, track, routing_id, group),
            flags,
            SocketOption.SNDTIMEO,
            "send timed out (SNDTIMEO); no peer could take the message",
        )
        return _green_tracker(tracker)

    def send_multipart(
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False
    ) -> _message.MessageTracker | None:
        """Send a whole message, blocking only this greenlet."""
        send = super().send_multipart
        tracker = self._blocking(
            lambda f: send(msg_parts, f, copy, track),
            flags,
            SocketOption.SNDTIMEO,
            "send timed out (SNDTIMEO); no peer could take the message",
        )
        return _green_tracker(tracker)

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """Receive one frame, blocking only this greenlet (see safezmq.Socket.recv)."""
        recv = super().recv
        return self._blocking(
            lambda f: recv(f, copy, track),
            flags,
            SocketOption.RCVTIMEO,
            "receive timed out (RCVTIMEO)",
        )

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[Any]:
        """Receive a whole message, blocking only this greenlet."""
        recv = super().recv_multipart
        return self._blocking(
            lambda f: recv(f, copy, track),
            flags,
            SocketOption.RCVTIMEO,
            "receive timed out (RCVTIMEO)",
        )

    # The other families (send_string/json/pyobj/serialized, recv_string/json/pyobj/
    # serialized/into) call the four methods above.

    def poll(self, timeout: int | None = None, flags: int = PollEvent.POLLIN) -> int:
        """Wait (this greenlet only) until the socket is ready for ``flags``; the ready events,
        0 on timeout.  ``timeout`` in milliseconds (None or -1: forever)."""
        self._check_open()
        poller = self._poller_class()
        poller.register(self, flags)
        return int(dict(poller.poll(timeout)).get(self, 0))

    # -- options ------------------------------------------------------------------------------

    def setsockopt(self, option: int, value: Any) -> None:
        if option in _TIMEOS:
            warnings.warn(_TIMEO_WARNING, UserWarning, stacklevel=2)
        super().setsockopt(option, value)

    def getsockopt(self, option: int) -> Any:
        if option in _TIMEOS:
            warnings.warn(_TIMEO_WARNING, UserWarning, stacklevel=2)
        return super().getsockopt(option)

    set = setsockopt
    get = getsockopt


class _HubCondition(threading.Condition):
    """The green context's ``_changed`` condition.  Context.term() waits on it until every
    socket is closed and its engine done; waiting on a threading primitive would stop every
    greenlet, including the ones that must close those sockets, so this wait releases the lock
    and sleeps in the hub instead, and the caller looks again (it loops until done)."""

    def wait(self, timeout: float | None = None) -> bool:
        saved = self._release_save()  # type: ignore[attr-defined]
        try:
            gevent.sleep(
                TERM_POLL_INTERVAL if timeout is None else min(timeout, TERM_POLL_INTERVAL)
            )
        finally:
            self._acquire_restore(saved)  # type: ignore[attr-defined]
        return True


class Context(_context.Context):
    """A safezmq context making green sockets (``zmq.green.Context``).  ``term()`` and
    ``destroy()`` block only the calling greenlet, and I/O runs in a native thread even when
    gevent's monkey-patching is active."""

    # Its own process-wide instance, not safezmq.Context's (as pyzmq's zmq.green).
    _instance = None
    _instance_pid = None
    _socket_class = Socket

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self, "_shadow_obj", None) is None:
            _native_locks(self, ["_lock", "_runner_lock"], _NativeRLock)
            _native_locks(self._inproc, ["_lock"], _NativeRLock)
            self._changed = _HubCondition(self._lock)

    def _zap_client(self) -> Any:
        client = super()._zap_client()
        if not isinstance(client._admitted_lock, _NativeLockType):
            # Just made, before any session used it: its register of admitted sessions is
            # shared by the I/O thread and authenticator threads.
            _native_locks(client, ["_admitted_lock"], _native_lock)
        return client

    def _default_socket_class(self) -> Callable[..., Any]:
        return Socket

    def _make_runner(self) -> LoopRunner:
        return HubIOThread()

    def __repr__(self) -> str:
        return _green_name(self, super().__repr__())


__all__ = ["Context", "MessageTracker", "Socket"]
