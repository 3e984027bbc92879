"""The bind side: a listening socket that turns each accepted connection into a session."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from ..constants import Errno, Event
from ..options import Options
from ..transport import ipc, tcp
from .session import Session

if TYPE_CHECKING:
    from .socket_engine import SocketEngine

#: Connections accepted per readiness callback before yielding to the rest of the loop.
ACCEPT_BATCH = 64


class Listener:
    def __init__(
        self, engine: SocketEngine, sock: socket.socket, endpoint: str, options: Options
    ) -> None:
        self.engine = engine
        self.sock = sock
        self.endpoint = endpoint
        self.options = options
        self.sessions: set[Session] = set()
        self.closed = False
        self._fd = sock.fileno()
        engine.loop.add_reader(self._fd, self._on_acceptable)
        engine.monitor(Event.LISTENING, self._fd, endpoint)

    def _on_acceptable(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.engine.monitor(Event.ACCEPT_FAILED, exc.errno or Errno.EINVAL, self.endpoint)
                return
            self._accepted(conn, address)

    def _accepted(self, conn: socket.socket, address: object) -> None:
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            tcp.configure(conn, self.options)
            peer = str(address[0]) if isinstance(address, tuple) else ""
        else:
            peer = ""
        conn.setblocking(False)
        session = self.engine.session_class(
            self.engine,
            self.options,
            self.endpoint,
            peer,
            pipe=None,
            on_closed=self._session_closed,
            as_server=True,
        )
        self.sessions.add(session)
        self.engine.monitor(Event.ACCEPTED, conn.fileno(), self.endpoint)
        session.start(conn)

    def _session_closed(self, session: Session, failed_handshake: bool) -> None:
        self.sessions.discard(session)
        if session.pipe is not None:
            self.engine.pipe_terminated(session.pipe)
        self.engine.session_gone()

    def close(self) -> None:
        """Stop accepting; existing sessions linger (see SocketEngine.close)."""
        if self.closed:
            return
        self.closed = True
        self.engine.loop.remove_reader(self._fd)
        self.sock.close()
        if self.endpoint.startswith("ipc://"):
            ipc.remove(self.endpoint)
        self.engine.monitor(Event.CLOSED, self._fd, self.endpoint)
