"""A pgm:// or epgm:// endpoint: PGM multicast between a socket's pipe and the network.

There is no connection and no handshake: ``bind`` and ``connect`` both join the group (as in
libzmq).  A PUB or XPUB socket gets a *sending* session: it reads the socket's pipe, frames the
messages as libzmq does (``safezmq.pgm.framing``), numbers and paces them
(``safezmq.pgm.source``) and answers NAKs with repairs.  A SUB or XSUB socket gets a *receiving*
session: it reorders, repairs and decodes what every source of the group sends
(``safezmq.pgm.receiver``) and writes whole messages to the socket's pipe.  Subscriptions do not
travel (PGM has no upstream channel): the publisher sends everything and SUB filters, like
libzmq; what the subscriber writes to its pipe is read and dropped here.

Links: ``epgm`` is PGM in UDP datagrams, on the endpoint's port both for the group and for the
unicast NAKs (libzmq's PGM_UDP_ENCAP_UCAST_PORT = PGM_UDP_ENCAP_MCAST_PORT = port); ``pgm`` is
PGM directly over IP (protocol 113) through raw sockets, which need CAP_NET_RAW (root).

A sending socket is bound to the interface's address and the port, so unicast NAKs to it are
not taken by a receiving socket of this host on the same port (receiving sockets are bound to
the group address and only see the group's traffic).  Both set IP_MULTICAST_ALL to 0: a socket
sees only the groups it joined itself.
"""

from __future__ import annotations

import asyncio
import errno as _errno
import ipaddress
import os
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..constants import Errno, Event, Limit, SocketOption
from ..error import ZMQError
from ..options import Options
from ..pgm.framing import ApduEncoder
from ..pgm.packet import (
    DATA_HEADER_SIZE,
    NAK,
    NCF,
    Nak,
    PgmError,
    Spmr,
    parse_ip,
    parse_packet,
)
from ..pgm.receiver import Loss, Receiver
from ..pgm.source import Source
from ..transport.tcp import interface_address
from .pipe import Pipe, TrackedMessage, message_size, release

if TYPE_CHECKING:
    from ..transport.endpoint import Endpoint
    from .socket_engine import SocketEngine

#: For tests: when set, called with ("in" | "out", packet) for every PGM packet this process
#: receives or sends; returning False drops the packet (a lossy network on demand).
PACKET_FILTER: Callable[[str, bytes], bool] | None = None

#: Datagrams read per readiness callback, and packets sent per turn, before yielding the loop.
READ_BATCH = 256
SEND_BATCH = 256
#: A receiver's default kernel buffer: this many seconds at RATE, at most MAX_DEFAULT_RCVBUF.
RCVBUF_SECONDS = 1
MAX_DEFAULT_RCVBUF = 16 * 1024 * 1024
#: IP and UDP header octets OpenPGM counts against RATE (IPv4: 20, UDP: 8).
UDP_OVERHEAD = 28
RAW_OVERHEAD = 20
IPPROTO_PGM = 113
_IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)
#: Socket types and their role.
SENDERS = (b"PUB", b"XPUB")
RECEIVERS = (b"SUB", b"XSUB")


