"""The bind side: a listening socket that turns each accepted connection into a session."""

from __future__ import annotations

import errno
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
#: How long to stop accepting when the process is out of file descriptors.
ACCEPT_BACKOFF = 0.1


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
        self._paused = False
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
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of descriptors: the connection stays in the backlog and the listener
                    # stays readable; back off instead of spinning on it.
                    self._pause(ACCEPT_BACKOFF)
                return
            self._accepted(conn, address)

    def _pause(self, delay: float) -> None:
        if self.closed or self._paused:
            return
        self._paused = True
        self.engine.loop.remove_reader(self._fd)
        self.engine.loop.call_later(delay, self._resume)

    def _resume(self) -> None:
        self._paused = False
        if not self.closed:
            self.engine.loop.add_reader(self._fd, self._on_acceptable)

    def _admit(self, conn: socket.socket) -> bool:
        """Enforce the connection limits of the policy before a session is made."""
        policy = self.engine.policy
        if len(self.sessions) >= policy.max_connections:
            self.engine.monitor(Event.ACCEPT_FAILED, Errno.EMFILE, self.endpoint)
            conn.close()
            return False
        pending = [s for s in self.sessions if not s.ready]
        if len(pending) >= policy.max_pending_handshakes:
            # Evict the oldest handshake rather than refuse the newcomer: a crowd of silent
            # connections then cannot lock out a legitimate client, whose handshake takes
            # milliseconds.
            oldest = min(pending, key=lambda s: s.started)
            self.engine.monitor(
                Event.HANDSHAKE_FAILED_NO_DETAIL, Errno.ECONNABORTED, self.endpoint
            )
            oldest.close()
        return True

    def _accepted(self, conn: socket.socket, address: object) -> None:
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            tcp.configure(conn, self.options)
            peer = str(address[0]) if isinstance(address, tuple) else ""
        else:
            peer = ""
            if not ipc.peer_allowed(conn, self.options):
                # IPC_FILTER_UID/GID/PID: the kernel vouches for the peer's identity.
                self.engine.monitor(Event.ACCEPT_FAILED, Errno.EACCES, self.endpoint)
                conn.close()
                return
        if not self._admit(conn):
            return
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
        if not self._paused:
            self.engine.loop.remove_reader(self._fd)
        self.sock.close()
        if self.endpoint.startswith("ipc://"):
            ipc.remove(self.endpoint)
        self.engine.monitor(Event.CLOSED, self._fd, self.endpoint)
