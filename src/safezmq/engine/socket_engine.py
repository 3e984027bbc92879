"""A socket's I/O side: its listeners, connecters and sessions, on the I/O loop.

The socket (in the application's thread) calls in through ``runner.post``/``runner.call``; the
engine calls back only through the socket's mailbox.  This file also builds what every session
needs from the socket's options: the security mechanism, the protocol limits and the pipes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..constants import Event, SocketOption
from ..options import Options
from ..policy import Policy
from ..protocol import (
    Connection,
    CookieKeyring,
    CurveClient,
    CurveServer,
    Limits,
    Mechanism,
    NullMechanism,
    PlainClient,
    PlainServer,
)
from ..protocol.connection import SharedEncoding
from ..protocol.curve import ServerKeys
from ..protocol.secret import Secret
from ..protocol.zap import ZapRequest
from .connecter import Connecter
from .iothread import LoopRunner
from .listener import Listener
from .pipe import Pipe, Queue
from .raw_session import RawSession
from .session import Session

if TYPE_CHECKING:
    from ..transport.endpoint import Endpoint

#: Cookie keys are replaced this often; a CURVE cookie is valid for one to two periods.
COOKIE_KEY_PERIOD = 60.0

ZapCallback = Callable[..., None]


class SocketHandle(Protocol):
    """What the engine needs of its socket (implemented by the socket core)."""

    socket_type_name: bytes
    mailbox: Any

    def _attach_pipe(self, pipe: Pipe) -> None: ...
    def _attach_multicast_pipe(self, pipe: Pipe) -> None: ...
    def _read_activated(self, pipe: Pipe) -> None: ...
    def _write_activated(self, pipe: Pipe) -> None: ...
    def _pipe_terminated(self, pipe: Pipe) -> None: ...
    def _pipe_ready(self, pipe: Pipe) -> None: ...
    def _monitor_event(self, event: int, value: int, endpoint: str) -> None: ...
    def _engine_error(self, exc: BaseException) -> None: ...


class SocketEngine:
    def __init__(
        self, socket: SocketHandle, runner: LoopRunner, zap: Any = None, policy: Any = None
    ) -> None:
        self.socket = socket
        self.policy = policy if policy is not None else Policy()
        self.runner = runner
        self.loop: asyncio.AbstractEventLoop = runner.loop
        self.zap = zap  # the context's ZAP client, if any
        self.listeners: dict[str, Listener] = {}
        self.connecters: dict[str, list[Connecter]] = {}
        #: pgm/epgm endpoints (engine/pgm_session.py), by endpoint text.
        self.multicast: dict[str, Any] = {}
        self.linger = -1
        self._closing = False
        self._on_closed: Callable[[], None] | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        #: STREAM sockets speak raw bytes: no ZMTP, no handshake.
        self.session_class: Any = RawSession if socket.socket_type_name == b"STREAM" else Session
        self._keyring = CookieKeyring()
        #: Rotates the cookie key; started (on the loop) when the first CURVE server session
        #: is made, so that a socket that never serves CURVE has no timer on the loop.
        self._keyring_timer: asyncio.TimerHandle | None = None
        #: The CURVE server keys beyond CURVE_SECRETKEY during a rotation (safezmq.auth.rotation).
        self.server_keys = ServerKeys(clock=time.time)
        #: A PUB/XPUB sends the same messages to every subscriber: its NULL/PLAIN sessions
        #: encode each batch once between them (protocol/connection.py, SharedEncoding).
        self.shared_encoding: SharedEncoding | None = (
            SharedEncoding() if socket.socket_type_name in (b"PUB", b"XPUB") else None
        )

    # -- what sessions need -------------------------------------------------------------------

    def new_connection(self, options: Options, as_server: bool, peer_address: str) -> Connection:
        limits = Limits(max_message_size=options[SocketOption.MAXMSGSIZE])
        return Connection(
            self._mechanism(options, as_server),
            socket_type=self.socket.socket_type_name,
            identity=options[SocketOption.ROUTING_ID],
            metadata=options.metadata,
            limits=limits,
            zap_domain=options[SocketOption.ZAP_DOMAIN],
            peer_address=peer_address.encode(),
            chunk_pool=self.runner.chunk_pool,
        )

    def _mechanism(self, options: Options, as_server: bool) -> Mechanism:
        mechanism = options.mechanism
        if mechanism == 1:  # PLAIN
            if options[SocketOption.PLAIN_SERVER]:
                return PlainServer(zap=True)
            password = options[SocketOption.PLAIN_PASSWORD]
            if isinstance(password, Secret):
                return PlainClient(options[SocketOption.PLAIN_USERNAME], password)
            return PlainClient(options[SocketOption.PLAIN_USERNAME], password or b"")
        if mechanism == 2:  # CURVE
            secret = options[SocketOption.CURVE_SECRETKEY]
            if not secret:
                raise ValueError("CURVE needs CURVE_SECRETKEY (and CURVE_PUBLICKEY) to be set")
            public = options[SocketOption.CURVE_PUBLICKEY] or None
            if options[SocketOption.CURVE_SERVER]:
                if self._keyring_timer is None and not self._closing:
                    self._keyring_timer = self.loop.call_later(
                        COOKIE_KEY_PERIOD, self._rotate_cookie_key
                    )
                return CurveServer(
                    secret, public, zap=True, keyring=self._keyring, server_keys=self.server_keys
                )
            server_key = options[SocketOption.CURVE_SERVERKEY]
            if not server_key:
                raise ValueError("a CURVE client needs CURVE_SERVERKEY (the server's public key)")
            return CurveClient(server_key, secret, public)
        zap = as_server and bool(options[SocketOption.ZAP_DOMAIN]) and self.zap is not None
        return NullMechanism(as_server=as_server, zap=zap)

    def new_pipe(self, endpoint: str, options: Options) -> Pipe:
        budget = self.policy.pipe_max_bytes
        inbound = Queue(options[SocketOption.RCVHWM], budget)
        outbound = Queue(options[SocketOption.SNDHWM], budget)
        pipe = Pipe(inbound, outbound, endpoint)
        socket = self.socket
        post = socket.mailbox.post
        inbound.wake_reader = lambda: post(socket._read_activated, pipe)
        outbound.wake_writer = lambda: post(socket._write_activated, pipe)
        return pipe

    def attach_pipe(self, pipe: Pipe) -> None:
        self.socket.mailbox.post(self.socket._attach_pipe, pipe)

    def pipe_ready(self, pipe: Pipe) -> None:
        self.socket.mailbox.post(self.socket._pipe_ready, pipe)

    def kick(self, pipe: Pipe) -> None:
        """The socket dropped ``pipe``'s peer (it broke a limit): close its connection."""
        for listener in self.listeners.values():
            for session in list(listener.sessions):
                if session.pipe is pipe:
                    session.close()
                    return
        for connecters in list(self.connecters.values()):
            for connecter in connecters:
                if connecter.pipe is pipe or (
                    connecter.session is not None and connecter.session.pipe is pipe
                ):
                    connecter.abort()
                    return

    def pipe_terminated(self, pipe: Pipe) -> None:
        pipe.outbound.discard()  # nobody will send these any more (their trackers finish)
        pipe.inbound.close_write()
        self.socket.mailbox.post(self.socket._pipe_terminated, pipe)

    def monitor(self, event: Event, value: int, endpoint: str) -> None:
        self.socket._monitor_event(int(event), int(value), endpoint)

    def report_config_error(self, exc: BaseException) -> None:
        self.socket._engine_error(exc)

    def zap_request(self, request: ZapRequest, callback: ZapCallback, enforce: bool) -> None:
        """Ask the context's ZAP handler; with none, refuse (fail closed) unless the policy
        says otherwise (and ZAP_ENFORCE_DOMAIN does not insist)."""
        if self.zap is None:
            callback(None, 500, b"no ZAP handler")
            return
        self.zap.request(request, callback, enforce)

    def forget_zap_request(self, session: Any) -> None:
        """A session ended: drop its ZAP request if the handler has not answered yet, so that a
        hung handler does not keep dead sessions (and their buffers) alive, nor fill the ZAP
        client's MAX_PENDING with connections that are gone."""
        reply = getattr(session, "_zap_reply", None)
        if self.zap is not None and reply is not None:
            self.zap.cancel(reply)

    def _rotate_cookie_key(self) -> None:
        self._keyring.rotate()
        self._keyring_timer = self.loop.call_later(COOKIE_KEY_PERIOD, self._rotate_cookie_key)

    # -- what the socket asks -----------------------------------------------------------------

    def listen(self, sock: Any, endpoint: str, options: Options) -> None:
        self.listeners[endpoint] = Listener(self, sock, endpoint, options)

    def connect(self, endpoint: Endpoint, text: str, options: Options, pipe: Pipe | None) -> None:
        connecter = Connecter(self, endpoint, text, options, pipe)
        self.connecters.setdefault(text, []).append(connecter)
        connecter.start()

    # -- pgm/epgm (bind and connect both join the group) ---------------------------------------

    def join_multicast(self, endpoint: Endpoint, text: str, options: Options) -> None:
        from .pgm_session import open_session  # loaded by programs that use multicast only

        self.multicast[text] = open_session(self, endpoint, text, options)

    def leave_multicast(self, text: str) -> bool:
        session = self.multicast.get(text)
        if session is None:
            return False
        session.close()
        return True

    def multicast_gone(self, session: Any) -> None:
        text: str = session.text
        if self.multicast.get(text) is session:
            del self.multicast[text]
        self._check_closed()

    def unbind(self, endpoint: str) -> bool:
        listener = self.listeners.pop(endpoint, None)
        if listener is None:
            return False
        listener.close()
        for session in list(listener.sessions):
            session.close()
        return True

    def disconnect(self, text: str) -> bool:
        connecters = self.connecters.pop(text, None)
        if not connecters:
            return False
        for connecter in connecters:
            connecter.abort()
        return True

    def close(self, linger: int, on_closed: Callable[[], None]) -> None:
        """The socket closed: stop listening and connecting, let sessions send what is queued
        for at most ``linger`` ms (-1: until sent), then call ``on_closed``."""
        self._closing = True
        self.linger = linger
        self._on_closed = on_closed
        if self._keyring_timer is not None:
            self._keyring_timer.cancel()
        for listener in self.listeners.values():
            listener.close()
            for session in list(listener.sessions):
                session.linger()
        for connecters in list(self.connecters.values()):
            for connecter in connecters:
                connecter.close()
        for session in list(self.multicast.values()):
            session.linger()
        if linger > 0:
            self._linger_timer = self.loop.call_later(linger / 1000, self._linger_expired)
        self._check_closed()

    def _linger_expired(self) -> None:
        for listener in self.listeners.values():
            for session in list(listener.sessions):
                session.close()
        for connecters in list(self.connecters.values()):
            for connecter in list(connecters):
                connecter.abort()
        for session in list(self.multicast.values()):
            session.close()

    def session_gone(self) -> None:
        self._check_closed()

    def connecter_done(self, connecter: Connecter) -> None:
        group = self.connecters.get(connecter.text)
        if group is not None and connecter in group:
            group.remove(connecter)
            if not group:
                del self.connecters[connecter.text]
        self._check_closed()

    def _check_closed(self) -> None:
        if not self._closing or self._on_closed is None:
            return
        if any(listener.sessions for listener in self.listeners.values()) or self.connecters:
            return
        if self.multicast:
            return
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        callback, self._on_closed = self._on_closed, None
        callback()
