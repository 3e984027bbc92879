"""A session: one connection, from accept or connect to close, on the I/O loop.

It joins a ``Stream`` (bytes) to a protocol ``Connection`` (ZMTP) and the connection to a
``Pipe`` (messages for the socket).  It owns the handshake deadline, heartbeats, backpressure in
both directions and the monitor events of its connection.  Nothing here runs in the socket's
thread; the socket learns about the session only through its mailbox.

A session ZAP admitted is entered in the context's register (``engine/zap.py``) with what it was
admitted with, so that revoking that key or user closes it (``revoke``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..constants import Errno, Event, SocketOption
from ..options import Options
from ..protocol import (
    Connection,
    HandshakeComplete,
    MessageTooLarge,
    PingReceived,
    ProtocolError,
    Subscribe,
    ZapRequestNeeded,
)
from ..protocol.connection import SharedEncoding
from ..protocol.events import Cancel
from ..protocol.metadata import Metadata
from ..transport.stream import Stream
from .pipe import Pipe, Queue, SubscriptionMessage, TrackedMessage, message_size
from .zap import NO_HANDLER, Admission, warn_no_handler

if TYPE_CHECKING:
    from .socket_engine import SocketEngine

#: Messages moved from the socket's pipe into the connection per turn of the loop before
#: yielding to other connections (fairness).
PULL_BATCH = 4096
#: Octets of messages a connection that seals each message into a new buffer (CURVE) takes from
#: its pipe per pull.  Without it a backlog of large messages became that many new buffers at
#: once (a full pipe of 1 MiB messages: about a GiB of boxes), ahead of the stream's own limit.
SEALED_PULL_OCTETS = 1024 * 1024
#: How long a failing connection may take to deliver its ERROR command before it is cut.
ERROR_FLUSH_TIME = 1.0
#: Standard properties a peer announces about itself (RFC 37); the rest of the message
#: metadata is ours to set.
_PEER_PROPERTIES = frozenset({"socket-type", "identity", "resource"})
#: The value of the EVENT_HANDSHAKE_FAILED_AUTH monitor event that precedes EVENT_DISCONNECTED
#: when a live session is closed because its key or user was revoked (or expired).  Not a
#: status a ZAP handler answers (RFC 27 has 200, 300, 400 and 500), so it cannot be confused
#: with a refused handshake.
REVOKED_STATUS = 403


class Session:
    """See the module docstring."""

    def __init__(
        self,
        engine: SocketEngine,
        options: Options,
        endpoint: str,
        peer_address: str,
        *,
        pipe: Pipe | None,
        on_closed: Callable[[Session, bool], None],
        as_server: bool,
    ) -> None:
        self.engine = engine
        self.loop: asyncio.AbstractEventLoop = engine.loop
        #: Shared with the socket's other sessions when they all send the same messages (PUB).
        self._shared_encoding: SharedEncoding | None = getattr(engine, "shared_encoding", None)
        self.options = options
        self.endpoint = endpoint
        self.peer_address = peer_address
        self.pipe = pipe
        self.as_server = as_server
        self._on_closed = on_closed
        self.stream: Stream | None = None
        self.conn: Connection | None = None
        self.fd = -1
        self.ready = False
        self.closed = False
        self._writing_paused = False
        self._pull_scheduled = False
        self._last_rx = 0.0
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._lingering = False
        self._handshake_failed = False
        self._admitted = False
        #: Whether a ZAP handler answered (not the ZAP client itself, for want of a handler
        #: under a relaxed policy): only what a handler admitted can be revoked by one.
        self._asking_zap = False
        self._handler_answered = False
        #: When the connection began (loop time).
        self.started = self.loop.time()
        #: Told when the handshake completes (the listener counts handshakes in progress).
        self.on_ready: Callable[[Session], None] | None = None

    # -- start --------------------------------------------------------------------------------

    def start(self, sock: Any) -> None:
        self.fd = sock.fileno()
        try:
            self.conn = self.engine.new_connection(self.options, self.as_server, self.peer_address)
        except Exception as exc:  # a configuration error (e.g. missing CURVE key)
            sock.close()
            self.engine.monitor(Event.HANDSHAKE_FAILED_NO_DETAIL, Errno.EINVAL, self.endpoint)
            self.engine.report_config_error(exc)
            self._finish(failed_handshake=True)
            return
        self.stream = Stream(self.loop, sock, self)
        self.stream.write(self.conn.data_to_send())
        self.stream.start()
        self._last_rx = self.loop.time()
        ivl = self.options[SocketOption.HANDSHAKE_IVL]
        if ivl > 0:
            self._timer("handshake", ivl / 1000, self._handshake_timeout)

    # -- input --------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        assert self.conn is not None
        self._receive(self.conn.receive_data, data)

    def get_buffer(self) -> memoryview | None:
        """Stream asks where to receive: straight into a large frame's body, when one is
        arriving (saves a copy of every large message)."""
        conn = self.conn
        return None if conn is None or self.closed else conn.receive_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        assert self.conn is not None
        self._receive(self.conn.buffer_received, nbytes)

    def _receive(self, step: Callable[[Any], list[object]], arg: Any) -> None:
        """Run one input step of the connection and act on what it produced."""
        self._last_rx = self.loop.time()
        try:
            events = step(arg)
        except ProtocolError as exc:
            self._deliver_before_failure(exc.events)
            self._protocol_failure(exc)
            return
        self._handle(events)

    def _handle(self, events: list[object]) -> None:
        conn = self.conn
        assert conn is not None
        inbound = self._inbound()
        if inbound is not None and conn.received_messages == len(events):
            if events:  # only messages (the usual case): hand them over in one go
                inbound.write_batch(events, conn.received_bytes)
        else:
            for event in events:
                if type(event) is list:
                    if inbound is not None:  # None: lingering after close, or not yet ready
                        inbound.write(event, message_size(event))
                else:
                    self._event(event)
                    inbound = self._inbound()
                    if self.closed:
                        return
        out = conn.data_to_send()
        if out and self.stream is not None:
            if self._writing_paused and self.ready:
                # After the handshake, reading input only ever produces PONGs.  A peer that
                # does not read what we already sent gets none: it would otherwise make us
                # queue answers without bound (a PING flood that never reads).
                pass
            else:
                self.stream.write(out)
        if inbound is not None and not inbound.check_write():
            # The socket is not keeping up: stop reading until it drains to low water.
            assert self.stream is not None
            self.stream.pause_reading()

    def _deliver_before_failure(self, events: list[object]) -> None:
        """Act on what the peer completed before it broke the protocol (see receive_data)."""
        for event in events:
            if type(event) is list:
                inbound = self._inbound()
                if inbound is not None:
                    inbound.write(event, message_size(event))
            elif isinstance(event, HandshakeComplete):
                self._handshake_complete(event)

    def _inbound(self) -> Queue | None:
        pipe = self.pipe
        if pipe is None or not self.ready or self._lingering:
            return None
        return pipe.inbound

    def _event(self, event: object) -> None:
        if isinstance(event, HandshakeComplete):
            self._handshake_complete(event)
        elif isinstance(event, ZapRequestNeeded):
            enforce = bool(self.options[SocketOption.ZAP_ENFORCE_DOMAIN])
            self._asking_zap = True  # a handler's answer never comes back within the call
            try:
                self.engine.zap_request(event.request, self._zap_reply, enforce)
            finally:
                self._asking_zap = False
        elif isinstance(event, PingReceived):
            if event.ttl > 0:
                self._timer("ttl", event.ttl, self._check_ttl, event.ttl)
        elif isinstance(event, (Subscribe, Cancel)):
            inbound = self._inbound()
            if inbound is not None:
                prefix = b"\x01" if isinstance(event, Subscribe) else b"\x00"
                inbound.write(SubscriptionMessage([prefix + event.topic]), len(event.topic))

    def _zap_reply(self, reply: list[bytes] | None, status: int = 500, reason: bytes = b"") -> None:
        conn = self.conn
        if self.closed or conn is None or conn.zap_request is None:
            return
        try:
            if reply is None:
                if reason == NO_HANDLER:
                    warn_no_handler(self.engine, self.endpoint, conn.mechanism.name)
                self._protocol_failure(conn.refuse(status, reason))
                return
            self._handler_answered = not self._asking_zap
            events = conn.zap_reply(reply)
        except ProtocolError as exc:
            self._protocol_failure(exc)
            return
        for event in events:
            self._event(event)
        if self.stream is not None:
            self.stream.write(conn.data_to_send())

    @property
    def last_progress(self) -> float:
        """When the peer last sent us anything (loop time)."""
        return self._last_rx

    def _handshake_complete(self, event: HandshakeComplete) -> None:
        self._cancel("handshake")
        self.ready = True
        if self.on_ready is not None:
            self.on_ready(self)
        engine = self.engine
        self._admit(event)
        engine.monitor(Event.HANDSHAKE_SUCCEEDED, 0, self.endpoint)
        metadata = self._message_metadata(event)
        pipe = self.pipe
        fresh = pipe is None
        if pipe is None:
            pipe = self.pipe = engine.new_pipe(self.endpoint, self.options)
            if not self.as_server:  # CONNECT_ROUTING_ID names the peer of a connect() only
                pipe.local_id = self.options[SocketOption.CONNECT_ROUTING_ID]
        pipe.routing_id = event.identity
        pipe.metadata = metadata
        pipe.peer_socket_type = event.socket_type
        pipe.ready = True
        self._bind_pipe(pipe)
        if fresh:
            engine.attach_pipe(pipe)
        else:
            engine.pipe_ready(pipe)  # a connect-side pipe: the peer (re)appeared
        self._start_heartbeats()
        self._schedule_pull()

    def _admit(self, event: HandshakeComplete) -> None:
        """Enter a session ZAP admitted in the context's register (see revoke())."""
        zap = getattr(self.engine, "zap", None)
        if zap is None or not self._handler_answered or not self.as_server:
            return
        mechanism = self.conn.mechanism if self.conn is not None else None
        key = getattr(mechanism, "client_key", None)
        domain = bytes(self.options[SocketOption.ZAP_DOMAIN]).decode("utf-8", "replace")
        user_id = event.user_id or b""
        zap.admit(self, Admission(domain, event.mechanism.decode("ascii", "replace"), user_id, key))
        self._admitted = True

    def revoke(self) -> None:
        """The key or user this session was admitted with is no longer allowed: close it now,
        with EVENT_HANDSHAKE_FAILED_AUTH (value REVOKED_STATUS), then EVENT_DISCONNECTED."""
        if self.closed:
            return
        self.engine.monitor(Event.HANDSHAKE_FAILED_AUTH, REVOKED_STATUS, self.endpoint)
        self.close()

    def _message_metadata(self, event: HandshakeComplete) -> Metadata:
        """What ``frame.get()`` shows.  Of the peer's own properties only the ones a peer may
        speak for pass (Socket-Type, Identity, Resource, and application "X-" ones): a peer
        announcing "User-Id" or "Peer-Address" must not be believed — those come from ZAP and
        from the socket, never from the other end."""
        properties: dict[str, bytes] = {
            name: value
            for name, value in event.peer_metadata.items()
            if name.lower() in _PEER_PROPERTIES or name.lower().startswith("x-")
        }
        properties.update(event.zap_metadata.items())
        if event.user_id is not None:
            properties["User-Id"] = event.user_id
        if event.identity:
            properties["Routing-Id"] = event.identity  # libzmq's ZMQ_MSG_PROPERTY_ROUTING_ID
        properties["Peer-Address"] = self.peer_address.encode()
        return Metadata(properties)

    def _bind_pipe(self, pipe: Pipe) -> None:
        """Point the pipe's session-side wake-ups at this session."""
        runner = self.engine.runner
        pipe.outbound.wake_reader = lambda: runner.post(self._pull_soon)
        pipe.inbound.wake_writer = lambda: runner.post(self._resume_reading)

    # -- output -------------------------------------------------------------------------------

    def _pull_soon(self) -> None:
        self._pull_scheduled = False
        self.pull()

    def _schedule_pull(self) -> None:
        if not self._pull_scheduled:
            self._pull_scheduled = True
            self.loop.call_soon(self._pull_soon)

    def pull(self) -> None:
        """Move queued messages from the socket's pipe into the connection and the stream."""
        if not self.ready or self.closed or self._writing_paused:
            return
        pipe = self.pipe
        conn = self.conn
        stream = self.stream
        assert pipe is not None and conn is not None and stream is not None
        queue = pipe.outbound
        batch = queue.read_batch(PULL_BATCH, SEALED_PULL_OCTETS if conn.seals else 0)
        tracked: list[TrackedMessage] = []
        index, count = 0, len(batch)
        while index < count:
            # plain messages, up to a special one
            index = conn.send_messages(batch, index, self._shared_encoding)
            if index == count:
                break
            msg = batch[index]
            if type(msg) is SubscriptionMessage:
                topic = msg[0][1:]
                if msg[0][:1] == b"\x01":
                    conn.send_subscribe(topic)
                else:
                    conn.send_cancel(topic)
            else:
                conn.send_message(msg)
                if type(msg) is TrackedMessage:
                    tracked.append(msg)
            index += 1
        out = conn.data_to_send()
        if out:
            stream.write(out)
        for msg in tracked:
            stream.when_flushed(msg.tracker._set_done)
        if queue.terminated:
            self._end_of_pipe()
        elif count == PULL_BATCH or queue.arm():
            self._schedule_pull()  # more is waiting: come back after other connections ran

    def pause_writing(self) -> None:
        """The peer is not reading what we send: stop pulling messages for it (its input is
        still read — a requester may keep sending requests it wants served, RFC 28)."""
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._lingering and self.pipe is not None and self.pipe.outbound.terminated:
            return
        self._schedule_pull()

    def _resume_reading(self) -> None:
        stream = self.stream
        if stream is None or self.closed:
            return
        inbound = self._inbound()
        if inbound is not None and not inbound.check_write():
            return  # the socket's pipe is still full: it wakes us when it drains
        stream.resume_reading()

    # -- heartbeats ---------------------------------------------------------------------------

    def _start_heartbeats(self) -> None:
        ivl = self.options[SocketOption.HEARTBEAT_IVL]
        if ivl > 0:
            self._timer("ping", ivl / 1000, self._send_ping)

    def _send_ping(self) -> None:
        conn, stream = self.conn, self.stream
        if self.closed or conn is None or stream is None:
            return
        ttl = self.options[SocketOption.HEARTBEAT_TTL] // 100
        if conn.send_ping(ttl):
            stream.write(conn.data_to_send())
            timeout = self.options[SocketOption.HEARTBEAT_TIMEOUT]
            if timeout < 0:
                timeout = self.options[SocketOption.HEARTBEAT_IVL]
            if "pong" not in self._timers:
                self._timer("pong", timeout / 1000, self._check_pong, self.loop.time())
        self._timer("ping", self.options[SocketOption.HEARTBEAT_IVL] / 1000, self._send_ping)

    def _check_pong(self, sent_at: float) -> None:
        self._timers.pop("pong", None)
        if self._last_rx < sent_at:
            self.close(Errno.ETIMEDOUT)

    def _check_ttl(self, ttl: float) -> None:
        self._timers.pop("ttl", None)
        if self.loop.time() - self._last_rx >= ttl:
            self.close(Errno.ETIMEDOUT)
        else:
            self._timer("ttl", ttl - (self.loop.time() - self._last_rx), self._check_ttl, ttl)

    # -- timers -------------------------------------------------------------------------------

    def _timer(self, name: str, delay: float, fn: Callable[..., None], *args: Any) -> None:
        self._cancel(name)
        self._timers[name] = self.loop.call_later(delay, fn, *args)

    def _cancel(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _handshake_timeout(self) -> None:
        self._timers.pop("handshake", None)
        if not self.ready and not self.closed:
            self.engine.monitor(Event.HANDSHAKE_FAILED_NO_DETAIL, Errno.ETIMEDOUT, self.endpoint)
            self._handshake_failed = True
            self.close(Errno.ETIMEDOUT)

    # -- ending -------------------------------------------------------------------------------

    def _protocol_failure(self, exc: ProtocolError) -> None:
        if self.ready and isinstance(exc, MessageTooLarge):
            # A peer that broke a size limit: say which, as for the subscription caps.
            self.engine.monitor(Event.LIMIT_EXCEEDED, int(exc.limit), self.endpoint)
        if not self.ready:
            self._handshake_failed = True
            if exc.auth_status is not None:
                self.engine.monitor(Event.HANDSHAKE_FAILED_AUTH, exc.auth_status, self.endpoint)
            else:
                self.engine.monitor(Event.HANDSHAKE_FAILED_PROTOCOL, int(exc.code), self.endpoint)
        self._flush_and_fail(exc)

    def _flush_and_fail(self, exc: ProtocolError) -> None:
        """Send what the protocol wants said (an ERROR), then close."""
        if not self.ready:
            self._handshake_failed = True
        conn, stream = self.conn, self.stream
        if conn is not None and stream is not None:
            stream.write(conn.data_to_send())
            stream.close()  # after the ERROR is written...
            self.loop.call_later(ERROR_FLUSH_TIME, stream.abort)  # ...or soon, regardless
        self._finish(abort_stream=False)

    def linger(self) -> None:
        """The socket closed: send what is still queued for this peer, then close.

        The engine enforces LINGER's deadline; here we only make sure the pipe is drained (after
        the handshake, if it is still running) and the stream closed once its output is out."""
        if self.closed:
            return
        if self.engine.linger == 0 or self.pipe is None:
            self.close()
            return
        self._lingering = True  # from now on, messages from the peer are dropped
        if self.ready:
            self._schedule_pull()

    def _end_of_pipe(self) -> None:
        """The socket wrote its last message to us: close once the stream has sent it all."""
        self._lingering = True
        if self.stream is not None:
            self.stream.close()

    def close(self, errno: int = 0) -> None:
        """Close now (dropping unsent output)."""
        if self.closed:
            return
        if self.stream is not None:
            self.stream.abort()
        self._finish()

    def connection_lost(self, exc: BaseException | None) -> None:
        """The stream is gone (peer closed, error, or we closed it)."""
        self._finish()

    def _finish(self, failed_handshake: bool = False, abort_stream: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        if self._admitted:
            self._admitted = False
            self.engine.zap.forget(self)
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if abort_stream and self.stream is not None and not self.stream.closed:
            self.stream.abort()
        if self.fd >= 0:
            self.engine.monitor(Event.DISCONNECTED, self.fd, self.endpoint)
        # Spare receive chunks are for a steady stream of large messages; once a peer is gone
        # its thread keeps none of them (memory returns to where it was before that peer).
        self.engine.runner.chunk_pool.release()
        pipe = self.pipe
        if pipe is not None:
            # The session-side wake-ups now lead nowhere until another session takes over.
            pipe.outbound.wake_reader = _nothing
            pipe.inbound.wake_writer = _nothing
        self._on_closed(self, failed_handshake or self._handshake_failed)

    def __repr__(self) -> str:
        state = "ready" if self.ready else "closed" if self.closed else "handshaking"
        return f"<Session {self.endpoint} {state}>"


def _nothing() -> None:
    return None