def window_sqns(options: Options) -> int:
    """libzmq's compute_sqns: RATE (kbit/s) x RECOVERY_IVL (ms) in packets of MAXTPDU."""
    rate: int = options[SocketOption.RATE] // 8  # octets per millisecond
    size: int = options[SocketOption.RECOVERY_IVL] * rate
    tpdu: int = options[SocketOption.MULTICAST_MAXTPDU]
    return max(1, size // tpdu)


def max_tsdu(options: Options, overhead: int) -> int:
    """Octets of payload in one packet of MULTICAST_MAXTPDU (OpenPGM's PGM_MSS)."""
    tpdu: int = options[SocketOption.MULTICAST_MAXTPDU]
    return tpdu - overhead - DATA_HEADER_SIZE


def resolve_interface(endpoint: Endpoint) -> str:
    """The IPv4 address the endpoint's interface part names (an address, a name, or nothing:
    the address the routing table uses toward the group)."""
    interface = endpoint.address
    if not interface:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect((endpoint.group, endpoint.port))
            return str(probe.getsockname()[0])
        except OSError as exc:
            raise ZMQError(
                Errno.ENODEV, f"cannot join {endpoint}: no route toward the group ({exc.strerror})"
            ) from None
        finally:
            probe.close()
    try:
        return str(ipaddress.IPv4Address(interface))
    except ValueError:
        pass
    address = interface_address(interface)
    if address is None:
        raise ZMQError(
            Errno.ENODEV,
            f"cannot join {endpoint}: {interface!r} is neither an IPv4 address nor a network "
            "interface of this machine with an IPv4 address",
        )
    return address


def _os_error(endpoint: Endpoint, what: str, exc: OSError) -> ZMQError:
    code = exc.errno or Errno.EINVAL
    if code in (_errno.EPERM, _errno.EACCES) and endpoint.transport == "pgm":
        return ZMQError(
            Errno.EACCES,
            f"cannot join {endpoint}: {what}: pgm:// sends raw IP packets, which needs root "
            "(CAP_NET_RAW); epgm:// (PGM over UDP) does not",
        )
    return ZMQError(code, f"cannot join {endpoint}: {what}: {exc.strerror or exc}")


class _Link:
    """The sockets of one session: ``rx`` is read, ``tx`` sends (they may be one socket)."""

    def __init__(self, endpoint: Endpoint, options: Options, sender: bool) -> None:
        self.endpoint = endpoint
        self.raw = endpoint.transport == "pgm"
        self.group = endpoint.group
        self.port = endpoint.port
        self.interface = resolve_interface(endpoint)
        self.overhead = RAW_OVERHEAD if self.raw else UDP_OVERHEAD
        self._sockets: list[socket.socket] = []
        try:
            self._open(options, sender)
        except OSError as exc:
            self.close()
            raise _os_error(endpoint, "opening its socket", exc) from None
        except BaseException:
            self.close()
            raise

    def _socket(self) -> socket.socket:
        if self.raw:
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_PGM)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sockets.append(sock)
        sock.setblocking(False)
        return sock

    def _open(self, options: Options, sender: bool) -> None:
        group, interface = self.group, self.interface
        rx = self._socket()
        rx.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
        rcvbuf = options[SocketOption.RCVBUF]
        if rcvbuf < 0 and not sender:
            # Unlike libzmq (which keeps the system default), a receiver asks for room for
            # RCVBUF_SECONDS at RATE: a burst from a source must not overflow the kernel's
            # buffer while the Python side catches up (the kernel caps it at rmem_max).
            rate = options[SocketOption.RATE] * 1000 // 8
            rcvbuf = min(max(rate * RCVBUF_SECONDS, 0), MAX_DEFAULT_RCVBUF)
            if rcvbuf <= rx.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF):
                rcvbuf = -1
        if rcvbuf >= 0:
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if not self.raw:
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            # A sender takes the unicast NAKs sent to its interface (and port); a receiver only
            # the group's packets (see the module docstring).
            rx.bind((interface if sender else group, 0 if self.raw else self.port))
        except OSError as exc:
            raise _os_error(self.endpoint, "binding its address", exc) from None
        if not sender:
            membership = struct.pack(
                "4s4si", socket.inet_aton(group), socket.inet_aton(interface), 0
            )
            try:
                rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            except OSError as exc:
                raise _os_error(self.endpoint, "joining the group", exc) from None
            tx = self._socket()  # NAKs and SPM requests: unicast, from any port
        else:
            tx = rx
        if options[SocketOption.SNDBUF] >= 0:
            tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, options[SocketOption.SNDBUF])
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        tx.setsockopt(
            socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, options[SocketOption.MULTICAST_HOPS]
        )
        tx.setsockopt(
            socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, options[SocketOption.MULTICAST_LOOP]
        )
        self.rx, self.tx = rx, tx

    def send(self, packet: bytes, address: str) -> bool:
        """Send one PGM packet to ``address``; False if the kernel has no room now."""
        hook = PACKET_FILTER
        if hook is not None and not hook("out", packet):
            return True
        try:
            self.tx.sendto(packet, (address, 0 if self.raw else self.port))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno == _errno.ENOBUFS:
                return False
            # Unreachable or refused (a unicast NAK to a vanished source): as OpenPGM, go on.
        return True

    def receive(self) -> list[tuple[bytes, str]]:
        """(PGM packet, source address) of what is waiting, up to READ_BATCH."""
        got: list[tuple[bytes, str]] = []
        rx = self.rx
        hook = PACKET_FILTER
        for _ in range(READ_BATCH):
            try:
                data, address = rx.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # e.g. ICMP errors reported on the socket: nothing to read
            source = address[0]
            if self.raw:
                try:
                    source, _destination, data = parse_ip(data)
                except PgmError:
                    continue
            if hook is not None and not hook("in", data):
                continue
            got.append((data, source))
        return got

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []


class PgmSession:
    """One pgm/epgm endpoint of a socket.  See the module docstring."""

    def __init__(self, engine: SocketEngine, endpoint: Endpoint, text: str, options: Options):
        self.engine = engine
        self.loop: asyncio.AbstractEventLoop = engine.loop
        self.endpoint = endpoint
        self.text = text
        self.options = options
        kind = engine.socket.socket_type_name
        self.sending = kind in SENDERS
        self.link = _Link(endpoint, options, self.sending)
        self.closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._pump_scheduled = False
        self._reading = False
        self.malformed = 0
        self.oversize = 0
        self.max_tpdu = options[SocketOption.MULTICAST_MAXTPDU]
        now = self.loop.time()
        self.pipe: Pipe = engine.new_pipe(text, options)
        self.pipe.ready = True
        self.source: Source | None = None
        self.receiver: Receiver | None = None
        rate = options[SocketOption.RATE] * 1000 / 8  # kbit/s to octets/s
        if self.sending:
            tsdu = max_tsdu(options, self.link.overhead)
            if tsdu < 3:
                self.link.close()
                raise ZMQError(
                    Errno.EINVAL,
                    f"cannot join {endpoint}: MULTICAST_MAXTPDU {self.max_tpdu} leaves no room "
                    "for data",
                )
            self.encoder = ApduEncoder(tsdu)
            #: Zero-copy messages to release once their octets are packed, by stream position.
            self._tracked: deque[tuple[int, TrackedMessage]] = deque()
            self._encoded = 0  # stream octets given to the encoder so far
            self._sent = 0  # stream octets packed into ODATA so far
            self._blocked: bytes | None = None  # an ODATA the kernel had no room for
            gsi = os.urandom(6)
            sport = int.from_bytes(os.urandom(2), "big") or 1
            if sport == endpoint.port:
                sport ^= 0x8000
            self.source = Source(
                gsi=gsi,
                sport=sport,
                dport=endpoint.port,
                group=endpoint.group,
                nla=self.link.interface,
                window_sqns=window_sqns(options),
                rate=rate,
                now=now,
                overhead=self.link.overhead,
                max_tpdu=self.max_tpdu,
            )
        else:
            self.receiver = Receiver(
                dport=endpoint.port,
                group=endpoint.group,
                window_sqns=window_sqns(options),
                max_tpdu=self.max_tpdu,
                max_message_size=options[SocketOption.MAXMSGSIZE],
            )
            self._pending: deque[list[bytes]] = deque()

    # -- start and stop -------------------------------------------------------------------------

    def start(self) -> None:
        runner = self.engine.runner
        pipe = self.pipe
        socket_ = self.engine.socket
        if self.sending:
            pipe.outbound.wake_reader = lambda: runner.post(self._pump_soon)
            # PGM has no upstream: the publisher must send everything to this pipe.
            socket_.mailbox.post(socket_._attach_multicast_pipe, pipe)
        else:
            pipe.outbound.wake_reader = lambda: runner.post(self._drain_outbound)
            pipe.inbound.wake_writer = lambda: runner.post(self._resume)
            socket_.mailbox.post(socket_._attach_pipe, pipe)
        self._start_reading()
        self._arm(self.loop.time())

    def _start_reading(self) -> None:
        if not self._reading and not self.closed:
            self._reading = True
            self.loop.add_reader(self.link.rx.fileno(), self._readable)

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.link.rx.fileno())

    def linger(self) -> None:
        """The socket closed: a sender sends what is queued (the engine enforces LINGER) and
        finishes when its pipe is drained; a receiver finishes now."""
        if self.closed:
            return
        if not self.sending or self.engine.linger == 0:
            self.close()
            return
        self._pump()

    def close(self) -> None:
        """Stop now (LINGER expired, disconnect/unbind, or a receiving socket closed)."""
        if self.closed:
            return
        if self.source is not None:
            for packet in self.source.fin(self.loop.time()):
                self.link.send(packet, self.endpoint.group)
        self.closed = True
        self._stop_reading()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.link.close()
        if self.sending:
            while self._tracked:
                release(self._tracked.popleft()[1])
        self.engine.pipe_terminated(self.pipe)
        self.engine.multicast_gone(self)

    # -- timers ---------------------------------------------------------------------------------

    def _arm(self, now: float) -> None:
        """(Re)schedule the protocol's timer for its next deadline."""
        if self.closed:
            return
        if self.source is not None:
            deadline: float | None = self.source.next_deadline(now)
        else:
            assert self.receiver is not None
            deadline = self.receiver.next_deadline()
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer_when <= deadline:
                return
            self._timer.cancel()
        self._timer_when = deadline
        self._timer = self.loop.call_at(max(deadline, now), self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self.closed:
            return
        now = self.loop.time()
        if self.source is not None:
            for packet in self.source.poll(now):
                self.link.send(packet, self.endpoint.group)
        else:
            assert self.receiver is not None
            self._deliver(self.receiver.poll(now))
            self._flush_receiver()
        self._arm(now)

    # -- input ----------------------------------------------------------------------------------

    def _readable(self) -> None:
        if self.closed:
            return
        now = self.loop.time()
        source, receiver = self.source, self.receiver
        events: list[object] = []
        for data, address in self.link.receive():
            if len(data) > self.max_tpdu:
                self.oversize += 1  # OpenPGM reads at most MAXTPDU octets: same bound here
                continue
            try:
                packet = parse_packet(data)
            except PgmError:
                self.malformed += 1
                continue
            # Upstream (NAK, SPMR) is for a sender, downstream (SPM, data, NCF) for a receiver;
            # the rest (N-NAKs, other receivers' multicast NAKs) concerns neither.
            if isinstance(packet, Nak):
                if packet.kind == NAK and source is not None:
                    source.receive(packet, now)
                elif packet.kind == NCF and receiver is not None:
                    events += receiver.receive(packet, address, now)
            elif isinstance(packet, Spmr):
                if source is not None:
                    source.receive(packet, now)
            elif receiver is not None:
                events += receiver.receive(packet, address, now)
        if receiver is not None:
            self._deliver(events)
            self._flush_receiver()
        elif source is not None:
            for answer in source.poll(now):
                self.link.send(answer, self.endpoint.group)
        self._arm(now)

    def _flush_receiver(self) -> None:
        receiver = self.receiver
        assert receiver is not None
        for packet, address in receiver.outgoing:
            self.link.send(packet, address)
        receiver.outgoing.clear()

    def _deliver(self, events: list[object]) -> None:
        """Messages to the socket's pipe; losses to the monitor."""
        pending = self._pending
        lost = 0
        for event in events:
            if type(event) is list:
                pending.append(event)
            elif isinstance(event, Loss):
                lost += event.count
        if lost:
            # Whole messages only ever reach the socket: what the gap cut was dropped.
            self.engine.monitor(Event.LIMIT_EXCEEDED, Limit.MULTICAST_LOSS, self.text)
        self._write_pending()

    def _write_pending(self) -> None:
        pending = self._pending
        inbound = self.pipe.inbound
        while pending:
            if not inbound.check_write():
                # The socket is not keeping up: stop reading (the kernel's buffer fills and
                # then drops; what is dropped is repaired or lost, as with libzmq).
                self._stop_reading()
                return
            msg = pending.popleft()
            inbound.write(msg, message_size(msg))
        self._start_reading()

    def _resume(self) -> None:
        if not self.closed:
            self._write_pending()

    def _drain_outbound(self) -> None:
        """A subscriber's subscriptions (and an XSUB's messages): nowhere to send them."""
        outbound = self.pipe.outbound
        while True:
            msg = outbound.read()
            if msg is None:
                break
            release(msg)
        if outbound.terminated and not self.closed:
            self.close()  # the socket closed

    # -- output ---------------------------------------------------------------------------------

    def _pump_soon(self) -> None:
        self._pump_scheduled = False
        self._pump()

    def _pump(self) -> None:
        """Move messages from the pipe into packets, as fast as RATE allows."""
        if self.closed:
            return
        source = self.source
        assert source is not None
        encoder = self.encoder
        outbound = self.pipe.outbound
        now = self.loop.time()
        group = self.endpoint.group
        tracked = self._tracked
        for _ in range(SEND_BATCH):
            if self._blocked is not None:
                if not self.link.send(self._blocked, group):
                    # The kernel has no room: try again shortly rather than spin.
                    self._schedule_pump(0.001)
                    return
                self._blocked = None
            while encoder.room > 0:
                msg = outbound.read()
                if msg is None:
                    break
                before = encoder.buffered
                encoder.add(msg)
                self._encoded += encoder.buffered - before
                if type(msg) is TrackedMessage:
                    tracked.append((self._encoded, msg))
            if not encoder.buffered:
                break
            size = min(encoder.buffered + 2, encoder.max_tsdu)
            delay = source.odata_delay(size, now)
            if delay > 0:
                self._schedule_pump(delay)
                return
            tsdu = encoder.next_tsdu()
            assert tsdu is not None
            self._sent += len(tsdu) - 2
            packet = source.odata(tsdu, now)  # in the transmit window from now on
            if not self.link.send(packet, group):
                self._blocked = packet
            while tracked and tracked[0][0] <= self._sent:
                release(tracked.popleft()[1])  # its octets are in the transmit window
        else:
            self._schedule_pump(0.0)
            return
        self._arm(now)
        if self._blocked is None and not encoder.buffered and outbound.terminated:
            self.close()  # the socket closed and everything it queued is sent

    def _schedule_pump(self, delay: float) -> None:
        if self._pump_scheduled:
            return
        self._pump_scheduled = True
        if delay <= 0:
            self.loop.call_soon(self._pump_soon)
        else:
            self.loop.call_later(delay, self._pump_soon)
        self._arm(self.loop.time())

    # -- statistics -----------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counters (for tests and diagnostics; never message content)."""
        found = {"malformed": self.malformed, "oversize": self.oversize}
        for name, obj in (("source", self.source), ("receiver", self.receiver)):
            if obj is not None:
                for key, value in vars(obj).items():
                    if type(value) is int and not key.startswith("_"):
                        found[f"{name}.{key}"] = value
        return found


def open_session(
    engine: SocketEngine, endpoint: Endpoint, text: str, options: Options
) -> PgmSession:
    """Open ``endpoint``'s sockets and start its session (raises ZMQError on failure)."""
    session = PgmSession(engine, endpoint, text, options)
    session.start()
    return session
