"""``safezmq send|recv|pub|sub|req|rep ENDPOINT``: ZeroMQ from the shell (a netcat for ZMTP).

Each subcommand is one socket:

  send  PUSH, connects   sends each line of stdin (or -m TEXT, or --file F) as a message
  recv  PULL, binds      prints each message on a line (or writes it to --file F)
  pub   XPUB, binds      publishes like send, after the first subscriber arrived
  sub   SUB, connects    prints what it receives for --topic (default: everything)
  req   REQ, connects    sends each line as a request and prints the reply
  rep   REP, binds       prints each request and answers it (an echo, or --reply TEXT)

The side that usually lives longer binds (recv, pub, rep), the one that comes and goes
connects; --bind/--connect choose otherwise.  Messages of several frames print on one line,
frames separated by a space (pub --topic T sends [T, message]).  --count N stops after N
messages; --timeout S gives up after S seconds without progress (exit status 1).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..constants import Errno, Event, PollEvent, ProtocolErrorCode, SocketOption, SocketType
from ..context import Context
from ..error import ZMQError
from ..transport.endpoint import parse_endpoint
from ..utils.monitor import parse_monitor_message
from ._common import (
    EXIT_FAILURE,
    EXIT_OK,
    CLIError,
    Progress,
    UsageError,
    add_progress_option,
    positive_float,
    positive_int,
    warn,
)
from .security import Security, add_security_options, apply, security_from_args

#: How often a wait wakes up to read monitor events and update the progress line.
TICK_MS = 100
#: LINGER when no --timeout is given: how long close() may try to deliver what is queued.
DEFAULT_LINGER_S = 10.0
#: Why a handshake failed, for the one-line error of a connecting socket.
_ZAP_STATUS = {
    300: "the server's ZAP handler asked us to retry later (300)",
    400: "the server refused our credentials (ZAP 400): is our key or password allowed there?",
    500: "the server could not authenticate us (ZAP 500: it has no ZAP handler)",
}
_PROTOCOL = {
    ProtocolErrorCode.ZMTP_MECHANISM_MISMATCH: "the peer uses another security mechanism "
    "(CURVE/PLAIN/NULL must match on both sides)",
    ProtocolErrorCode.ZMTP_CRYPTOGRAPHIC: "a CURVE box did not open (is --curve-serverkey the "
    "server's public key?)",
    ProtocolErrorCode.ZMTP_INVALID_METADATA: "the peer's socket type does not fit ours",
}


@dataclass(frozen=True)
class Role:
    name: str
    socket_type: SocketType
    binds: bool
    sends: bool
    receives: bool
    summary: str


ROLES = {
    "send": Role("send", SocketType.PUSH, False, True, False, "send lines or a file (PUSH)"),
    "recv": Role("recv", SocketType.PULL, True, False, True, "print the messages (PULL)"),
    "pub": Role("pub", SocketType.XPUB, True, True, False, "publish lines or a file (PUB)"),
    "sub": Role("sub", SocketType.SUB, False, False, True, "print a subscription (SUB)"),
    "req": Role("req", SocketType.REQ, False, True, True, "send requests, print replies (REQ)"),
    "rep": Role("rep", SocketType.REP, True, False, True, "print requests and reply (REP)"),
}


def register(subparsers: Any) -> None:
    for role in ROLES.values():
        side = "binds" if role.binds else "connects"
        parser = subparsers.add_parser(
            role.name,
            help=f"{role.summary}; {side} by default",
            description=f"safezmq {role.name}: {role.summary}.  {side.capitalize()} by "
            f"default.\n\n" + (__doc__ or "").split("\n\n", 1)[1],
        )
        parser.add_argument("endpoint", metavar="ENDPOINT", help="tcp://host:port or ipc://path")
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--bind",
            dest="bind",
            action="store_true",
            default=role.binds,
            help="bind ENDPOINT" + (" (the default)" if role.binds else ""),
        )
        where.add_argument(
            "--connect",
            dest="bind",
            action="store_false",
            help="connect to ENDPOINT" + ("" if role.binds else " (the default)"),
        )
        parser.add_argument(
            "--count",
            type=positive_int,
            metavar="N",
            help="stop after N messages"
            + (" (with -m or --file: send them N times over)" if role.sends else ""),
        )
        parser.add_argument(
            "--timeout",
            type=positive_float,
            metavar="S",
            help="give up after S seconds without a peer or a message (exit status 1)",
        )
        if role.sends:
            parser.add_argument(
                "-m",
                "--message",
                action="append",
                metavar="TEXT",
                help="send TEXT (repeatable) instead of reading lines from stdin",
            )
            parser.add_argument(
                "--file",
                metavar="F",
                help="send the contents of file F as one message",
            )
        elif role.name != "rep":
            parser.add_argument(
                "--file",
                metavar="F",
                help="write the messages' bytes to F instead of lines on stdout "
                "(--count defaults to 1)",
            )
        if role.name in ("pub", "sub"):
            parser.add_argument(
                "--topic",
                action="append" if role.name == "sub" else "store",
                metavar="T",
                help="subscribe to T (repeatable; default: everything)"
                if role.name == "sub"
                else "send each message as two frames [T, message]",
            )
        if role.name == "pub":
            parser.add_argument(
                "--subscribers",
                type=int,
                default=1,
                metavar="N",
                help="wait for N subscriptions before publishing (default 1; 0: publish at once, "
                "and messages sent before a subscriber joins are lost)",
            )
        if role.name == "rep":
            parser.add_argument(
                "--reply",
                metavar="TEXT",
                help="answer every request with TEXT (default: echo the request)",
            )
        add_security_options(parser)
        add_progress_option(parser)
        parser.set_defaults(handler=run, role=role)


# -- the socket and its waits ---------------------------------------------------------------------


class Session:
    """One socket with its context, monitor, ZAP handler (servers) and progress line."""

    def __init__(self, args: argparse.Namespace, role: Role, security: Security) -> None:
        self.prog = f"safezmq {role.name}"
        self.role = role
        self.bind = bool(args.bind)
        self.timeout: float | None = args.timeout
        self.progress = Progress(args.progress)
        self.handshakes = 0
        self.ctx = Context(policy=security.policy())
        self.auth: Any = None
        try:
            self.sock: Any = self.ctx.socket(role.socket_type)
            linger = self.timeout if self.timeout is not None else DEFAULT_LINGER_S
            self.sock.linger = int(linger * 1000)
            self.monitor: Any = self.sock.get_monitor_socket(
                Event.HANDSHAKE_SUCCEEDED
                | Event.HANDSHAKE_FAILED_AUTH
                | Event.HANDSHAKE_FAILED_PROTOCOL
                | Event.HANDSHAKE_FAILED_NO_DETAIL
            )
            self.auth = apply(self.ctx, self.sock, security, self.prog)
            if role.socket_type == SocketType.XPUB:
                self.sock.setsockopt(SocketOption.XPUB_VERBOSE, 1)
            if security.insecure:
                warn(
                    self.prog, "--insecure-allow-plaintext: NULL and PLAIN allowed beyond loopback"
                )
        except BaseException:
            self.close(linger=0)
            raise

    def open(self, endpoint: str) -> None:
        try:
            if self.bind:
                self.sock.bind(endpoint)
                if endpoint.endswith("*"):  # a port or ipc path chosen for us: say which
                    warn(self.prog, f"bound to {self.sock.last_endpoint.decode()}")
            else:
                self.sock.connect(endpoint)
        except ZMQError as exc:
            message = str(exc)
            if exc.errno == Errno.EACCES and "refusing" in message:
                message += " (on the command line: --curve-serverkey or --curve-server, or "
                message += "--insecure-allow-plaintext)"
            raise CLIError(message) from None

    def close(self, linger: int | None = None) -> None:
        if self.auth is not None:
            self.auth.stop()
            self.auth = None
        self.ctx.destroy(linger=linger)

    def deadline(self) -> float | None:
        return None if self.timeout is None else time.monotonic() + self.timeout

    def check_monitor(self) -> None:
        """Read monitor events: count handshakes; a connecting socket whose handshake failed
        before any succeeded fails with the reason, a binding one warns and goes on."""
        while self.monitor.poll(0):
            event = parse_monitor_message(self.monitor.recv_multipart())
            kind, value = event["event"], event["value"]
            if kind == Event.HANDSHAKE_SUCCEEDED:
                self.handshakes += 1
                continue
            if kind == Event.HANDSHAKE_FAILED_AUTH:
                reason = _ZAP_STATUS.get(value, f"authentication failed (ZAP {value})")
            elif kind == Event.HANDSHAKE_FAILED_PROTOCOL:
                try:
                    code = ProtocolErrorCode(value)
                except ValueError:
                    reason = f"protocol error {value:#x}"
                else:
                    reason = _PROTOCOL.get(code, f"protocol error {code.name}")
            elif kind == Event.HANDSHAKE_FAILED_NO_DETAIL:
                reason = f"the handshake failed ({os.strerror(value) if value else 'no detail'})"
            else:
                continue
            if self.bind:
                if kind == Event.HANDSHAKE_FAILED_AUTH:
                    reason = f"refused a client (ZAP {value})"
                warn(self.prog, f"a peer's handshake failed: {reason}")
            elif self.handshakes == 0:
                raise CLIError(f"handshake with {event['endpoint'].decode()} failed: {reason}")

    def wait(self, events: int, deadline: float | None, what: str) -> None:
        """Wait until the socket is ready for ``events``; CLIError at the deadline."""
        while True:
            self.check_monitor()
            if self.sock.poll(TICK_MS, events):
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise CLIError(f"{what} within {self.timeout:g} s")

    def send(self, frames: list[bytes], what: str) -> None:
        self.wait(PollEvent.POLLOUT, self.deadline(), what)
        self.sock.send_multipart(frames)

    def recv(self, what: str) -> list[bytes]:
        self.wait(PollEvent.POLLIN, self.deadline(), what)
        frames: list[bytes] = self.sock.recv_multipart()
        return frames

    def settle(self) -> None:
        """Before closing a connecting sender: wait for a handshake to succeed, so that a
        refused or absent peer is an error rather than silently undelivered messages."""
        wait = self.timeout if self.timeout is not None else DEFAULT_LINGER_S
        deadline = time.monotonic() + wait
        while self.handshakes == 0:
            self.check_monitor()
            if self.monitor.poll(TICK_MS) == 0 and time.monotonic() >= deadline:
                raise CLIError(
                    f"no peer completed a handshake within {wait:g} s: the messages were not "
                    "delivered"
                )


# -- input and output -----------------------------------------------------------------------------


def _stdin_lines() -> Iterator[bytes]:
    for line in sys.stdin.buffer:
        if line.endswith(b"\n"):
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
        yield line


def messages(args: argparse.Namespace) -> Iterator[bytes]:
    """The messages to send: -m texts, a file, or stdin's lines; --count of them."""
    count: int | None = args.count
    if args.message and args.file:
        raise UsageError("give -m or --file, not both")
    if args.message or args.file:
        if args.message:
            fixed = [m.encode("utf-8", "surrogateescape") for m in args.message]
        else:
            try:
                if args.file == "-":
                    fixed = [sys.stdin.buffer.read()]
                else:
                    with open(args.file, "rb") as f:
                        fixed = [f.read()]
            except OSError as exc:
                raise CLIError(f"--file: {exc.strerror or exc}: {args.file}") from None
        if count is None:
            return iter(fixed)
        return itertools.islice(itertools.cycle(fixed), count)
    lines = _stdin_lines()
    return lines if count is None else itertools.islice(lines, count)


