"""The connect side: connect, and reconnect after a failure or a lost connection.

Unless IMMEDIATE is set, the pipe to the peer exists from ``connect()`` on and survives
reconnections, so messages sent before the peer appears (or while it is away) are delivered when
it comes back, within the high-water mark — libzmq's behaviour.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from ..constants import Event, SocketOption
from ..options import Options
from ..transport import ipc, tcp
from ..transport.endpoint import Endpoint
from .pipe import Pipe
from .session import Session

if TYPE_CHECKING:
    from .socket_engine import SocketEngine


class Connecter:
    def __init__(
        self,
        engine: SocketEngine,
        endpoint: Endpoint,
        text: str,
        options: Options,
        pipe: Pipe | None,
    ) -> None:
        self.engine = engine
        self.endpoint = endpoint
        self.text = text
        self.options = options
        self.session: Session | None = None
        self.closed = False
        self._finished = False
        self._aborted = False
        self._task: asyncio.Task[None] | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._ivl = options[SocketOption.RECONNECT_IVL]
        #: The pipe that outlives connections (None with IMMEDIATE: one per connection).
        self.pipe = pipe

    def start(self) -> None:
        self._retry = None
        self._task = self.engine.loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            await self._attempt()
        except asyncio.CancelledError:
            # Cancelled by us (close/abort) or by the loop shutting down: either way this
            # connecter is finished, and must say so or its engine would wait forever.
            self._task = None
            self._done()
            raise
        finally:
            self._task = None

    async def _attempt(self) -> None:
        loop = self.engine.loop
        try:
            if self.endpoint.transport == "tcp":
                sock = await tcp.connect(loop, self.endpoint, self.options)
                peer = str(sock.getpeername()[0])
            else:
                sock = await ipc.connect(loop, self.endpoint)
                peer = ""
        except (OSError, asyncio.TimeoutError):
            if not self.closed or self._worth_lingering():
                self.engine.monitor(Event.CONNECT_DELAYED, 0, self.text)
                self._schedule_retry()
            else:
                self._done()
            return
        if self.closed and not self._worth_lingering():
            sock.close()
            self._done()
            return
        self.engine.monitor(Event.CONNECTED, sock.fileno(), self.text)
        self._ivl = self.options[SocketOption.RECONNECT_IVL]
        session = self.engine.session_class(
            self.engine,
            self.options,
            self.text,
            peer,
            pipe=self.pipe,
            on_closed=self._session_closed,
            as_server=False,
        )
        self.session = session
        session.start(sock)

    def _session_closed(self, session: Session, failed_handshake: bool) -> None:
        self.engine.forget_zap_request(session)
        self.session = None
        if self.pipe is None and session.pipe is not None:
            # IMMEDIATE: the pipe lived and dies with the connection.
            self.engine.pipe_terminated(session.pipe)
        if not self.closed or self._worth_lingering():
            self._schedule_retry()
        else:
            self._done()

    def _worth_lingering(self) -> bool:
        """After close: whether messages are still queued that LINGER lets us try to send."""
        return (
            self.engine.linger != 0
            and not self._aborted
            and self.pipe is not None
            and self.pipe.outbound.probe()
        )

    def _schedule_retry(self) -> None:
        ivl = self.options[SocketOption.RECONNECT_IVL]
        if ivl < 0:  # reconnection disabled
            self._done()
            return
        delay = self._ivl
        ivl_max = self.options[SocketOption.RECONNECT_IVL_MAX]
        if ivl_max > ivl:
            self._ivl = min(self._ivl * 2, ivl_max)
        # A little jitter keeps a crowd of clients from reconnecting in lockstep.
        delay_s = delay / 1000 * (1 + random.random() * 0.1)
        self.engine.monitor(Event.CONNECT_RETRIED, delay, self.text)
        self._retry = self.engine.loop.call_later(delay_s, self.start)

    def close(self) -> None:
        """Stop connecting; a live session lingers, then this connecter is done."""
        if self.closed:
            return
        self.closed = True
        if self.session is not None:
            self.session.linger()
            return
        if self._worth_lingering() and (self._task or self._retry):
            return  # keep trying to deliver within LINGER (SocketEngine enforces it)
        self._done()

    def _cancel(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def abort(self) -> None:
        """Stop everything now (LINGER expired, or disconnect())."""
        self.closed = True
        self._aborted = True
        self._cancel()
        if self.session is not None:
            self.session.close()
        else:
            self._done()

    def _done(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._cancel()
        if self.pipe is not None:
            pipe, self.pipe = self.pipe, None
            self.engine.pipe_terminated(pipe)
        self.engine.connecter_done(self)
