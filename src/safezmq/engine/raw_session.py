"""A STREAM socket's connection: raw bytes to and from a non-ZMTP peer (no handshake).

Each connection becomes a pipe at once.  What arrives is delivered in chunks as it was read;
what the socket sends is written as it is; an empty message closes the connection.  With
STREAM_NOTIFY (the default) an empty message announces each connection and each disconnection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..constants import Event, SocketOption
from ..options import Options
from ..protocol.metadata import Metadata
from ..transport.stream import Stream
from .pipe import Pipe

if TYPE_CHECKING:
    from .socket_engine import SocketEngine

#: Raw writes moved per turn of the loop before yielding (fairness).
PULL_BATCH = 1024


class RawSession:
    def __init__(
        self,
        engine: SocketEngine,
        options: Options,
        endpoint: str,
        peer_address: str,
        *,
        pipe: Pipe | None,
        on_closed: Callable[[Any, bool], None],
        as_server: bool,
    ) -> None:
        self.engine = engine
        self.loop: asyncio.AbstractEventLoop = engine.loop
        self.options = options
        self.endpoint = endpoint
        self.peer_address = peer_address
        self.as_server = as_server
        self.pipe: Pipe | None = None
        self._on_closed = on_closed
        self.stream: Stream | None = None
        self.ready = False
        self.closed = False
        self.fd = -1
        self._lingering = False
        self._writing_paused = False
        self._pull_scheduled = False
        self._notify = bool(options[SocketOption.STREAM_NOTIFY])
        self.started = self.last_progress = self.loop.time()
        self.on_ready: Any = None

    def start(self, sock: Any) -> None:
        self.fd = sock.fileno()
        engine = self.engine
        pipe = self.pipe = engine.new_pipe(self.endpoint, self.options)
        if not self.as_server:  # CONNECT_ROUTING_ID names the peer of a connect() only
            pipe.local_id = self.options[SocketOption.CONNECT_ROUTING_ID]
        pipe.metadata = Metadata({"Peer-Address": self.peer_address.encode()})
        pipe.ready = True
        runner = engine.runner
        pipe.outbound.wake_reader = lambda: runner.post(self._pull_soon)
        pipe.inbound.wake_writer = lambda: runner.post(self._resume_reading)
        self.stream = Stream(self.loop, sock, self)
        self.ready = True
        if self._notify:
            pipe.inbound.write([b""], 0)  # "a peer connected"
        engine.attach_pipe(pipe)
        self.stream.start()

    def get_buffer(self) -> memoryview | None:
        return None  # raw chunks are delivered as read

    def buffer_updated(self, nbytes: int) -> None:  # pragma: no cover - never asked for
        raise AssertionError("RawSession reads with recv()")

    def data_received(self, data: memoryview) -> None:
        pipe = self.pipe
        if pipe is None or self._lingering:
            return
        # A view of the loop's shared read buffer, valid during this call only: copy it.
        pipe.inbound.write([bytes(data)], len(data))
        if not pipe.inbound.check_write() and self.stream is not None:
            self.stream.pause_reading()

    def _resume_reading(self) -> None:
        if self.stream is not None and not self.closed:
            self.stream.resume_reading()

    def _pull_soon(self) -> None:
        self._pull_scheduled = False
        self.pull()

    def pull(self) -> None:
        pipe, stream = self.pipe, self.stream
        if pipe is None or stream is None or self.closed or self._writing_paused:
            return
        for _ in range(PULL_BATCH):
            msg = pipe.outbound.read()
            if msg is None:
                break
            data = b"".join(bytes(f) for f in msg) if len(msg) != 1 else msg[0]
            if not data:
                stream.close()  # the application asked to close this connection
                return
            stream.write([data])
        else:
            if not self._pull_scheduled:
                self._pull_scheduled = True
                self.loop.call_soon(self._pull_soon)
        if pipe.outbound.terminated:
            self._lingering = True
            stream.close()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self.pull()

    def linger(self) -> None:
        if self.closed:
            return
        if self.engine.linger == 0 or self.pipe is None:
            self.close()
            return
        self._lingering = True
        self.pull()

    def close(self, errno: int = 0) -> None:
        if self.stream is not None:
            self.stream.abort()
        self._finish()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._finish()

    def _finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        pipe = self.pipe
        if pipe is not None:
            if self._notify and not self._lingering:
                pipe.inbound.write([b""], 0)  # "the peer disconnected"
            self.engine.pipe_terminated(pipe)
        self.engine.monitor(Event.DISCONNECTED, self.fd, self.endpoint)
        self._on_closed(self, False)
