"""zmq_proxy, zmq_proxy_steerable and zmq_device (pyzmq's ``zmq.proxy`` and friends).

A proxy shuttles whole messages both ways between a frontend and a backend socket, copying
each one to an optional capture socket.  It runs in the caller's thread with the three (four)
sockets it is given, so those sockets must belong to that thread (sockets are not thread-safe).

How it differs from libzmq's proxy.cpp, on purpose:

- It never blocks on a send.  libzmq receives only when the destination polls writable and
  then sends blocking; here a message the destination cannot take now is held (at most one per
  direction) and the source is not read again until it is gone, so back-pressure still reaches
  the peers through the source socket's queues, and the control socket is always served.
- The capture socket is sent to with DONTWAIT: copies it cannot take now wait in a bounded
  backlog (CAPTURE_BACKLOG messages, CAPTURE_BACKLOG_BYTES octets) and go out when it can, so a
  capture reader that connects a moment late still gets them, while a slow or absent one loses
  copies beyond the backlog instead of stalling the traffic (libzmq blocks the whole proxy on
  a full capture socket).
- While paused it waits on the control socket alone instead of spinning on ready sockets.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Sequence
from typing import Any

from .constants import DeviceType, Errno, SocketType
from .error import Again, ZMQError
from .poll import POLLERR, POLLIN, POLLOUT, Poller
from .socket import DONTWAIT, Socket

#: Messages forwarded in one direction per turn before the other direction and the control
#: socket get their turn (libzmq forwards bursts of 1000; a Python hop costs ~10x more, so a
#: smaller burst keeps the other direction and PAUSE/TERMINATE within about a millisecond).
PROXY_BURST = 100

#: Copies the capture socket could not take yet, held for it (beyond either bound, copies are
#: dropped): a default HWM's worth, within the per-pipe memory budget of the default policy.
CAPTURE_BACKLOG = 1000
CAPTURE_BACKLOG_BYTES = 32 * 1024 * 1024

#: Control commands (zmq_proxy_steerable(3)).
PAUSE = b"PAUSE"
RESUME = b"RESUME"
TERMINATE = b"TERMINATE"
STATISTICS = b"STATISTICS"

#: Control socket types that cannot send: commands they carry get no reply.
_CANNOT_REPLY = frozenset({SocketType.SUB, SocketType.PULL})

#: STATISTICS frames are native-endian uint64, exactly what libzmq memcpy()s into each frame.
_UINT64 = struct.Struct("=Q")


class _Tally:
    """Frames and bytes through one side of one socket.  As in libzmq, "messages" in the
    STATISTICS reply are frames (zmq_msg_t): a 3-frame message counts 3."""

    __slots__ = ("bytes", "count")

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    def add(self, msg: Sequence[Any]) -> None:
        self.count += len(msg)
        self.bytes += sum(len(frame) for frame in msg)


class _Capture:
    """The capture socket and the copies it could not take yet (see CAPTURE_BACKLOG)."""

    __slots__ = ("backlog", "backlog_bytes", "socket")

    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.backlog: deque[list[Any]] = deque()
        self.backlog_bytes = 0

    def add(self, copy: list[Any]) -> None:
        if not self.backlog and self._send(copy):
            return
        size = sum(len(frame) for frame in copy)
        if (
            len(self.backlog) < CAPTURE_BACKLOG
            and self.backlog_bytes + size <= CAPTURE_BACKLOG_BYTES
        ):
            self.backlog.append(copy)
            self.backlog_bytes += size
        # else: the capture reader is slow or absent; it loses this copy, traffic goes on

    def flush(self) -> None:
        """Send held copies, in order, while the capture socket takes them."""
        backlog = self.backlog
        while backlog and self._send(backlog[0]):
            self.backlog_bytes -= sum(len(frame) for frame in backlog.popleft())

    def _send(self, copy: list[Any]) -> bool:
        try:
            self.socket.send_multipart(copy, DONTWAIT, copy=False)
        except Again:
            return False
        return True


class _Direction:
    """One way through the proxy: ``src`` -> ``dst`` with a copy to ``capture``."""

    __slots__ = (
        "capture",
        "capture_prefix",
        "dst",
        "pending",
        "received",
        "sent",
        "src",
        "swap_ids",
    )

    def __init__(
        self,
        src: Socket,
        dst: Socket,
        capture: _Capture | None,
        received: _Tally,
        sent: _Tally,
        capture_prefix: bytes | None = None,
        swap_ids: bool = False,
    ) -> None:
        self.src = src
        self.dst = dst
        self.capture = capture
        self.received = received
        self.sent = sent
        self.capture_prefix = capture_prefix
        self.swap_ids = swap_ids
        #: A received message ``dst`` could not take yet (held instead of blocking).
        self.pending: list[Any] | None = None

    def wanted(self) -> tuple[Socket, int]:
        """The socket and event this direction waits for next."""
        if self.pending is not None:
            return self.dst, POLLOUT
        return self.src, POLLIN

    def pump(self, limit: int) -> None:
        """Forward up to ``limit`` messages; stop early when ``src`` is empty or ``dst`` full."""
        if self.pending is not None:
            if not self._deliver(self.pending):
                return
            self.pending = None
        for _ in range(limit):
            try:
                msg = self.src.recv_multipart(DONTWAIT, copy=False)
            except Again:
                return
            self.received.add(msg)
            if self.swap_ids and len(msg) >= 2:
                # ROUTER to ROUTER (monitored_queue): the sender's id becomes the second frame
                # so the destination ROUTER routes on the id the sender addressed.
                msg[0], msg[1] = msg[1], msg[0]
            self._copy_to_capture(msg)
            if not self._deliver(msg):
                self.pending = msg
                return

    def _deliver(self, msg: list[Any]) -> bool:
        try:
            self.dst.send_multipart(msg, DONTWAIT, copy=False)
        except Again:
            return False
        self.sent.add(msg)
        return True

    def _copy_to_capture(self, msg: list[Any]) -> None:
        if self.capture is None:
            return
        self.capture.add(msg if self.capture_prefix is None else [self.capture_prefix, *msg])


class _Stats:
    __slots__ = ("back_in", "back_out", "front_in", "front_out")

    def __init__(self) -> None:
        self.front_in = _Tally()
        self.front_out = _Tally()
        self.back_in = _Tally()
        self.back_out = _Tally()

    def frames(self) -> list[bytes]:
        """The STATISTICS reply: frontend recv n/bytes, sent n/bytes, then the backend's."""
        tallies = (self.front_in, self.front_out, self.back_in, self.back_out)
        return [_UINT64.pack(v) for t in tallies for v in (t.count, t.bytes)]


