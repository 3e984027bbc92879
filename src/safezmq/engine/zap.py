"""The ZAP client: how sessions ask the context's authentication handler (RFC 27).

The handler is whatever socket the application bound at ``inproc://zeromq.zap.01`` (a REP or a
ROUTER, e.g. ``safezmq.auth``'s authenticator).  The client lives on the I/O loop and talks to
it over one inproc pipe, as a DEALER that writes the envelope delimiter itself.  Requests from
many sessions share the pipe; each gets its own request id on the wire, mapped back when the
reply comes.  Fail closed: no handler, a handler that goes away, or too many requests waiting
all refuse the client; a refusal for want of a handler is also logged (once per socket and
endpoint), so that it is not silent.

The client also keeps the register of sessions ZAP admitted (``Admission``: domain, mechanism,
User-Id and, for CURVE, the client's public key), so that an authenticator that stops allowing
a key can close the live connections admitted with it (``revoke``).  The register lives here and
in the sessions only: it is never logged.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..constants import SocketOption, SocketType
from ..options import Options
from ..protocol import z85
from ..protocol.zap import ZAP_ENDPOINT, ZapRequest
from .iothread import LoopRunner
from .pipe import Pipe

if TYPE_CHECKING:
    from ..context import Context
    from .session import Session

ZAP_NAME = ZAP_ENDPOINT[len("inproc://") :]
#: Requests waiting for the handler at once; beyond it new clients are refused (status 300):
#: a flood of handshakes must not queue without bound behind a slow handler.
MAX_PENDING = 1000

Callback = Callable[..., None]
#: The reason a client is refused when the context has no ZAP handler.
NO_HANDLER = b"no ZAP handler"

log = logging.getLogger("safezmq")


@dataclass(frozen=True)
class Admission:
    """What ZAP admitted a live session with.  ``key`` is the CURVE client's public key (raw
    32 bytes; None for NULL and PLAIN).  Public keys are not secret: the repr shows it in Z85."""

    domain: str
    mechanism: str
    user_id: bytes
    key: bytes | None

    def __repr__(self) -> str:
        key = "" if self.key is None else f" key={z85.encode(self.key).decode()}"
        return f"<Admission {self.mechanism} domain={self.domain!r}{key}>"


# -- the refusal that must not be silent ------------------------------------------------------

_warned: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_warned_lock = threading.Lock()


def warn_no_handler(engine: Any, endpoint: str, mechanism: bytes) -> None:
    """Log, once per socket (``engine``) and endpoint, that a client was refused because no ZAP
    handler runs: failing closed is right, failing silently is not."""
    with _warned_lock:
        seen = _warned.setdefault(engine, set())
        if endpoint in seen:
            return
        seen.add(endpoint)
    name = mechanism.decode("ascii", "replace")
    if mechanism == b"CURVE":
        fix = (
            "start an authenticator in this context (safezmq.auth.thread.ThreadAuthenticator"
            "(ctx).start(), then configure_curve() with the allowed client keys), or, to accept "
            "any client key as libzmq does, use the compatible policy (Policy.compatible() or "
            "SAFEZMQ_POLICY=compatible)"
        )
    elif mechanism == b"PLAIN":
        fix = (
            "start an authenticator in this context (safezmq.auth.thread.ThreadAuthenticator"
            "(ctx).start(), then configure_plain() with the user names and passwords); PLAIN "
            "is never accepted without one"
        )
    else:
        fix = (
            "start an authenticator in this context (safezmq.auth.thread.ThreadAuthenticator"
            "(ctx).start()), or unset ZAP_ENFORCE_DOMAIN"
        )
    log.warning(
        "refused a %s client on %s: no ZAP handler runs in this context, so safezmq fails "
        "closed and refuses every %s client (each sees an authentication failure, ERROR 500, "
        "and may keep retrying). Fix: %s. This is logged once per socket and endpoint.",
        name,
        endpoint,
        name,
        fix,
    )


class _LoopMailbox:
    """What an inproc peer posts to: here, the I/O loop."""

    def __init__(self, runner: LoopRunner) -> None:
        self._runner = runner

    def post(self, fn: Callable[[Any], None], arg: Any) -> None:
        self._runner.post(fn, arg)


class ZapClient:
    """Sends ZAP requests for every session of a context (see the module docstring)."""

    socket_type = SocketType.DEALER
    socket_type_name = b"DEALER"

    def __init__(self, context: Context, runner: LoopRunner) -> None:
        self.context = context
        self.runner = runner
        self.mailbox = _LoopMailbox(runner)
        self.options = Options(SocketType.DEALER)
        self.options.set(SocketOption.SNDHWM, MAX_PENDING)
        self.options.set(SocketOption.RCVHWM, MAX_PENDING)
        self._closed = False
        self._pipe: Pipe | None = None
        self._pending: dict[bytes, tuple[Callback, bytes]] = {}
        self._ids = itertools.count(1)
        #: Live sessions ZAP admitted, and with what (see revoke()).  Sessions come and go on
        #: the I/O loop; authenticators read and revoke from their own threads: hence the lock.
        self._admitted: dict[Session, Admission] = {}
        self._admitted_lock = threading.Lock()

    # -- the register of admitted sessions ----------------------------------------------------

    def admit(self, session: Session, admission: Admission) -> None:
        """A session's handshake completed after ZAP said yes (on the I/O loop)."""
        with self._admitted_lock:
            self._admitted[session] = admission

    def forget(self, session: Session) -> None:
        """A session ended (on the I/O loop)."""
        with self._admitted_lock:
            self._admitted.pop(session, None)

    def admissions(self) -> list[Admission]:
        """What every live admitted session was admitted with (one entry per distinct
        admission; from any thread)."""
        with self._admitted_lock:
            return list(dict.fromkeys(self._admitted.values()))

    def revoke(self, revoked: Callable[[Admission], bool]) -> int:
        """Close every live session whose admission ``revoked`` says is no longer allowed
        (from any thread: each closes on its own loop).  Returns how many were told to."""
        with self._admitted_lock:
            doomed = [s for s, admission in self._admitted.items() if revoked(admission)]
        for session in doomed:
            session.engine.runner.post(session.revoke)
        return len(doomed)

    # -- requests (on the I/O loop) -----------------------------------------------------------

    def request(self, request: ZapRequest, callback: Callback, enforce: bool = False) -> None:
        pipe = self._connect()
        if pipe is None:
            policy = self.context.policy
            if request.mechanism != b"PLAIN" and not policy.require_zap and not enforce:
                # Relaxed policy: like libzmq, no handler means nobody to say no.
                callback([b"", b"1.0", request.request_id, b"200", b"", b"", b""])
            else:
                callback(None, 500, NO_HANDLER)
            return
        if len(self._pending) >= MAX_PENDING or not pipe.check_write():
            callback(None, 300, b"ZAP handler overloaded")
            return
        wire_id = b"%d" % next(self._ids)
        self._pending[wire_id] = (callback, request.request_id)
        sent = ZapRequest(
            wire_id,
            request.domain,
            request.address,
            request.identity,
            request.mechanism,
            request.credentials,
        )
        pipe.write(sent.to_frames(delimiter=True))

    def cancel(self, callback: Callback) -> None:
        """Forget the requests of a session that went away."""
        for wire_id, (cb, _) in list(self._pending.items()):
            if cb == callback:
                del self._pending[wire_id]

    def _connect(self) -> Pipe | None:
        if self._pipe is not None and not self._pipe.terminated:
            return self._pipe
        self._pipe = None
        if not self.context._inproc.is_bound(ZAP_NAME):
            return None
        try:
            self.context._inproc.connect(ZAP_NAME, self)  # type: ignore[arg-type]
        except Exception:
            return None
        return self._pipe

    # -- what the inproc peer calls (through our mailbox, on the loop) ------------------------

    def _attach_pipe(self, pipe: Pipe) -> None:
        self._pipe = pipe

    def _pipe_ready(self, pipe: Pipe) -> None:
        pass

    def _write_activated(self, pipe: Pipe) -> None:
        pass

    def _read_activated(self, pipe: Pipe) -> None:
        while True:
            msg = pipe.read()
            if msg is None:
                break
            frames = [bytes(f) for f in msg]
            if len(frames) < 3:
                continue  # cannot tell whose reply: that session's handshake deadline ends it
            entry = self._pending.pop(frames[2], None)
            if entry is None:
                continue
            callback, original_id = entry
            frames[2] = original_id
            callback(frames)
        if pipe.terminated:
            self._pipe_terminated(pipe)

    def _pipe_terminated(self, pipe: Pipe) -> None:
        if pipe is not self._pipe:
            return
        self._pipe = None
        pending, self._pending = self._pending, {}
        for callback, _ in pending.values():
            callback(None, 500, b"ZAP handler went away")
