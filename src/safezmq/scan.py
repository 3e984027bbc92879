"""A security probe of a ZMTP endpoint (libzmq's, safezmq's or any other): ``safezmq scan``.

``scan(endpoint)`` connects to the endpoint a few times over plain sockets, speaks ZMTP through
the sans-I/O protocol layer (``safezmq.protocol``), and returns a :class:`ScanReport`:

- the greeting: ZMTP version, security mechanism and as-server flag (libzmq never sets it);
- whether a NULL peer gets in: a real NULL handshake, announcing a socket type compatible with
  the one the server announces (for a CURVE or PLAIN server: whether it accepts a NULL greeting
  all the same, a downgrade);
- whether a CURVE server accepts an arbitrary client key: a real CURVE handshake with a
  throwaway key pair (it needs the server's public key, ``curve_serverkey``); whether a PLAIN
  server accepts arbitrary credentials;
- whether it still speaks ZMTP 2.0 or 1.0 (a legacy greeting on a connection of its own);
- what metadata it reveals (the properties of its READY);
- whether it closes a stalled handshake (connect, send nothing, time how long it stays open).

What it sends is bounded: each connection carries at most ``MAX_SENT_PER_CONNECTION`` octets (a
greeting and a handshake's commands, never a message), every connection goes to the endpoint it
was given (a host name is resolved once), and every wait has a deadline.  A server that refuses
our socket type is tried again with the next of a short list of types
(``SOCKET_TYPE_CANDIDATES``), one handshake each.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .error import ZMQError
from .policy import is_loopback
from .protocol import (
    Connection,
    CurveClient,
    HandshakeComplete,
    NullMechanism,
    PeerError,
    PlainClient,
    ProtocolError,
)
from .protocol.commands import ERROR, READY, command, parse_command, parse_error
from .protocol.frames import Buffer, FrameDecoder, encode_command
from .protocol.greeting import (
    GREETING_SIZE,
    Greeting,
    build_greeting,
    check_greeting_prefix,
    parse_greeting,
)
from .protocol.keys import curve_keypair, decode_key
from .protocol.limits import DEFAULT_LIMITS
from .protocol.mechanism import Mechanism
from .protocol.metadata import IDENTITY, SOCKET_TYPE, Metadata, encode_metadata
from .protocol.sockettypes import COMPATIBLE
from .transport.endpoint import parse_endpoint

#: Default seconds for each wait, and the longest a stalled handshake is watched.
DEFAULT_TIMEOUT = 5.0
#: Octets one probe connection may send: a greeting (64), a CURVE INITIATE (about 260) and our
#: metadata.  Exceeding it is a bug in this module, never something a server can cause.
MAX_SENT_PER_CONNECTION = 1024
#: Octets read from one connection before we stop listening (a handshake needs far fewer).
MAX_READ_PER_CONNECTION = 64 * 1024
#: Seconds to wait for a NULL server's READY before sending ours (a server that asks ZAP about
#: us sends its READY only after ours).
READY_WAIT = 1.0
#: Seconds a NULL handshake must stay open after our READY to count as accepted (a server that
#: refuses our socket type or address closes at once).
ACCEPT_GRACE = 0.5
#: Seconds to watch a legacy (ZMTP 1.0/2.0) greeting's connection for a refusal.
LEGACY_WAIT = 1.0
#: Socket types we announce, in turn, until the server accepts one: together they are
#: compatible with every standard socket type (REP/ROUTER/DEALER, PUB/XPUB, PULL, PUSH, PAIR,
#: REQ, SUB/XSUB).  A server that knows a NULL peer's type first (its READY) gets the right one.
SOCKET_TYPE_CANDIDATES = (b"DEALER", b"SUB", b"PUSH", b"PULL", b"PAIR", b"ROUTER", b"PUB")
#: The 12 octets every ZMTP 3.1 greeting starts with (signature and version), whatever the
#: mechanism: sent first, so that a libzmq peer shows its whole greeting before we pick ours.
GREETING_PREFIX = build_greeting(b"NULL", False)[:12]
#: A ZMTP 2.0 greeting (RFC 15): signature, revision 1, socket type DEALER (5), empty identity.
ZMTP20_GREETING = b"\xff" + bytes(8) + b"\x7f" + b"\x01\x05" + b"\x00\x00"
#: A ZMTP 1.0 greeting (RFC 13): an empty identity frame (length 1, flags 0).
ZMTP10_GREETING = b"\x01\x00"
#: A stalled handshake still open this long is a finding (libzmq and safezmq close at 30 s).
STALL_FINDING_AFTER = 31.0
#: Longest value of a metadata property quoted in a report.
MAX_SHOWN_VALUE = 80

HIGH, MEDIUM, LOW = "high", "medium", "low"

# Statuses of a check.
ACCEPTED = "accepted"
REFUSED = "refused"
NOT_TESTED = "not tested"
NOT_APPLICABLE = "not applicable"
INCONCLUSIVE = "inconclusive"
FAILED = "failed"
OPEN = "open"
CLOSED = "closed"


class ScanError(Exception):
    """The endpoint could not be scanned (unreachable, or not a ZMTP 3 endpoint)."""


@dataclass(frozen=True)
class Finding:
    """A weakness the scan found, with how to fix it."""

    severity: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.what} -> {self.fix}"


@dataclass
class Check:
    """The result of one probe: ``status`` (accepted, refused, not tested, not applicable,
    inconclusive, failed) and a sentence saying what happened."""

    status: str
    detail: str


@dataclass
class ScanReport:
    """What ``scan()`` learnt about one endpoint.  ``findings`` empty: nothing weak found."""

    endpoint: str
    timeout: float
    zmtp_version: str = ""
    mechanism: str = ""
    as_server: bool = False
    #: The socket type the server announced (in a READY we could read), if any.
    socket_type: str | None = None
    null_peer: Check = field(default_factory=lambda: Check(NOT_TESTED, ""))
    client_authentication: Check = field(default_factory=lambda: Check(NOT_TESTED, ""))
    zmtp_2_0: Check = field(default_factory=lambda: Check(NOT_TESTED, ""))
    zmtp_1_0: Check = field(default_factory=lambda: Check(NOT_TESTED, ""))
    #: The properties of the server's READY (escaped text), and who could read them.
    metadata: dict[str, str] = field(default_factory=dict)
    metadata_seen_by: str = ""
    stalled_handshake: Check = field(default_factory=lambda: Check(NOT_TESTED, ""))
    #: Seconds until the server closed a connection on which we sent nothing (None: it did not
    #: within ``timeout``).
    stalled_closed_after: float | None = None
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    duration: float = 0.0

    @property
    def weak(self) -> bool:
        return bool(self.findings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["weak"] = self.weak
        return data

    def format(self) -> str:
        """The report as readable text."""
        flag = "1" if self.as_server else "0"
        if not self.as_server and self.mechanism in ("CURVE", "PLAIN"):
            flag += " (libzmq never sets it)"
        rows = [
            ("greeting", f"ZMTP {self.zmtp_version}, mechanism {self.mechanism}, as-server {flag}"),
            ("socket type", self.socket_type or "not revealed"),
            ("NULL peer", _check_text(self.null_peer)),
            ("client auth", _check_text(self.client_authentication)),
            ("ZMTP 2.0 peer", _check_text(self.zmtp_2_0)),
            ("ZMTP 1.0 peer", _check_text(self.zmtp_1_0)),
            ("metadata", _metadata_text(self.metadata, self.metadata_seen_by)),
            ("stalled handshake", _check_text(self.stalled_handshake)),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"scan of {self.endpoint} (timeout {self.timeout:g} s, {self.duration:.1f} s)"]
        lines += [f"  {name:<{width}}  {text}" for name, text in rows]
        lines += [f"  note: {note}" for note in self.notes]
        if self.findings:
            lines.append(f"findings ({len(self.findings)}):")
            lines += [f"  {finding}" for finding in self.findings]
            lines.append(f"verdict: {len(self.findings)} weakness(es) found")
        else:
            lines.append("verdict: nothing weak found")
        return "\n".join(lines)


def _check_text(check: Check) -> str:
    return f"{check.status.upper()}: {check.detail}" if check.detail else check.status.upper()


def _metadata_text(metadata: dict[str, str], seen_by: str) -> str:
    if not metadata:
        return seen_by or "none revealed"
    shown = ", ".join(f"{name}={value}" for name, value in metadata.items())
    return f"{shown} ({seen_by})" if seen_by else shown


# -- the link: one plain socket to the target ---------------------------------------------------


@dataclass(frozen=True)
class _Target:
    text: str
    family: int
    address: Any
    loopback: bool
    network: bool  # tcp beyond loopback


def resolve(endpoint: str) -> _Target:
    """The address to probe (resolved once).  Raises ValueError for an endpoint that cannot be
    scanned and ScanError for a host name that does not resolve."""
    try:
        parsed = parse_endpoint(endpoint, bind=False)
    except ZMQError as exc:
        raise ValueError(str(exc)) from None
    if parsed.transport == "tcp":
        if parsed.source is not None:
            raise ValueError("scan connects from any local address: drop the 'source;' part")
        try:
            infos = socket.getaddrinfo(parsed.address, parsed.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ScanError(f"cannot resolve {parsed.address!r}: {_reason(exc)}") from None
        family, _, _, _, sockaddr = infos[0]
        host = str(sockaddr[0])
        try:
            loopback = ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
        except ValueError:
            loopback = is_loopback(host)
        return _Target(endpoint, family, sockaddr, loopback, not loopback)
    if parsed.transport == "ipc":
        address = parsed.address
        if address.startswith("@"):
            address = "\0" + address[1:]
        return _Target(endpoint, socket.AF_UNIX, address, True, False)
    raise ValueError(
        f"cannot scan {endpoint!r}: inproc endpoints live inside one process; "
        "scan a tcp:// or ipc:// endpoint"
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() else exc.strerror
    return str(exc) or type(exc).__name__


class _Link:
    """A connection to the target with deadlines, a record of what arrived and a send budget."""

    def __init__(self, target: _Target, timeout: float) -> None:
        self.sock = socket.socket(target.family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(target.address)
        except OSError as exc:
            self.sock.close()
            raise ScanError(f"cannot connect to {target.text}: {_reason(exc)}") from None
        self.connected_at = time.monotonic()
        self.sent = 0
        self.received = bytearray()
        self.closed = False
        self.reset = False

    def send(self, data: bytes) -> bool:
        """Send ``data``; False if the peer has closed the connection."""
        if self.sent + len(data) > MAX_SENT_PER_CONNECTION:
            raise AssertionError("safezmq.scan tried to send more than a handshake")
        self.sent += len(data)
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = self.reset = True
            return False
        return True

    def recv(self, deadline: float) -> bytes | None:
        """What arrives before ``deadline``: bytes, b"" once closed, None on timeout."""
        if self.closed:
            return b""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return None
        except OSError:
            self.closed = self.reset = True
            return b""
        if not data or len(self.received) + len(data) > MAX_READ_PER_CONNECTION:
            self.closed = True
            return b""
        self.received += data
        return data

    def close(self) -> None:
        self.sock.close()

    def how_closed(self) -> str:
        return "reset the connection" if self.reset else "closed the connection"


# -- handshakes through the protocol layer -------------------------------------------------------


@dataclass
class _Outcome:
    kind: str  # "complete", "peer-error", "protocol-error", "closed", "timeout"
    detail: str = ""
    auth_status: int | None = None
    metadata: Metadata | None = None
    step: str = ""  # the mechanism's step when it ended (CURVE "welcome": HELLO unanswered)


def _joined(buffers: list[Buffer]) -> bytes:
    return b"".join(bytes(b) for b in buffers)


def _drive(
    link: _Link,
    conn: Connection,
    deadline: float,
    *,
    already_sent: int = 0,
    replay: bytes = b"",
    send: bool = True,
) -> _Outcome:
    """Run ``conn``'s handshake over ``link`` until it completes or ends.

    ``already_sent`` octets of conn's first output went out before (the greeting prefix);
    ``replay`` is what the peer sent before conn existed; with ``send=False`` nothing is sent
    (a dry run that only reads the peer's commands)."""
    skip = already_sent

    def flush() -> None:
        nonlocal skip
        out = _joined(conn.data_to_send())
        if skip:
            cut = min(skip, len(out))
            out, skip = out[cut:], skip - cut
        if out and send:
            link.send(out)

    flush()
    data: bytes | None = replay
    while True:
        if data:
            try:
                events = conn.receive_data(data)
            except PeerError as exc:
                reason = exc.peer_reason.decode("ascii", "replace")
                return _Outcome("peer-error", reason, exc.auth_status, step=conn.mechanism.step)
            except ProtocolError as exc:
                return _Outcome("protocol-error", exc.reason, step=conn.mechanism.step)
            flush()
            for event in events:
                if isinstance(event, HandshakeComplete):
                    return _Outcome("complete", metadata=event.peer_metadata)
        data = link.recv(deadline)
        if data is None:
            return _Outcome("timeout", step=conn.mechanism.step)
        if not data:
            return _Outcome("closed", link.how_closed(), step=conn.mechanism.step)


def _confirm(link: _Link, conn: Connection, grace: float) -> _Outcome | None:
    """After a NULL handshake completed on our side: None if the peer keeps the connection
    open for ``grace`` seconds (or sends traffic), else how it ended it."""
    deadline = time.monotonic() + grace
    while True:
        data = link.recv(deadline)
        if data is None:
            return None
        if not data:
            return _Outcome("closed", link.how_closed())
        try:
            conn.receive_data(data)
        except PeerError as exc:
            return _Outcome(
                "peer-error", exc.peer_reason.decode("ascii", "replace"), exc.auth_status
            )
        except ProtocolError as exc:
            return _Outcome("protocol-error", exc.reason)
        return None  # traffic after the handshake: it let us in


def _connection(mechanism: Mechanism, socket_type: bytes) -> Connection:
    return Connection(mechanism, socket_type=socket_type, check_socket_type=False)


def _compatible_type(peer_type: bytes | None) -> bytes:
    """A socket type the peer accepts (DEALER if it announced none we know)."""
    accepted = COMPATIBLE.get(peer_type or b"", frozenset())
    for candidate in SOCKET_TYPE_CANDIDATES:
        if candidate in accepted:
            return candidate
    return next(iter(sorted(accepted)), b"DEALER")


def _retry_with_another_type(outcome: _Outcome) -> bool:
    """Whether the server may have refused our socket type rather than us: it closed without
    a word after our metadata, or its ERROR is not an authentication status."""
    if outcome.kind == "closed":
        return outcome.step not in ("welcome",)  # CURVE/PLAIN HELLO unanswered: not the type
    return outcome.kind == "peer-error" and outcome.auth_status is None


# -- the scanner ----------------------------------------------------------------------------------


class _Scanner:
    def __init__(
        self,
        target: _Target,
        timeout: float,
        curve_serverkey: bytes | None,
        socket_type: bytes | None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.serverkey = curve_serverkey
        self.socket_type = socket_type
        self.report = ScanReport(target.text, timeout)
        self.greeting: Greeting | None = None

    def deadline(self, seconds: float | None = None) -> float:
        return time.monotonic() + (self.timeout if seconds is None else min(seconds, self.timeout))

    def link(self) -> _Link:
        return _Link(self.target, self.timeout)

    def candidates(self) -> tuple[bytes, ...]:
        return (self.socket_type,) if self.socket_type else SOCKET_TYPE_CANDIDATES

    # -- the first connection: greeting, then NULL ------------------------------------------

    def first_connection(self) -> None:
        link = self.link()
        try:
            greeting = self.read_greeting(link)
            self.greeting = greeting
            report = self.report
            report.zmtp_version = f"{greeting.major}.{greeting.minor}"
            report.mechanism = greeting.mechanism.decode("ascii", "replace")
            report.as_server = greeting.as_server
            if greeting.mechanism == b"NULL":
                self.null_on_first_connection(link)
            else:
                self.downgrade(link)
        finally:
            link.close()

    def read_greeting(self, link: _Link) -> Greeting:
        link.send(GREETING_PREFIX)
        deadline = self.deadline()
        while len(link.received) < GREETING_SIZE:
            data = link.recv(deadline)
            if data is None:
                raise ScanError(
                    f"{self.target.text} sent no ZMTP greeting within {self.timeout:g} s "
                    "(is it a ZMTP endpoint?)"
                )
            if not data:
                raise ScanError(
                    f"{self.target.text} {link.how_closed()} after {len(link.received)} octets "
                    "of greeting (not a ZMTP 3 endpoint?)"
                )
            try:
                check_greeting_prefix(bytes(link.received[:GREETING_SIZE]))
            except ProtocolError as exc:
                raise ScanError(f"{self.target.text} is not a ZMTP 3 endpoint: {exc}") from None
        try:
            return parse_greeting(bytes(link.received[:GREETING_SIZE]))
        except (ProtocolError, ValueError) as exc:
            raise ScanError(f"{self.target.text} sent an invalid ZMTP greeting: {exc}") from None

    def null_on_first_connection(self, link: _Link) -> None:
        """A NULL server: finish our greeting, read its READY (learning its socket type), then
        answer as a compatible peer."""
        link.send(build_greeting(b"NULL", False)[len(GREETING_PREFIX) :])
        scratch = _connection(NullMechanism(), b"DEALER")
        first = _drive(
            link,
            scratch,
            self.deadline(READY_WAIT),
            replay=bytes(link.received),
            send=False,
        )
        if first.kind == "complete" and first.metadata is not None:
            peer_type = first.metadata.get(SOCKET_TYPE)
            self.record_metadata(first.metadata, "to any NULL peer, before authentication")
            ours = self.socket_type or _compatible_type(peer_type)
            outcome = self.null_handshake(link, ours, replay=bytes(link.received))
            self.null_result(outcome, ours)
            return
        if first.kind != "timeout":
            self.report.null_peer = self.refusal(first, "before our READY")
            return
        # No READY yet: the server waits for ours (a NULL server asking ZAP about each peer).
        candidates = self.candidates()
        outcome = self.null_handshake(link, candidates[0], replay=bytes(link.received))
        ours = candidates[0]
        for candidate in candidates[1:]:
            if not _retry_with_another_type(outcome):
                break
            retry = self.link()
            try:
                ours = candidate
                outcome = self.null_handshake(retry, candidate)
            finally:
                retry.close()
        self.null_result(outcome, ours)

    def null_handshake(self, link: _Link, socket_type: bytes, replay: bytes = b"") -> _Outcome:
        conn = _connection(NullMechanism(), socket_type)
        already = GREETING_SIZE if replay else 0
        outcome = _drive(link, conn, self.deadline(), already_sent=already, replay=replay)
        if outcome.kind == "complete":
            ended = _confirm(link, conn, min(ACCEPT_GRACE, self.timeout))
            if ended is not None:
                return ended
        return outcome

    def null_result(self, outcome: _Outcome, ours: bytes) -> None:
        report = self.report
        if outcome.kind == "complete" and outcome.metadata is not None:
            self.record_metadata(outcome.metadata, "to any NULL peer, before authentication")
            report.null_peer = Check(
                ACCEPTED,
                f"completed a NULL handshake as a {ours.decode()} peer: no encryption, "
                "no authentication",
            )
        else:
            report.null_peer = self.refusal(outcome, f"after our READY (as {ours.decode()})")

    def record_metadata(self, metadata: Metadata, seen_by: str) -> None:
        report = self.report
        report.metadata = {name: _shown(value) for name, value in metadata.items()}
        report.metadata_seen_by = seen_by
        peer_type = metadata.get(SOCKET_TYPE)
        if peer_type is not None:
            report.socket_type = _shown(peer_type)

    def refusal(self, outcome: _Outcome, when: str) -> Check:
        if outcome.kind == "peer-error":
            status = f" (ZAP status {outcome.auth_status})" if outcome.auth_status else ""
            return Check(REFUSED, f"ERROR {outcome.detail!r}{status} {when}")
        if outcome.kind == "closed":
            return Check(REFUSED, f"{outcome.detail} {when}")
        if outcome.kind == "protocol-error":
            return Check(INCONCLUSIVE, f"the server broke the protocol {when}: {outcome.detail}")
        return Check(INCONCLUSIVE, f"no answer within {self.timeout:g} s {when}")

    # -- a CURVE or PLAIN server given a NULL greeting --------------------------------------

    def downgrade(self, link: _Link) -> None:
        assert self.greeting is not None
        announced = self.greeting.mechanism.decode("ascii", "replace")
        ready = command(READY, encode_metadata({SOCKET_TYPE: self.candidates()[0]}))
        link.send(build_greeting(b"NULL", False)[len(GREETING_PREFIX) :] + encode_command(ready))
        commands: list[object] = []

        def on_command(body: Buffer, out: list[object]) -> None:
            out.append(parse_command(body))

        decoder = FrameDecoder(DEFAULT_LIMITS, on_command, DEFAULT_LIMITS.max_metadata_size)
        data: bytes | None = bytes(link.received[GREETING_SIZE:])
        deadline = self.deadline(LEGACY_WAIT)
        report = self.report
        while True:
            if data:
                try:
                    commands += decoder.feed(data)
                except ProtocolError as exc:
                    report.null_peer = Check(
                        INCONCLUSIVE, f"answered a NULL greeting with malformed frames: {exc}"
                    )
                    return
                for item in commands:
                    if not isinstance(item, tuple):
                        continue
                    name, body = item
                    if name == ERROR:
                        try:
                            reason = parse_error(body).decode("ascii", "replace")
                        except ProtocolError:
                            reason = "malformed"
                        report.null_peer = Check(
                            REFUSED,
                            f"ERROR {reason!r} to a NULL greeting (it requires {announced})",
                        )
                        return
                    if name == READY:
                        report.null_peer = Check(
                            ACCEPTED,
                            f"announced {announced} but completed a NULL handshake (a downgrade)",
                        )
                        return
            data = link.recv(deadline)
            if data is None:
                report.null_peer = Check(
                    INCONCLUSIVE,
                    f"a NULL greeting was neither refused nor answered within "
                    f"{min(LEGACY_WAIT, self.timeout):g} s",
                )
                return
            if not data:
                report.null_peer = Check(
                    REFUSED,
                    f"{link.how_closed()} at a NULL greeting (mechanism mismatch: it requires "
                    f"{announced})",
                )
                return

    # -- CURVE and PLAIN client authentication ----------------------------------------------

    def client_authentication(self) -> None:
        assert self.greeting is not None
        mechanism = self.greeting.mechanism
        report = self.report
        if mechanism == b"CURVE":
            if self.serverkey is None:
                report.client_authentication = Check(
                    NOT_TESTED,
                    "a CURVE handshake needs the server's public key: pass --curve-serverkey "
                    "KEY to test whether it accepts an arbitrary client key",
                )
                report.notes.append("client authentication could not be tested without the key")
                return
            self.curve_any_key(self.serverkey)
        elif mechanism == b"PLAIN":
            self.plain_any_credentials()
        elif mechanism == b"NULL":
            report.client_authentication = Check(
                NOT_APPLICABLE,
                "the NULL mechanism authenticates no one (a ZAP handler may filter addresses)",
            )
        elif mechanism != b"NULL":
            report.client_authentication = Check(
                NOT_TESTED, f"unknown mechanism {report.mechanism!r}"
            )

    def attempts(self, make: Any) -> tuple[_Outcome, bytes]:
        """Handshakes with each candidate socket type until one is not refused for its type."""
        outcome = _Outcome("timeout")
        ours = b""
        for ours in self.candidates():
            link = self.link()
            try:
                outcome = _drive(link, _connection(make(), ours), self.deadline())
            finally:
                link.close()
            if not _retry_with_another_type(outcome):
                break
        return outcome, ours

    def curve_any_key(self, server_key: bytes) -> None:
        public, secret = curve_keypair()
        outcome, ours = self.attempts(lambda: CurveClient(server_key, secret, public))
        report = self.report
        if outcome.kind == "complete" and outcome.metadata is not None:
            self.record_metadata(outcome.metadata, "after a handshake with a throwaway key")
            report.client_authentication = Check(
                ACCEPTED,
                f"accepts any client key: a throwaway key completed a CURVE handshake (as "
                f"{ours.decode()})",
            )
            return
        if outcome.kind == "peer-error" and outcome.auth_status is not None:
            report.client_authentication = Check(
                REFUSED,
                f"a throwaway client key was refused (ERROR {outcome.detail!r}, ZAP status "
                f"{outcome.auth_status})",
            )
            return
        if outcome.step == "welcome" and outcome.kind in ("closed", "peer-error", "timeout"):
            report.client_authentication = Check(
                FAILED,
                "the server did not answer our CURVE HELLO: is --curve-serverkey its public key?",
            )
            return
        if outcome.kind == "protocol-error":
            report.client_authentication = Check(
                FAILED, f"the CURVE handshake failed on our side: {outcome.detail}"
            )
            return
        if outcome.kind == "timeout":
            report.client_authentication = Check(
                INCONCLUSIVE, f"no answer to our INITIATE within {self.timeout:g} s"
            )
            return
        tried = ", ".join(t.decode() for t in self.candidates())
        report.client_authentication = Check(
            REFUSED if outcome.kind == "closed" else INCONCLUSIVE,
            f"the server ended every handshake after a throwaway key's INITIATE, as {tried} "
            f"({outcome.detail or outcome.kind}): a refusal, or a socket type it would not take",
        )

    def plain_any_credentials(self) -> None:
        password = os.urandom(12).hex().encode()
        outcome, ours = self.attempts(lambda: PlainClient(b"safezmq-scan", password))
        report = self.report
        if outcome.kind == "complete" and outcome.metadata is not None:
            self.record_metadata(
                outcome.metadata, "after a PLAIN handshake with made-up credentials"
            )
            report.client_authentication = Check(
                ACCEPTED, f"made-up PLAIN credentials were accepted (as {ours.decode()})"
            )
        elif outcome.kind in ("peer-error", "closed"):
            report.client_authentication = self.refusal(outcome, "to made-up PLAIN credentials")
        else:
            report.client_authentication = Check(
                INCONCLUSIVE, f"made-up PLAIN credentials: {outcome.detail or outcome.kind}"
            )

    # -- legacy ZMTP ------------------------------------------------------------------------

    def legacy(self, greeting: bytes, version: str) -> Check:
        link = self.link()
        try:
            link.send(greeting)
            deadline = self.deadline(LEGACY_WAIT)
            while link.recv(deadline):
                pass
            got = bytes(link.received)
            open_ = not link.closed
            how = link.how_closed()
        finally:
            link.close()
        v3 = len(got) >= 13 and got[10] >= 3 and 0x41 <= got[12] <= 0x5A  # a mechanism name
        if not open_:
            if v3:
                return Check(REFUSED, f"{how} after answering with a ZMTP 3 greeting")
            return Check(REFUSED, how)
        if version == "2.0" and len(got) >= 12 and got[0] == 0xFF and not v3:
            return Check(
                ACCEPTED,
                f"answered as a ZMTP 2.0 peer (socket type octet {got[11]}) and kept the "
                "connection open",
            )
        if version == "1.0" and not v3:
            return Check(ACCEPTED, "kept the connection open after a ZMTP 1.0 identity frame")
        wait = min(LEGACY_WAIT, self.timeout)
        return Check(
            INCONCLUSIVE, f"neither refused nor answered as ZMTP {version} within {wait:g} s"
        )

    def zmtp_2_0(self) -> None:
        self.report.zmtp_2_0 = self.legacy(ZMTP20_GREETING, "2.0")

    def zmtp_1_0(self) -> None:
        self.report.zmtp_1_0 = self.legacy(ZMTP10_GREETING, "1.0")

    # -- stalled handshake ------------------------------------------------------------------

    def stalled_handshake(self) -> None:
        """Connect, send nothing, and time how long the server keeps the connection."""
        report = self.report
        link = self.link()
        try:
            deadline = link.connected_at + self.timeout
            while link.recv(deadline):
                pass
            closed_after = time.monotonic() - link.connected_at if link.closed else None
        finally:
            link.close()
        if closed_after is not None:
            report.stalled_closed_after = round(closed_after, 3)
            report.stalled_handshake = Check(
                CLOSED, f"closed a silent connection after {closed_after:.1f} s"
            )
        else:
            report.stalled_handshake = Check(
                OPEN,
                f"still open after {self.timeout:g} s (libzmq and safezmq close after 30 s by "
                "default; a longer --timeout measures it)",
            )


def findings(report: ScanReport, network: bool) -> list[Finding]:
    """The weaknesses shown by a report's checks (``network``: tcp beyond loopback)."""
    found: list[Finding] = []
    mechanism = report.mechanism
    if report.null_peer.status == ACCEPTED:
        if mechanism == "NULL":
            where = "the network" if network else "this machine"
            found.append(
                Finding(
                    HIGH if network else MEDIUM,
                    f"accepts NULL peers: anyone on {where} who can reach it talks to it in "
                    "clear, unauthenticated",
                    "use CURVE with a ZAP allow-list of client keys (safezmq: curve_server and "
                    "safezmq.auth)",
                )
            )
        else:
            found.append(
                Finding(
                    HIGH,
                    f"accepts NULL peers although it announces {mechanism}: its security can "
                    "be downgraded to none",
                    "refuse peers whose mechanism differs from the server's",
                )
            )
    if mechanism == "PLAIN":
        found.append(
            Finding(
                HIGH if network else LOW,
                "uses PLAIN: user names and passwords travel in clear"
                + (" over the network" if network else " (on this machine)"),
                "use CURVE",
            )
        )
    if report.client_authentication.status == ACCEPTED:
        if mechanism == "CURVE":
            found.append(
                Finding(
                    HIGH,
                    "CURVE server accepts any client key: encryption without client "
                    "authentication (libzmq without a ZAP handler)",
                    "install a ZAP handler with an allow-list of client keys (safezmq.auth; "
                    "safezmq refuses clients when there is none)",
                )
            )
        else:
            found.append(
                Finding(
                    HIGH,
                    f"{mechanism} server accepts any user name and password",
                    "install a ZAP handler that checks passwords (safezmq.auth)",
                )
            )
    if report.zmtp_2_0.status == ACCEPTED:
        found.append(
            Finding(
                MEDIUM,
                "speaks ZMTP 2.0 to legacy peers (no security mechanism; the downgrade of "
                "CVE-2014-9721)",
                "enable ZAP or CURVE (libzmq then refuses legacy peers; safezmq always does)",
            )
        )
    if report.zmtp_1_0.status == ACCEPTED:
        found.append(
            Finding(
                MEDIUM,
                "speaks ZMTP 1.0 to legacy peers (the decoder behind CVE-2021-20235)",
                "enable ZAP or CURVE (libzmq then refuses legacy peers; safezmq always does)",
            )
        )
    unauthenticated = ACCEPTED in (report.null_peer.status, report.client_authentication.status)
    extra = [
        name
        for name, value in report.metadata.items()
        if name.lower() != SOCKET_TYPE.lower() and (name.lower() != IDENTITY.lower() or value)
    ]
    if extra and unauthenticated:
        found.append(
            Finding(
                LOW,
                f"reveals metadata to unauthenticated peers: {', '.join(extra)}",
                "authenticate clients before they can read the READY (CURVE + ZAP)",
            )
        )
    if report.stalled_handshake.status == OPEN and report.timeout >= STALL_FINDING_AFTER:
        found.append(
            Finding(
                LOW,
                f"keeps a silent connection open for more than {report.timeout:g} s (slowloris)",
                "set a handshake deadline (ZMQ_HANDSHAKE_IVL, 30 s by default)",
            )
        )
    return found


def _shown(value: bytes) -> str:
    """A metadata value as safe text: escaped (no control characters) and truncated."""
    text = value[:MAX_SHOWN_VALUE].decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text + ("..." if len(value) > MAX_SHOWN_VALUE else "")


def scan(
    endpoint: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    curve_serverkey: str | bytes | None = None,
    socket_type: str | None = None,
) -> ScanReport:
    """Probe ``endpoint`` (``tcp://host:port`` or ``ipc://path``) and report what it accepts.

    ``curve_serverkey`` (40 Z85 characters or 32 bytes) enables the CURVE client-key test;
    ``socket_type`` (e.g. "DEALER") is announced instead of trying the candidate types.
    Raises ValueError for arguments that cannot work and ScanError when the endpoint cannot be
    reached or does not speak ZMTP 3.
    """
    if not timeout > 0:
        raise ValueError("the timeout must be a positive number of seconds")
    key = None
    if curve_serverkey is not None:
        key = decode_key(curve_serverkey, "the CURVE server key")
    announced = None
    if socket_type is not None:
        announced = socket_type.upper().encode("ascii", "replace")
        if announced not in COMPATIBLE:
            known = ", ".join(t.decode() for t in COMPATIBLE)
            raise ValueError(f"unknown socket type {socket_type!r}; use one of {known}")
    target = resolve(endpoint)
    started = time.monotonic()
    scanner = _Scanner(target, timeout, key, announced)
    scanner.first_connection()  # raises ScanError if the endpoint is unreachable
    probes = [
        scanner.stalled_handshake,
        scanner.client_authentication,
        scanner.zmtp_2_0,
        scanner.zmtp_1_0,
    ]
    errors: list[BaseException] = []

    def run(probe: Callable[[], None]) -> None:
        try:
            probe()
        except BaseException as exc:  # reported by the caller's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(probe,), name=f"safezmq-scan-{probe.__name__}")
        for probe in probes
    ]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        # Every probe ends by its own deadlines: the stall probe after ``timeout``, the CURVE
        # probe after at most one deadline per candidate socket type.
        thread.join()
    if errors:
        raise errors[0]
    report = scanner.report
    report.findings = findings(report, target.network)
    report.duration = round(time.monotonic() - started, 3)
    return report


__all__ = [
    "DEFAULT_TIMEOUT",
    "Check",
    "Finding",
    "ScanError",
    "ScanReport",
    "findings",
    "scan",
]