def _directions(
    frontend: Socket,
    backend: Socket,
    capture: Socket | None,
    stats: _Stats,
    prefixes: tuple[bytes, bytes] | None = None,
    swap_ids: bool = False,
) -> list[_Direction]:
    in_prefix, out_prefix = prefixes if prefixes is not None else (None, None)
    copies = None if capture is None else _Capture(capture)
    forward = _Direction(
        frontend, backend, copies, stats.front_in, stats.back_out, in_prefix, swap_ids
    )
    if frontend is backend:
        # One socket both ways (e.g. a ROUTER echoing to itself): one direction covers it.
        return [forward]
    reply = _Direction(
        backend, frontend, copies, stats.back_in, stats.front_out, out_prefix, swap_ids
    )
    return [forward, reply]


def _reply(control: Socket, frames: list[bytes]) -> None:
    if control.socket_type in _CANNOT_REPLY:
        return
    try:
        # DONTWAIT: a control peer that went away must not hang the proxy; the reply is
        # only an acknowledgement.
        control.send_multipart(frames, DONTWAIT)
    except Again:
        pass


def _handle_control(control: Socket, stats: _Stats) -> bytes | None:
    """Read one command, answer it, and return it (None if nothing was there)."""
    try:
        msg = control.recv_multipart(DONTWAIT)
    except Again:
        return None
    command = msg[0] if len(msg) == 1 else b""
    if command == STATISTICS:
        _reply(control, stats.frames())
    else:
        # libzmq 4.3.5 replies to every other command, known or not, so a REP control socket
        # is always ready for the next request; we do the same.
        _reply(control, [b""])
    return command


