"""The ZAP client: how sessions ask the context's authentication handler (RFC 27).

The handler is whatever socket the application bound at ``inproc://zeromq.zap.01`` (a REP or a
ROUTER, e.g. ``safezmq.auth``'s authenticator).  The client lives on the I/O loop and talks to
it over one inproc pipe, as a DEALER that writes the envelope delimiter itself.  Requests from
many sessions share the pipe; each gets its own request id on the wire, mapped back when the
reply comes.  Fail closed: no handler, a handler that goes away, or too many requests waiting
all refuse the client.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..constants import SocketOption, SocketType
from ..options import Options
from ..protocol.zap import ZAP_ENDPOINT, ZapRequest
from .iothread import LoopRunner
from .pipe import Pipe

if TYPE_CHECKING:
    from ..context import Context

ZAP_NAME = ZAP_ENDPOINT[len("inproc://") :]
#: Requests waiting for the handler at once; beyond it new clients are refused (status 300):
#: a flood of handshakes must not queue without bound behind a slow handler.
MAX_PENDING = 1000

Callback = Callable[..., None]


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

    # -- requests (on the I/O loop) -----------------------------------------------------------

    def request(self, request: ZapRequest, callback: Callback, enforce: bool = False) -> None:
        pipe = self._connect()
        if pipe is None:
            policy = self.context.policy
            if request.mechanism != b"PLAIN" and not policy.require_zap and not enforce:
                # Relaxed policy: like libzmq, no handler means nobody to say no.
                callback([b"", b"1.0", request.request_id, b"200", b"", b"", b""])
            else:
                callback(None, 500, b"no ZAP handler")
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
