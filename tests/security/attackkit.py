"""Tools of the attack suite (test_attacks.py).

- ``Server``: a safezmq socket served by a thread of its own (a ROUTER echoes every message, a
  PUB publishes a tick every few milliseconds and whatever a test asks), with its monitor read
  by another thread into an ``EventLog`` so that no event is dropped or missed, and a window on
  its sessions (run on the I/O loop) to read each connection's buffered bytes.
- ``LegitPeer`` / ``LegitSubscriber``: a libzmq (pyzmq) peer that keeps using that same socket
  in a thread during the whole attack; a test asks it to make progress while the attack holds
  its state, and checks at the end that no round trip ever starved.
- ``Raw``: an attacker on a plain TCP socket, with timeouts everywhere, that can tell whether
  the server closed the connection.
- ``MemoryProbe``: tracemalloc's peak and retained memory around an attack.
- ``predict``: what safezmq's sans-I/O protocol layer decides for a byte string, the oracle of
  the mutation tests (the engine must report exactly that).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import queue
import select
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import zmq

import safezmq
from safezmq.auth.thread import ThreadAuthenticator
from safezmq.constants import Event, SocketOption, SocketType
from safezmq.protocol import Connection, HandshakeComplete, ProtocolError, ZapRequestNeeded
from safezmq.protocol.commands import READY, command
from safezmq.protocol.frames import COMMAND, LONG, encode_command
from safezmq.protocol.greeting import GREETING_SIZE, build_greeting
from safezmq.protocol.metadata import encode_metadata
from safezmq.protocol.zap import reply_for
from safezmq.socket import NOBLOCK
from safezmq.utils.monitor import parse_monitor_message
from tests.protocol.curveforge import ForgedClient

#: Anything that should happen promptly; a test that waits longer fails (it never hangs).
PROMPT = 5.0
#: A legitimate round trip slower than this means the attack starved the legitimate peer.
STARVED = 5.0

KiB = 1024
MiB = 1024 * KiB

#: Credentials the servers are configured with.
SERVER_PUBLIC, SERVER_SECRET = safezmq.curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = safezmq.curve_keypair()
OTHER_PUBLIC, OTHER_SECRET = safezmq.curve_keypair()
USERNAME = "admin"
PASSWORD = "correct-horse-battery-staple"


# -- monitor events -------------------------------------------------------------------------------


class MonitorEvent(NamedTuple):
    event: int
    value: int
    endpoint: str


class EventLog:
    """Every monitor event of a socket, read by a thread as soon as it is emitted."""

    def __init__(self, monitor: Any) -> None:
        self._monitor = monitor
        self._events: list[MonitorEvent] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="attack-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        monitor = self._monitor
        try:
            while not self._stop.is_set():
                if not monitor.poll(20):
                    continue
                while True:
                    try:
                        msg = monitor.recv_multipart(NOBLOCK)
                    except safezmq.Again:
                        break
                    raw = parse_monitor_message(msg)
                    event = MonitorEvent(
                        int(raw["event"]), int(raw["value"]), raw["endpoint"].decode()
                    )
                    with self._cond:
                        self._events.append(event)
                        self._cond.notify_all()
        finally:
            monitor.close(linger=0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(PROMPT)

    def mark(self) -> int:
        """A position in the log: later calls can look only at what came after it."""
        with self._cond:
            return len(self._events)

    def since(self, mark: int = 0, event: int | None = None) -> list[MonitorEvent]:
        with self._cond:
            found = self._events[mark:]
        return [e for e in found if event is None or e.event == event]

    def wait(
        self,
        event: int,
        value: int | None = None,
        *,
        count: int = 1,
        since: int = 0,
        timeout: float = PROMPT,
    ) -> list[MonitorEvent]:
        """Wait until ``count`` events ``event`` (with ``value``, if given) came after ``since``;
        fail (listing what came) after ``timeout``."""
        deadline = time.monotonic() + timeout

        def matching() -> list[MonitorEvent]:
            return [
                e
                for e in self._events[since:]
                if e.event == event and (value is None or e.value == value)
            ]

        with self._cond:
            while True:
                found = matching()
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(describe(e.event), hex(e.value)) for e in self._events[since:]]
                    raise AssertionError(
                        f"expected {count} x {describe(event)}"
                        f"{'' if value is None else f' value={value:#x}'} within {timeout}s, "
                        f"got {len(found)}; events since the mark: {seen[-40:]}"
                    )
                self._cond.wait(min(left, 0.1))


def describe(event: int) -> str:
    try:
        return Event(event).name
    except ValueError:
        return hex(event)


# -- the server -----------------------------------------------------------------------------------


@dataclass
class SessionInfo:
    """One connection of the server, as its session sees it."""

    ready: bool
    buffered: int
    write_buffered: int


class Server:
    """A bound safezmq socket, served by a thread (see the module docstring)."""

    def __init__(
        self,
        kind: int,
        *,
        mechanism: str = "null",
        policy: safezmq.Policy | None = None,
        auth: bool = True,
        **options: Any,
    ) -> None:
        self.kind = kind
        self.mechanism = mechanism
        self.ctx = safezmq.Context(policy=policy)
        self.auth: ThreadAuthenticator | None = None
        if auth and mechanism in ("curve", "plain"):
            self.start_authenticator()
        sock = self.ctx.socket(kind)
        sock.linger = 0
        if mechanism == "curve":
            sock.curve_server = 1
            sock.curve_secretkey = SERVER_SECRET
            sock.curve_publickey = SERVER_PUBLIC
        elif mechanism == "plain":
            sock.plain_server = 1
        for name, value in options.items():
            setattr(sock, name, value)
        self.events = EventLog(sock.get_monitor_socket())
        sock.bind("tcp://127.0.0.1:*")
        self.sock = sock
        self.endpoint: str = sock.getsockopt_string(SocketOption.LAST_ENDPOINT)
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        #: Every message the socket received (ROUTER: routing id first), but the legitimate
        #: peer's (it checks its echoes itself; keeping them would be noise in memory figures).
        self.received: list[list[bytes]] = []
        #: Messages a PUB server is asked to publish.
        self._publish: queue.Queue[list[bytes]] = queue.Queue()
        self._stop = threading.Event()
        self.error: BaseException | None = None
        target = self._publisher if kind in (SocketType.PUB, SocketType.XPUB) else self._echo
        self._thread = threading.Thread(target=target, name="attack-server", daemon=True)
        self._thread.start()

    def start_authenticator(self) -> None:
        """A ZAP handler on the server's context: any CURVE client, PLAIN admin/PASSWORD."""
        auth = ThreadAuthenticator(self.ctx)
        auth.start()
        auth.configure_curve(domain="*", location=safezmq.auth.CURVE_ALLOW_ANY)
        auth.configure_plain(domain="*", passwords={USERNAME: PASSWORD})
        self.auth = auth

    # -- the serving thread -------------------------------------------------------------------

    def _echo(self) -> None:
        sock = self.sock
        try:
            while not self._stop.is_set():
                if not sock.poll(20):
                    continue
                for _ in range(1000):
                    try:
                        msg = sock.recv_multipart(NOBLOCK)
                    except safezmq.Again:
                        break
                    if msg[1:2] != [b"legit"]:  # the legitimate peer checks its own
                        self.received.append(msg)
                    with contextlib.suppress(safezmq.ZMQError):
                        sock.send_multipart(msg, NOBLOCK)
        except BaseException as exc:  # reported by close(): the socket must never raise
            self.error = exc
        finally:
            sock.close(linger=0)

    def _publisher(self) -> None:
        sock = self.sock
        seq = 0
        try:
            while not self._stop.is_set():
                seq += 1
                # Every send also runs the socket's mailbox: subscriptions are read here.
                sock.send_multipart([b"tick", b"%d" % seq])
                while True:
                    try:
                        msg = self._publish.get_nowait()
                    except queue.Empty:
                        break
                    sock.send_multipart(msg)
                time.sleep(0.005)
        except BaseException as exc:
            self.error = exc
        finally:
            sock.close(linger=0)

    def publish(self, *frames: bytes) -> None:
        self._publish.put(list(frames))

    def messages_containing(self, marker: bytes) -> list[list[bytes]]:
        return [m for m in list(self.received) if any(marker in bytes(f) for f in m)]

    # -- the I/O side -------------------------------------------------------------------------

    def on_loop(self, fn: Callable[[], Any]) -> Any:
        return self.ctx._runner().call(fn, timeout=PROMPT)

    def sessions(self) -> dict[tuple[str, int], SessionInfo]:
        """The live connections, by the peer's (host, port)."""

        def collect() -> dict[tuple[str, int], SessionInfo]:
            found: dict[tuple[str, int], SessionInfo] = {}
            engine = self.sock._engine
            for listener in engine.listeners.values():
                for session in list(listener.sessions):
                    stream = session.stream
                    if session.closed or stream is None or stream.closed:
                        continue
                    try:
                        peer = stream.sock.getpeername()
                    except OSError:
                        continue
                    conn = session.conn
                    found[(peer[0], peer[1])] = SessionInfo(
                        session.ready,
                        conn.buffered if conn is not None else 0,
                        stream.write_buffer_size,
                    )
            return found

        result: dict[tuple[str, int], SessionInfo] = self.on_loop(collect)
        return result

    def session_count(self) -> int:
        return len(self.sessions())

    def wait_sessions(self, count: int, timeout: float = PROMPT) -> None:
        """Wait until exactly ``count`` connections are alive."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.session_count()
            if got == count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} live connections, the server has {got}")
            time.sleep(0.02)

    # -- end ----------------------------------------------------------------------------------

    def close(self) -> None:
        self._stop.set()
        self._thread.join(PROMPT)
        self.events.stop()
        if self.auth is not None:
            self.auth.stop()
        self.ctx.destroy(linger=0)
        if self.error is not None:
            raise AssertionError(f"the server's socket raised {self.error!r}") from self.error


# -- the legitimate peer --------------------------------------------------------------------------


def client_options(mechanism: str) -> dict[str, Any]:
    """pyzmq options of a client of a ``mechanism`` server with the right credentials."""
    if mechanism == "curve":
        return {
            "curve_serverkey": SERVER_PUBLIC,
            "curve_publickey": CLIENT_PUBLIC,
            "curve_secretkey": CLIENT_SECRET,
        }
    if mechanism == "plain":
        return {"plain_username": USERNAME.encode(), "plain_password": PASSWORD.encode()}
    return {}


class _Peer:
    """A pyzmq socket used by a thread of its own; counts successes, records failures."""

    def __init__(self, name: str) -> None:
        self.ok = 0
        self.worst = 0.0  # the slowest round trip (or gap between ticks), in seconds
        self.failures: list[str] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._active = threading.Event()  # cleared: the peer pauses between round trips
        self._active.set()
        self._thread = threading.Thread(target=self._guarded, name=name, daemon=True)

    def _guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        raise NotImplementedError

    def _success(self, latency: float) -> None:
        with self._cond:
            self.ok += 1
            self.worst = max(self.worst, latency)
            self._cond.notify_all()

    def pause(self) -> None:
        """Stop making round trips (a shared peer, between the tests that use it)."""
        self._active.clear()

    def resume(self) -> None:
        self._active.set()

    def served(self, n: int = 3, timeout: float = 2 * STARVED) -> None:
        """Wait until the peer is served ``n`` more times (fails if it is starved)."""
        with self._cond:
            target = self.ok + n
            deadline = time.monotonic() + timeout
            while self.ok < target:
                left = deadline - time.monotonic()
                if left <= 0 or self.failures:
                    raise AssertionError(
                        f"the legitimate peer was not served: {self.ok} of {target} "
                        f"round trips, failures {self.failures}"
                    )
                self._cond.wait(min(left, 0.1))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(STARVED + PROMPT)
        assert not self._thread.is_alive(), "the legitimate peer's thread hung"

    def check(self) -> None:
        """Served at least once, never failed, never starved."""
        assert self.failures == [], f"the legitimate peer failed: {self.failures}"
        assert self.ok > 0, "the legitimate peer was never served"
        assert self.worst < STARVED, f"worst round trip {self.worst:.2f}s"


class LegitPeer(_Peer):
    """A libzmq DEALER that keeps asking the safezmq ROUTER for echoes."""

    def __init__(self, zctx: zmq.Context[Any], endpoint: str, mechanism: str = "null") -> None:
        super().__init__("legit-dealer")
        sock = zctx.socket(zmq.DEALER)
        sock.linger = 0
        for name, value in client_options(mechanism).items():
            setattr(sock, name, value)
        sock.connect(endpoint)
        self._sock = sock
        self._thread.start()

    def _run(self) -> None:
        sock = self._sock
        seq = 0
        try:
            while not self._stop.is_set():
                if not self._active.wait(0.05):
                    continue
                seq += 1
                request = [b"legit", b"%d" % seq]
                started = time.monotonic()
                sock.send_multipart(request)
                # Wait for the echo (the first may include the handshake).
                while not sock.poll(50):
                    if time.monotonic() - started > STARVED:
                        self.failures.append(f"round trip {seq} took more than {STARVED}s")
                        return
                    if self._stop.is_set():
                        return
                reply = sock.recv_multipart()
                if reply != request:
                    self.failures.append(f"round trip {seq}: got {reply!r}")
                    return
                self._success(time.monotonic() - started)
                self._stop.wait(0.003)
        finally:
            sock.close(linger=0)


class LegitSubscriber(_Peer):
    """A libzmq SUB that counts the ticks a safezmq PUB publishes."""

    def __init__(self, zctx: zmq.Context[Any], endpoint: str, mechanism: str = "null") -> None:
        super().__init__("legit-sub")
        sock = zctx.socket(zmq.SUB)
        sock.linger = 0
        for name, value in client_options(mechanism).items():
            setattr(sock, name, value)
        sock.setsockopt(zmq.SUBSCRIBE, b"tick")
        sock.connect(endpoint)
        self._sock = sock
        self._thread.start()

    def _run(self) -> None:
        sock = self._sock
        last = time.monotonic()
        first = True
        try:
            while not self._stop.is_set():
                if not sock.poll(50):
                    # Before the first tick the connection and subscription are being made.
                    if not first and time.monotonic() - last > STARVED:
                        self.failures.append(f"no tick for more than {STARVED}s")
                        return
                    continue
                msg = sock.recv_multipart()
                if msg[0] != b"tick":
                    self.failures.append(f"unexpected message {msg!r}")
                    return
                now = time.monotonic()
                self._success(now - last)
                last, first = now, False
        finally:
            sock.close(linger=0)


# -- the attacker ---------------------------------------------------------------------------------


class Raw:
    """An attacker's TCP connection (the Python ``socket`` module, timeouts everywhere)."""

    def __init__(self, port: int, timeout: float = PROMPT, rcvbuf: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect, so that the TCP window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(("127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.address: tuple[str, int] = self.sock.getsockname()[:2]
        self.sent = 0
        self.received = bytearray()
        self.eof = False
        self._pos = 0  # how much of ``received`` the frame reader has consumed

    def send(self, data: bytes, timeout: float = PROMPT) -> bool:
        """Send ``data``; False if the server closed the connection first (not an error: a
        server may cut an attacker at any point)."""
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return False
        self.sent += len(data)
        return True

    def _recv(self, timeout: float) -> bool:
        """Read what is there; False on timeout.  Sets ``eof`` on close or reset."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(256 * KiB)
        except TimeoutError:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
        self.received += data
        return True

    def closed_by_server(self, timeout: float = PROMPT) -> bytes:
        """Read until the server closes (FIN or RST); fail if it does not within ``timeout``.
        Returns everything the server sent."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0 or not self._recv(left):
                raise AssertionError(
                    f"the server did not close the attacking connection within {timeout}s "
                    f"(it sent {len(self.received)} octets)"
                )
        return bytes(self.received)

    def is_open(self, wait: float = 0.0) -> bool:
        """Whether the server has not closed the connection (reading what it sent)."""
        while not self.eof:
            readable, _, _ = select.select([self.sock], [], [], wait)
            if not readable:
                return True
            self._recv(PROMPT)
            wait = 0.0
        return False

    def read_exactly(self, n: int, timeout: float = PROMPT) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.received) - self._pos < n:
            left = deadline - time.monotonic()
            if self.eof:
                raise AssertionError(f"the server closed the connection; got {self.received!r}")
            if left <= 0 or not self._recv(left):
                raise AssertionError(f"timed out waiting for {n} octets from the server")
        data = bytes(self.received[self._pos : self._pos + n])
        self._pos += n
        return data

    def read_greeting(self) -> bytes:
        greeting = self.read_exactly(GREETING_SIZE)
        assert greeting[:1] == b"\xff" and greeting[9:10] == b"\x7f", greeting
        return greeting

    def read_frame(self, timeout: float = PROMPT) -> tuple[int, bytes]:
        flags = self.read_exactly(1, timeout)[0]
        if flags & LONG:
            size = int.from_bytes(self.read_exactly(8, timeout), "big")
        else:
            size = self.read_exactly(1, timeout)[0]
        return flags, self.read_exactly(size, timeout)

    def close(self, reset: bool = False) -> None:
        if reset:  # SO_LINGER 0: the kernel sends RST instead of FIN
            with contextlib.suppress(OSError):
                self.sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
        self.sock.close()


def null_greeting_and_ready(socket_type: bytes = b"DEALER", **props: bytes) -> bytes:
    return build_greeting(b"NULL", False) + encode_command(
        command(READY, encode_metadata({"Socket-Type": socket_type, **props}))
    )


def null_handshake(port: int, socket_type: bytes = b"DEALER", rcvbuf: int = 0) -> Raw:
    """A raw connection that completed a NULL handshake (the server's READY is read)."""
    raw = Raw(port, rcvbuf=rcvbuf)
    raw.send(null_greeting_and_ready(socket_type))
    raw.read_greeting()
    flags, body = raw.read_frame()
    assert flags & COMMAND and body.startswith(b"\x05READY"), (flags, body)
    return raw


def curve_handshake(port: int) -> tuple[Raw, ForgedClient]:
    """A raw connection that completed a CURVE handshake, through the RFC-only forger."""
    raw = Raw(port)
    client = ForgedClient(SERVER_PUBLIC, CLIENT_SECRET)
    raw.send(build_greeting(b"CURVE", False) + encode_command(client.hello()))
    raw.read_greeting()
    _, welcome = raw.read_frame()
    client.welcome(welcome)
    raw.send(encode_command(client.initiate()))
    _, ready = raw.read_frame()
    client.ready(ready)
    return raw, client


def commands_in(data: bytes) -> list[bytes]:
    """The bodies of the (unencrypted) command frames the server sent, greeting skipped."""
    pos = GREETING_SIZE if data[:1] == b"\xff" else 0
    found: list[bytes] = []
    while pos + 2 <= len(data):
        flags = data[pos]
        if flags & LONG:
            if pos + 9 > len(data):
                break
            size = int.from_bytes(data[pos + 1 : pos + 9], "big")
            start = pos + 9
        else:
            size = data[pos + 1]
            start = pos + 2
        if start + size > len(data):
            break
        if flags & COMMAND:
            found.append(data[start : start + size])
        pos = start + size
    return found


# -- memory ---------------------------------------------------------------------------------------


class MemoryProbe:
    """tracemalloc around an attack: ``peak`` is the most Python memory held above the
    baseline at any moment, ``retained`` what is still held at the end.  Build the attack's
    payloads *before* entering, so that only what the process does with them is measured."""

    def __init__(self) -> None:
        self.peak = 0
        self.retained = 0
        self._base = 0
        self._started = False

    def __enter__(self) -> MemoryProbe:
        gc.collect()
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started = True
        self._base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        return self

    def now(self) -> int:
        """Memory held now, above the baseline."""
        return tracemalloc.get_traced_memory()[0] - self._base

    def __exit__(self, *exc: object) -> None:
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        self.peak = peak - self._base
        self.retained = current - self._base
        if self._started:
            tracemalloc.stop()

    def __repr__(self) -> str:
        return f"<memory peak {self.peak / KiB:.0f} KiB, retained {self.retained / KiB:.0f} KiB>"


class RssProbe:
    """The process's resident memory, sampled every few milliseconds by a thread, around an
    attack: ``peak`` is the largest growth above the start.  For the attacks whose Python work
    tracemalloc would slow several times over; it also counts what C code allocates."""

    _PAGE = os.sysconf("SC_PAGE_SIZE")

    def __init__(self, interval: float = 0.002) -> None:
        self.peak = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-probe", daemon=True)
        self._base = 0

    @classmethod
    def rss(cls) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * cls._PAGE

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss() - self._base)
            self._stop.wait(self._interval)

    def __enter__(self) -> RssProbe:
        gc.collect()
        self._base = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(PROMPT)
        self.peak = max(self.peak, self.rss() - self._base)

    def __repr__(self) -> str:
        return f"<resident memory peak +{self.peak / KiB:.0f} KiB>"


#: Every figure a test measured, printed at the end of the run (see conftest-free reporting in
#: test_attacks.py) for the report.
FIGURES: dict[str, str] = collections.OrderedDict()


def record(name: str, probe: MemoryProbe, **extra: object) -> None:
    parts = [f"peak {probe.peak / KiB:,.0f} KiB", f"retained {probe.retained / KiB:,.0f} KiB"]
    parts += [f"{k} {v}" for k, v in extra.items()]
    FIGURES[name] = ", ".join(parts)


# -- the oracle -----------------------------------------------------------------------------------


@dataclass
class Prediction:
    """What the protocol layer does with a byte string sent by a client."""

    #: "failed-handshake", "failed-traffic", "complete" or "incomplete".
    outcome: str
    code: int | None = None
    auth_status: int | None = None
    messages: list[list[bytes]] = field(default_factory=list)


def predict(make: Callable[[], Connection], data: bytes, step: int = 0) -> Prediction:
    """Feed ``data`` to a fresh server-side Connection (all at once, or ``step`` octets at a
    time); ZAP requests are accepted at once."""
    conn = make()
    complete = False
    messages: list[list[bytes]] = []
    chunks = [data[i : i + step] for i in range(0, len(data), step)] if step else [data]
    try:
        for chunk in chunks:
            events = conn.receive_data(chunk)
            while events:
                follow: list[object] = []
                for event in events:
                    if isinstance(event, HandshakeComplete):
                        complete = True
                    elif isinstance(event, ZapRequestNeeded):
                        follow += conn.zap_reply(reply_for(event.request, 200, b"OK", b"user"))
                    elif isinstance(event, list):
                        messages.append([bytes(f) for f in event])
                events = follow
    except ProtocolError as exc:
        if complete:
            return Prediction("failed-traffic", int(exc.code), exc.auth_status, messages)
        return Prediction("failed-handshake", int(exc.code), exc.auth_status, messages)
    return Prediction("complete" if complete else "incomplete", None, None, messages)


@contextlib.contextmanager
def all_closed(raws: list[Raw]) -> Iterator[list[Raw]]:
    """Close every attacking socket, whatever happens (file descriptors are finite)."""
    try:
        yield raws
    finally:
        for raw in raws:
            raw.close()