class Output:
    """Where received messages go: lines on stdout, or the raw bytes in a file."""

    def __init__(self, path: str | None) -> None:
        self.file: BinaryIO
        self.raw = path is not None
        if path is None:
            self.file = sys.stdout.buffer
            self.owned = False
        else:
            try:
                self.file = open(path, "wb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise CLIError(f"--file: {exc.strerror or exc}: {path}") from None
            self.owned = True

    def write(self, frames: list[bytes]) -> None:
        if self.raw:
            self.file.write(b"".join(frames))
        else:
            self.file.write(b" ".join(frames) + b"\n")
        self.file.flush()

    def close(self) -> None:
        if self.owned:
            self.file.close()


# -- the subcommands ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    role: Role = args.role
    try:
        endpoint = parse_endpoint(args.endpoint, bind=bool(args.bind))
    except ZMQError as exc:
        raise UsageError(str(exc)) from None
    if endpoint.transport == "inproc":
        raise UsageError("inproc:// endpoints live inside one process; use tcp:// or ipc://")
    security = security_from_args(args)
    if role.name == "pub" and args.subscribers < 0:
        raise UsageError("--subscribers must be 0 or more")
    source = messages(args) if role.sends else None
    session = Session(args, role, security)
    ok = False
    try:
        session.open(args.endpoint)
        if role.name in ("send", "pub"):
            sent = publish(session, args, source) if role.name == "pub" else push(session, source)
            session.progress.done(f"sent {sent} messages")
        elif role.name in ("recv", "sub"):
            received = receive(session, args)
            session.progress.done(f"received {received} messages")
        elif role.name == "req":
            requests(session, source)
        else:
            replies(session, args)
        ok = True
    finally:
        # After success, close() lingers (LINGER: --timeout or 10 s) to deliver what is queued
        # (a sender's last messages, a rep's last reply); after a failure it drops it.
        session.close(linger=None if ok else 0)
    return EXIT_OK


def push(session: Session, source: Iterator[bytes] | None) -> int:
    assert source is not None
    sent = 0
    for body in source:
        session.send([body], "no peer took the message")
        sent += 1
        session.progress.update(f"sent {sent} messages")
    if not session.bind:
        session.settle()
    return sent


def publish(session: Session, args: argparse.Namespace, source: Iterator[bytes] | None) -> int:
    assert source is not None
    wanted: int = args.subscribers
    seen = 0
    deadline = session.deadline()
    while seen < wanted:
        session.progress.update(f"waiting for subscribers: {seen}/{wanted}")
        session.wait(PollEvent.POLLIN, deadline, f"{wanted - seen} subscriber(s) did not arrive")
        event = session.sock.recv()
        if event[:1] == b"\x01":
            seen += 1
    topic: str | None = args.topic
    sent = 0
    for body in source:
        frames = [topic.encode("utf-8", "surrogateescape"), body] if topic is not None else [body]
        session.send(frames, "the message could not be queued")
        sent += 1
        while session.sock.poll(0):  # later subscriptions: read, so they do not pile up
            session.sock.recv()
        session.progress.update(f"sent {sent} messages")
    return sent


def receive(session: Session, args: argparse.Namespace) -> int:
    count: int | None = args.count
    path: str | None = args.file
    if count is None and path is not None:
        count = 1
    if session.role.name == "sub":
        topics: list[str] = args.topic or [""]
        for topic in topics:
            session.sock.setsockopt(
                SocketOption.SUBSCRIBE, topic.encode("utf-8", "surrogateescape")
            )
    output = Output(path)
    received = 0
    try:
        while count is None or received < count:
            try:
                frames = session.recv("no message arrived")
            except CLIError:
                if count is None and received:
                    return received  # no --count: the timeout ends the session
                raise
            output.write(frames)
            received += 1
            session.progress.update(f"received {received} messages")
    finally:
        output.close()
    return received


def requests(session: Session, source: Iterator[bytes] | None) -> None:
    assert source is not None
    output = Output(None)
    done = 0
    for body in source:
        session.send([body], "no server took the request")
        output.write(session.recv("no reply arrived"))
        done += 1
        session.progress.update(f"{done} requests answered")
    session.progress.done(f"{done} requests answered")


def replies(session: Session, args: argparse.Namespace) -> None:
    count: int | None = args.count
    reply: str | None = args.reply
    output = Output(None)
    done = 0
    while count is None or done < count:
        try:
            request = session.recv("no request arrived")
        except CLIError:
            if count is None and done:
                break
            raise
        output.write(request)
        answer = [reply.encode("utf-8", "surrogateescape")] if reply is not None else request
        session.send(answer, "the reply could not be sent")
        done += 1
        session.progress.update(f"{done} requests answered")
    session.progress.done(f"{done} requests answered")


__all__ = ["EXIT_FAILURE", "ROLES", "register"]
