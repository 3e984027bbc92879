"""The bind side: a listening socket that turns each accepted connection into a session."""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, Any

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
#: A handshake whose peer has sent nothing for this long may be dropped when the pending
#: handshakes are at the policy's cap (a legitimate peer answers within milliseconds).
STALL_GRACE = 1.0


class Listener:
    def __init__(
        self, engine: SocketEngine, sock: socket.socket, endpoint: str, options: Options
    ) -> None:
        self.engine = engine
        self.sock = sock
        self.endpoint = endpoint
        self.options = options
        self.sessions: set[Session] = set()
        #: Sessions still handshaking (kept apart: the admission check must not scan them all).
        self.pending: set[Any] = set()
        self.closed = False
        self._paused = False
        #: An accepted connection waiting for a handshake slot (at most one is held).
        self._held: tuple[socket.socket, Any] | None = None
        self._fd = sock.fileno()
        #: The ipc socket file this listener made (removed on close only if still ours).
        self._ipc_file = ipc.file_identity(endpoint) if endpoint.startswith("ipc://") else None
        engine.loop.add_reader(self._fd, self._on_acceptable)
        engine.monitor(Event.LISTENING, self._fd, endpoint)

    def _on_acceptable(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if self._held is not None:
                return  # a connection is already waiting for room
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
            if not self._make_room():
                # Every handshake in progress is moving: hold this one (and leave the rest
                # in the kernel's backlog) until one of them finishes.
                self._held = (conn, address)
                self._pause(STALL_GRACE / 4)
                return
            self._accepted(conn, address)

    def _pause(self, delay: float) -> None:
        if self.closed or self._paused:
            return
        self._paused = True
        self.engine.loop.remove_reader(self._fd)
        self.engine.loop.call_later(delay, self._resume)

    def _resume(self) -> None:
        if self.closed:
            return
        held = self._held
        if held is not None:
            if not self._make_room():
                self.engine.loop.call_later(STALL_GRACE / 4, self._resume)
                return
            self._held = None
            self._accepted(*held)
        if self._paused:
            self._paused = False
            self.engine.loop.add_reader(self._fd, self._on_acceptable)

    def _admit(self, conn: socket.socket) -> bool:
        """Enforce the connection limits of the policy before a session is made."""
        policy = self.engine.policy
        if len(self.sessions) >= policy.max_connections:
            self.engine.monitor(Event.ACCEPT_FAILED, Errno.EMFILE, self.endpoint)
            conn.close()
            return False
        return True

    def _make_room(self) -> bool:
        """Whether another handshake may start.  At the policy's cap, a handshake whose peer
        has sent nothing for a while (a silent or stalled attacker) is dropped to make room;
        if every handshake is making progress, the newcomer waits instead — so a burst of
        legitimate clients is never turned into a storm of evictions and retries."""
        if len(self.pending) < self.engine.policy.max_pending_handshakes:
            return True
        now = self.engine.loop.time()
        stalled = [s for s in self.pending if now - s.last_progress >= STALL_GRACE]
        if not stalled:
            return False
        victim = min(stalled, key=lambda s: s.last_progress)
        self.engine.monitor(Event.HANDSHAKE_FAILED_NO_DETAIL, Errno.ECONNABORTED, self.endpoint)
        victim.close()
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
        self.pending.add(session)
        session.on_ready = self._session_ready
        self.engine.monitor(Event.ACCEPTED, conn.fileno(), self.endpoint)
        session.start(conn)
        if session.ready:  # a STREAM connection has no handshake
            self.pending.discard(session)

    def _session_ready(self, session: Any) -> None:
        self.pending.discard(session)
        if self._held is not None:
            self._resume()

    def _session_closed(self, session: Session, failed_handshake: bool) -> None:
        self.engine.forget_zap_request(session)
        self.sessions.discard(session)
        self.pending.discard(session)
        if self._held is not None and not self.closed:
            self._resume()
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
        if self._held is not None:
            self._held[0].close()
            self._held = None
        self.sock.close()
        if self.endpoint.startswith("ipc://"):
            ipc.remove(self.endpoint, self._ipc_file)
        self.engine.monitor(Event.CLOSED, self._fd, self.endpoint)