def _run(
    directions: list[_Direction],
    control: Socket | None,
    stats: _Stats,
) -> int:
    """The proxy loop; returns 0 after TERMINATE, raises ContextTerminated on context term."""
    sockets: list[Socket] = []
    for d in directions:
        for sock in (d.src, d.dst):
            if sock not in sockets:
                sockets.append(sock)
    # A socket may name the Poller that waits for it (pyzmq's ``_poller_class``): a green
    # socket's waits block only the calling greenlet.
    poller: Poller = getattr(sockets[0], "_poller_class", Poller)()
    capture = directions[0].capture
    paused = False
    first = 0
    while True:
        wanted: dict[Socket, int] = {}
        for sock in sockets:
            # POLLERR never fires for a safezmq socket, but a registered socket is still
            # watched for context termination (ETERM), which must end even a paused proxy.
            wanted[sock] = POLLERR
        if not paused:
            for d in directions:
                sock, event = d.wanted()
                wanted[sock] |= event
        if control is not None:
            wanted[control] = wanted.get(control, 0) | POLLIN
        if capture is not None:
            held = POLLOUT if capture.backlog else 0
            wanted[capture.socket] = wanted.get(capture.socket, 0) | held
            if not wanted[capture.socket]:
                wanted.pop(capture.socket)
        for sock in [s for s, _ in poller.sockets if s not in wanted]:
            poller.unregister(sock)
        for sock, flags in wanted.items():
            poller.register(sock, flags)
        ready = dict(poller.poll())  # raises ContextTerminated when the context ends
        if capture is not None and ready.get(capture.socket, 0) & POLLOUT:
            capture.flush()
        if control is not None and ready.get(control, 0) & POLLIN:
            command = _handle_control(control, stats)
            # NOTE: libzmq 4.3.5's proxy.cpp gets these backwards: it tests
            # ``msiz == 5 && memcmp(command, "\x05PAUSE", 6)`` (non-zero, i.e. true, for
            # "PAUSE") and then sets the state to *active*, while RESUME sets *paused*.  libzmq
            # master fixed it; we do what zmq_proxy_steerable(3) documents, not the bug.
            if command == PAUSE:
                paused = True
            elif command == RESUME:
                paused = False
            elif command == TERMINATE:
                _flush_pending(directions)
                return 0
        # (A command never costs the data its turn: a busy control peer cannot starve it.)
        if paused:
            continue
        # Take turns at going first, so neither direction starves the other under load.
        order = directions[first:] + directions[:first]
        first = (first + 1) % len(directions)
        for d in order:
            sock, event = d.wanted()
            if ready.get(sock, 0) & event:
                d.pump(PROXY_BURST)


def _flush_pending(directions: list[_Direction]) -> None:
    """On TERMINATE, hand on held messages if their destination can take them now."""
    for d in directions:
        if d.pending is not None and d._deliver(d.pending):
            d.pending = None


def proxy_steerable(
    frontend: Socket,
    backend: Socket,
    capture: Socket | None = None,
    control: Socket | None = None,
) -> int:
    """Run a proxy between ``frontend`` and ``backend`` steered by ``control``.

    Commands on ``control`` (single-frame messages): ``PAUSE`` stops forwarding, ``RESUME``
    restarts it, ``TERMINATE`` makes this return 0, ``STATISTICS`` replies with 8 native
    uint64 frames (frontend frames/bytes received, frames/bytes sent, then the backend's).
    Every other command gets an empty reply (none if ``control`` cannot send, e.g. SUB).
    Raises ContextTerminated when the context is terminated.
    """
    stats = _Stats()
    return _run(_directions(frontend, backend, capture, stats), control, stats)


def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> int:
    """Forward messages both ways between ``frontend`` and ``backend`` until the context is
    terminated (then raise ContextTerminated), copying each one to ``capture`` if given."""
    return proxy_steerable(frontend, backend, capture, None)


def device(device_type: int, frontend: Socket, backend: Socket) -> int:
    """The deprecated zmq_device: QUEUE, FORWARDER and STREAMER all act as ``proxy``."""
    try:
        DeviceType(device_type)
    except ValueError:
        raise ZMQError(
            Errno.EINVAL,
            f"unknown device type {device_type!r}: use QUEUE, FORWARDER or STREAMER",
        ) from None
    return proxy(frontend, backend)


def _monitored_queue(
    in_socket: Socket,
    out_socket: Socket,
    mon_socket: Socket,
    in_prefix: bytes,
    out_prefix: bytes,
) -> int:
    """The loop behind devices.monitored_queue (here to share the proxy's machinery)."""
    swap_ids = (
        in_socket.socket_type == SocketType.ROUTER and out_socket.socket_type == SocketType.ROUTER
    )
    stats = _Stats()
    directions = _directions(
        in_socket, out_socket, mon_socket, stats, (in_prefix, out_prefix), swap_ids
    )
    return _run(directions, None, stats)


__all__ = ["PAUSE", "RESUME", "STATISTICS", "TERMINATE", "device", "proxy", "proxy_steerable"]
