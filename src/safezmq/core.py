"""The socket core: pattern, pipes, mailbox and blocking rules, in the application's thread.

Everything the I/O thread tells a socket arrives through its mailbox and runs here, at the next
API call, so pattern state is only ever touched by the thread using the socket (as in libzmq; a
socket is not thread-safe, a context is).  ``safezmq.Socket`` adds pyzmq's API on top.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from .constants import Errno, Event, PollEvent, SocketOption, SocketType
from .engine.mailbox import Mailbox
from .engine.pipe import Message, Pipe, release
from .engine.socket_engine import SocketEngine
from .error import Again, ContextTerminated, ZMQError
from .options import Options
from .policy import check_exposure, check_multicast
from .sockets.pair import Pair
from .sockets.pattern import Pattern
from .sockets.pipeline import Pull, Push
from .sockets.pubsub import Pub, Sub, XPub, XSub
from .sockets.reqrep import Dealer, Rep, Req, Router
from .sockets.stream import StreamPattern
from .transport import ipc, tcp
from .transport.endpoint import MULTICAST, Endpoint, parse_endpoint

if TYPE_CHECKING:
    from .context import Context
    from .monitor import MonitorEmitter

PATTERNS: dict[SocketType, type[Pattern]] = {
    SocketType.PAIR: Pair,
    SocketType.PUSH: Push,
    SocketType.PULL: Pull,
    SocketType.REQ: Req,
    SocketType.REP: Rep,
    SocketType.DEALER: Dealer,
    SocketType.ROUTER: Router,
    SocketType.PUB: Pub,
    SocketType.SUB: Sub,
    SocketType.XPUB: XPub,
    SocketType.XSUB: XSub,
    SocketType.STREAM: StreamPattern,
}

DONTWAIT = 1


#: How long a bind waits for the I/O thread to close the listeners of closed sockets.
CLOSE_CATCH_UP_S = 2.0


def _nothing() -> None:
    return None


def kind_is_zmtp(kind: SocketType) -> bool:
    """Every socket type but STREAM speaks ZMTP (STREAM talks raw bytes)."""
    return kind != SocketType.STREAM


class SocketCore:
    """See the module docstring."""

    _closed: bool
    context: Context
    socket_type: SocketType
    socket_type_name: bytes
    options: Options
    mailbox: Mailbox
    pattern: Pattern

    def __init__(self, context: Context, socket_type: int) -> None:
        try:
            kind = SocketType(socket_type)
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"unknown socket type {socket_type!r}") from None
        pattern_class = PATTERNS.get(kind)
        if pattern_class is None:
            raise ZMQError(
                Errno.EINVAL, f"socket type {kind.name} is not implemented by safezmq yet"
            )
        self._closed = True  # until fully built, so __del__ and close() do nothing
        self.context = context
        self.socket_type = kind
        self.socket_type_name = kind.name.encode()
        self.options = Options(kind)
        self.mailbox = Mailbox()
        self.pattern: Pattern = pattern_class(self.options)
        self.pattern.host = self
        self._pipes: set[Pipe] = set()
        self._engine: SocketEngine | None = None
        self._bound: dict[str, str] = {}  # endpoint as returned -> kind ("tcp"/"ipc"/"inproc")
        self._connected: dict[str, Endpoint] = {}
        self._monitor: MonitorEmitter | None = None
        self._monitor_lock = threading.RLock()  # reentrant: see Registry._lock in inproc.py
        self._ctx_terminated = False
        self._last_endpoint = b""
        #: CONFLATE, cached: it is consulted on every receive.
        self._conflate = False
        #: The frames of a message the application has begun to read frame by frame (the API
        #: layers' recv hands them out from here): they are ready, whatever the pattern says.
        self._rx: Message | None = None
        self._closed = False

    # -- mailbox commands (run in this thread) ------------------------------------------------

    def _attach_pipe(self, pipe: Pipe) -> None:
        if self._closed:
            self._release_pipe(pipe)
            return
        if not self.pattern.attach(pipe):
            self._release_pipe(pipe)  # refused (e.g. a second PAIR peer)
            return
        self._pipes.add(pipe)

    def _attach_multicast_pipe(self, pipe: Pipe) -> None:
        """A pgm/epgm sending pipe.  PGM has no upstream to carry subscriptions, so the
        publisher sends everything to it and subscribers filter (libzmq's subscribe_to_all)."""
        self._attach_pipe(pipe)
        trie = getattr(self.pattern, "trie", None)
        if pipe in self._pipes and trie is not None:
            trie.add(b"", pipe)

    def _pipe_ready(self, pipe: Pipe) -> None:
        if pipe in self._pipes and not self.pattern.identified(pipe):
            self._terminate_pipe(pipe)  # e.g. a duplicate routing id at a ROUTER

    def _kick_pipe(self, pipe: Pipe, limit: int) -> None:
        """Drop a peer that broke a limit: forget its pipe, close its connection, and say so."""
        self._monitor_event(Event.LIMIT_EXCEEDED, limit, pipe.endpoint)
        self._terminate_pipe(pipe)
        engine = self._engine
        if engine is not None:
            self.context._runner().post(engine.kick, pipe)

    def _read_activated(self, pipe: Pipe) -> None:
        if pipe in self._pipes:
            self.pattern.read_activated(pipe)

    def _write_activated(self, pipe: Pipe) -> None:
        if pipe in self._pipes:
            self.pattern.write_activated(pipe)

    def _pipe_terminated(self, pipe: Pipe) -> None:
        if pipe in self._pipes:
            self._pipes.discard(pipe)
            self.pattern.terminated(pipe)

    def _context_terminated(self, _: object = None) -> None:
        self._ctx_terminated = True

    def _engine_error(self, exc: BaseException) -> None:
        """A configuration problem found by the I/O side (reported through the monitor)."""

    def _process_commands(self) -> None:
        mailbox = self.mailbox
        if mailbox._signaled or mailbox._items:
            mailbox.process()
        if self._ctx_terminated:
            raise ContextTerminated()

    # -- monitor ------------------------------------------------------------------------------

    def _monitor_event(self, event: int, value: int, endpoint: str) -> None:
        """Emit a monitor event (from any thread)."""
        monitor = self._monitor
        if monitor is not None:
            with self._monitor_lock:
                monitor.emit(event, value, endpoint)

    # -- messages -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK, "the socket is closed")

    def _send_message(self, msg: Message, flags: int = 0) -> None:
        if self._closed:
            self._check_open()
        mailbox = self.mailbox
        if mailbox._signaled or mailbox._items or self._ctx_terminated:
            self._process_commands()
        pattern = self.pattern
        if pattern.send(msg):
            return
        if flags & DONTWAIT:
            raise Again()
        timeout = self.options[SocketOption.SNDTIMEO]
        deadline = None if timeout < 0 else time.monotonic() + timeout / 1000
        while True:
            if not self._wait(deadline):
                raise Again(msg="send timed out (SNDTIMEO); no peer could take the message")
            self._process_commands()
            if pattern.send(msg):
                return

    def _recv_nowait(self) -> tuple[Message, Pipe | None] | None:
        """The next message now, or None (``_recv_message(DONTWAIT)`` without an exception:
        the asyncio sockets ask this on every receive)."""
        if self._closed:
            self._check_open()
        mailbox = self.mailbox
        if mailbox._signaled or mailbox._items or self._ctx_terminated:
            self._process_commands()
        got = self.pattern.recv()
        if got is None or (type(got[0]) is list and not self._conflate):
            return got
        return self._received(got)

    def _recv_message(self, flags: int = 0) -> tuple[Message, Pipe | None]:
        got = self._recv_nowait()
        if got is not None:
            return got
        if flags & DONTWAIT:
            raise Again()
        timeout = self.options[SocketOption.RCVTIMEO]
        deadline = None if timeout < 0 else time.monotonic() + timeout / 1000
        while True:
            if not self._wait(deadline):
                raise Again(msg="receive timed out (RCVTIMEO)")
            self._process_commands()  # ETERM even if the socket was closed meanwhile
            got = self.pattern.recv()
            if got is not None:
                if type(got[0]) is list and not self._conflate:
                    return got
                return self._received(got)

    def _received(self, got: tuple[Message, Pipe | None]) -> tuple[Message, Pipe | None]:
        """Finish a receipt: CONFLATE keeps only the newest message ready, and a zero-copy
        message from an inproc peer is released to its tracker."""
        if self._conflate:
            while (newer := self.pattern.recv()) is not None:
                release(got[0])
                got = newer
        release(got[0])
        return got

    def _wait(self, deadline: float | None) -> bool:
        """Block until the mailbox may have news.  False once ``deadline`` has passed."""
        if deadline is None:
            self.mailbox.signaler.wait(None)
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.mailbox.signaler.wait(remaining)
        return True

    def _events(self) -> int:
        """POLLIN/POLLOUT readiness now (processing pending commands first)."""
        if self._closed:
            return 0
        self.mailbox.process()
        events = 0
        pattern = self.pattern
        # The rest of a message is always readable (libzmq: a message arrives whole, and its
        # remaining frames keep POLLIN set until the last is received).
        if self._rx is not None or (pattern.can_recv and pattern.has_in()):
            events |= PollEvent.POLLIN
        if pattern.can_send and pattern.has_out():
            events |= PollEvent.POLLOUT
        return events

    # -- endpoints ----------------------------------------------------------------------------

    def _engine_for_io(self) -> SocketEngine:
        if self._engine is None:
            # Made in this thread: nothing in a new engine touches the loop (its timer starts
            # there later), so a first connect() or bind() needs no round trip to the I/O
            # thread just to make it, and connect() stays asynchronous, as in libzmq.
            context = self.context
            self._engine = SocketEngine(
                self, context._runner(), context._zap_client(), context.policy
            )
        return self._engine

    def _bind(self, addr: str) -> str:
        self._check_open()
        endpoint = parse_endpoint(addr, bind=True)
        if endpoint.transport in MULTICAST:
            # pgm/epgm: bind means "join the group", as connect does (libzmq).
            resolved = self._join_multicast(endpoint, "bind")
            self._bound[resolved] = endpoint.transport
            self._last_endpoint = resolved.encode()
            return resolved
        options = self.options.copy()
        if endpoint.transport == "inproc":
            self.context._inproc_bind(endpoint.address, self)
            resolved = str(endpoint)
            self._bound[resolved] = "inproc"
        else:
            policy = self.context.policy
            if endpoint.transport == "tcp":
                check_exposure(policy, endpoint, self._security(options), "bind")
            sock, resolved = self._listen(endpoint, options)
            engine = self._engine_for_io()
            self.context._runner().call(engine.listen, sock, resolved, options)
            self._bound[resolved] = endpoint.transport
        self._last_endpoint = resolved.encode()
        return resolved

    def _listen(self, endpoint: Endpoint, options: Options) -> tuple[Any, str]:
        """The listening socket of a tcp or ipc endpoint.

        Closing a socket is asynchronous, as in libzmq: the I/O thread closes its listeners a
        moment after close() returns.  So when the address is in use while sockets of this
        context are closing, the I/O thread is let catch up (once) before the bind fails: a
        port closed and bound again at once, which programs and tests do, then just works."""

        def listen() -> tuple[Any, str]:
            if endpoint.transport == "tcp":
                return tcp.listen(endpoint, options)
            return ipc.listen(endpoint, self.context.policy.ipc_mode)

        # Asked before trying: the close may finish between a failed try and the question.
        closing = self.context._engines_closing()
        try:
            return listen()
        except ZMQError as exc:
            if exc.errno != Errno.EADDRINUSE or not closing:
                raise
        with contextlib.suppress(concurrent.futures.TimeoutError):
            # Everything posted before this, the closes included, runs first (in order).
            self.context._runner().call(_nothing, timeout=CLOSE_CATCH_UP_S)
        return listen()

    def _connect(self, addr: str) -> None:
        self._check_open()
        endpoint = parse_endpoint(addr, bind=False)
        text = addr if isinstance(addr, str) else addr.decode()
        options = self.options.copy()
        if endpoint.transport in MULTICAST:
            text = self._join_multicast(endpoint, "connect")  # see _bind
        elif endpoint.transport == "inproc":
            self.context._inproc_connect(endpoint.address, self)
        else:
            check_exposure(self.context.policy, endpoint, self._security(options), "connect")
            engine = self._engine_for_io()
            pipe = None
            if not options[SocketOption.IMMEDIATE] and kind_is_zmtp(self.socket_type):
                # The pipe exists from now on, so messages can queue before the peer appears.
                pipe = engine.new_pipe(text, options)
                pipe.local_id = options[SocketOption.CONNECT_ROUTING_ID]
                self._attach_pipe(pipe)
            self.context._runner().post(engine.connect, endpoint, text, options, pipe)
        self._connected[text] = endpoint
        self._last_endpoint = text.encode()
        # CONNECT_ROUTING_ID names the peer of this one connect() only.
        self.options._values[SocketOption.CONNECT_ROUTING_ID] = b""

    def _join_multicast(self, endpoint: Endpoint, verb: str) -> str:
        """Join a pgm/epgm group (PUB/XPUB send to it, SUB/XSUB receive from it); returns the
        endpoint as written back (LAST_ENDPOINT)."""
        if self.socket_type not in (
            SocketType.PUB,
            SocketType.XPUB,
            SocketType.SUB,
            SocketType.XSUB,
        ):
            raise ZMQError(
                Errno.ENOCOMPATPROTO,
                f"cannot {verb} {str(endpoint)!r}: multicast carries one-way PUB/SUB traffic only "
                f"(PUB, XPUB, SUB, XSUB), not {self.socket_type.name}",
            )
        check_multicast(self.context.policy, endpoint, verb)
        text = str(endpoint)
        if text in self._bound or text in self._connected:
            raise ZMQError(Errno.EADDRINUSE, f"cannot {verb} {text}: this socket already joined it")
        engine = self._engine_for_io()
        self.context._runner().call(engine.join_multicast, endpoint, text, self.options.copy())
        return text

    def _security(self, options: Options) -> int:
        """0 plaintext (NULL, or STREAM's raw bytes), 1 PLAIN, 2 CURVE."""
        return 0 if self.socket_type == SocketType.STREAM else options.mechanism

    def _unbind(self, addr: str) -> None:
        self._check_open()
        text = addr if isinstance(addr, str) else addr.decode()
        kind = self._bound.pop(text, None)
        if kind is None:
            raise ZMQError(Errno.ENOENT, f"cannot unbind {text!r}: this socket is not bound there")
        if kind == "inproc":
            self.context._inproc_unbind(text[len("inproc://") :], self)
        elif kind in MULTICAST:
            assert self._engine is not None
            self.context._runner().call(self._engine.leave_multicast, text)
        else:
            assert self._engine is not None
            self.context._runner().call(self._engine.unbind, text)

    def _disconnect(self, addr: str) -> None:
        self._check_open()
        text = addr if isinstance(addr, str) else addr.decode()
        endpoint = self._connected.pop(text, None)
        if endpoint is None:
            raise ZMQError(
                Errno.ENOENT, f"cannot disconnect {text!r}: this socket is not connected there"
            )
        if endpoint.transport == "inproc":
            for pipe in list(self._pipes):
                if pipe.endpoint == text:
                    self._terminate_pipe(pipe)
        elif endpoint.transport in MULTICAST:
            assert self._engine is not None
            self.context._runner().post(self._engine.leave_multicast, text)
        else:
            assert self._engine is not None
            self.context._runner().post(self._engine.disconnect, text)

    def _terminate_pipe(self, pipe: Pipe) -> None:
        self._pipes.discard(pipe)
        self.pattern.terminated(pipe)
        self._release_pipe(pipe)

    def _release_pipe(self, pipe: Pipe) -> None:
        """We are done with ``pipe``: the other end reads what is queued, then learns it."""
        pipe.outbound.close_write()
        if isinstance(pipe.owner, tuple):  # inproc: tell the peer socket directly
            peer, peer_pipe = pipe.owner
            peer.mailbox.post(peer._pipe_terminated, peer_pipe)

    # -- closing ------------------------------------------------------------------------------

    def _close(self, linger: int | None = None) -> None:
        if self._closed:
            return
        if linger is not None:
            self.options.set(SocketOption.LINGER, linger)
        linger_ms = self.options[SocketOption.LINGER]
        engine = self._engine
        if engine is not None:
            # Register the engine's shutdown before the socket reads as closed: term() in
            # another thread must never see "all closed, no engines" in between.
            self.context._engine_closing(self)
        self._closed = True
        for addr, kind in list(self._bound.items()):
            if kind == "inproc":
                self.context._inproc_unbind(addr[len("inproc://") :], self)
        self.context._inproc_forget(self)
        for pipe in list(self._pipes):
            # Messages already in a pipe stay there: an inproc peer still reads them (as in
            # libzmq); for a network peer the engine applies LINGER.
            self._release_pipe(pipe)
            pipe.inbound.wake_reader = _nothing
            pipe.outbound.wake_writer = _nothing
        self._pipes.clear()
        if engine is not None:
            self.context._runner().post(engine.close, linger_ms, self._engine_closed)
        else:
            self._emit_monitor_stopped()
        self.context._socket_closed(self, engine is not None)
        self.mailbox.close()

    def _engine_closed(self) -> None:
        """The I/O side finished (listeners closed, queued messages sent or dropped)."""
        self._emit_monitor_stopped()  # after the engine's last events, e.g. CLOSED
        self.context._engine_closed(self)

    def _emit_monitor_stopped(self) -> None:
        monitor = self._monitor
        if monitor is not None:
            with self._monitor_lock:
                monitor.emit(Event.MONITOR_STOPPED, 0, "")
                monitor.close()
            self._monitor = None

    def _get_dynamic(self, option: SocketOption) -> Any:
        if option == SocketOption.EVENTS:
            return self._events()
        if option == SocketOption.FD:
            return self.mailbox.signaler.fd
        if option == SocketOption.LAST_ENDPOINT:
            return self._last_endpoint
        if option == SocketOption.TYPE:
            return int(self.socket_type)
        if option == SocketOption.MECHANISM:
            return self.options.mechanism
        return self.options.get(option)
