"""Two protocol Connections joined by an in-memory link, for tests.

Besides the ``Link`` itself this module holds the small tools the connection-pair tests share:
wire-frame splitting, greeting patching, the shared test credentials, and checks for "this
connection failed the way it should" and "no secret shows in this text".
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from safezmq.constants import Errno, ProtocolErrorCode
from safezmq.error import ZMQError
from safezmq.protocol import (
    Connection,
    HandshakeComplete,
    ProtocolError,
    State,
    ZapReply,
    ZapRequest,
    ZapRequestNeeded,
    curve_keypair,
)
from safezmq.protocol.commands import error_command
from safezmq.protocol.frames import COMMAND, LONG, encode_command
from safezmq.protocol.greeting import GREETING_SIZE
from safezmq.protocol.metadata import Metadata
from safezmq.protocol.z85 import decode as z85_decode
from safezmq.protocol.zap import reply_for

# -- shared credentials ---------------------------------------------------------------------------

#: The PLAIN password the tests configure, and a wrong one; neither may ever be displayed.
PASSWORD = b"correct-horse-battery-staple"
WRONG_PASSWORD = b"Tr0ub4dor&3-wrong"
USERNAME = b"admin"
#: CURVE key pairs (Z85), made once per test session.
SERVER_PUBLIC, SERVER_SECRET = curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = curve_keypair()
OTHER_PUBLIC, OTHER_SECRET = curve_keypair()

T = TypeVar("T")
ZapHandler = Callable[[ZapRequest], ZapReply | None]


def flush(conn: Connection) -> bytes:
    return b"".join(bytes(b) for b in conn.data_to_send())


@dataclass
class Link:
    """Moves bytes between ``a`` and ``b`` until both are quiet, collecting what each reports.

    A ZapRequestNeeded is answered at once: by ``zap_handler`` when given (it may return None to
    leave the request pending), else with ``zap_status``/``zap_user``/``zap_metadata``.
    """

    a: Connection
    b: Connection
    events_a: list[object] = field(default_factory=list)
    events_b: list[object] = field(default_factory=list)
    zap_status: int | None = 200
    zap_user: bytes = b"user"
    zap_metadata: dict[str, bytes] = field(default_factory=dict)
    zap_handler: ZapHandler | None = None
    #: Every ZAP request seen, in order.
    zap_requests: list[ZapRequest] = field(default_factory=list)

    def pump(self, chunk: int | None = None) -> None:
        for _ in range(100):
            moved = False
            pairs = ((self.a, self.b, self.events_b), (self.b, self.a, self.events_a))
            for src, dst, events in pairs:
                data = flush(src)
                if not data:
                    continue
                moved = True
                step = chunk or len(data)
                for i in range(0, len(data), step):
                    got = dst.receive_data(data[i : i + step])
                    events += got
                    self._answer_zap(dst, got, events)
            if not moved:
                return
        raise AssertionError("link never went quiet")

    def _answer_zap(self, conn: Connection, got: list[object], events: list[object]) -> None:
        for event in got:
            if not isinstance(event, ZapRequestNeeded):
                continue
            self.zap_requests.append(event.request)
            if self.zap_handler is not None:
                reply = self.zap_handler(event.request)
            elif self.zap_status is not None:
                reply = reply_for(
                    event.request, self.zap_status, b"", self.zap_user, self.zap_metadata
                )
            else:
                reply = None
            if reply is not None:
                events += conn.zap_reply(reply)

    def handshake(self, chunk: int | None = None) -> tuple[HandshakeComplete, HandshakeComplete]:
        """Pump until quiet; return each side's single HandshakeComplete."""
        self.pump(chunk)
        return only(self.events_a, HandshakeComplete), only(self.events_b, HandshakeComplete)


def messages(events: list[object]) -> list[list[bytes]]:
    return [[bytes(f) for f in e] for e in events if isinstance(e, list)]


def of_type(events: Iterable[object], cls: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, cls)]


def only(events: Iterable[object], cls: type[T]) -> T:
    found = of_type(events, cls)
    assert len(found) == 1, f"expected one {cls.__name__}, got {found!r}"
    return found[0]


def deliver(src: Connection, dst: Connection) -> list[object]:
    """Flush ``src`` and feed it all to ``dst`` in one call."""
    return dst.receive_data(flush(src))


def exchange_greetings(a: Connection, b: Connection) -> tuple[list[object], list[object]]:
    """Give each side the other's greeting only (nothing after it)."""
    ga, gb = flush(a), flush(b)
    assert len(ga) == len(gb) == GREETING_SIZE
    return b.receive_data(ga), a.receive_data(gb)


# -- wire bytes -----------------------------------------------------------------------------------


def split_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split complete wire frames (no greeting) into ``(flags, body)`` pairs."""
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        flags = data[pos]
        if flags & LONG:
            size = int.from_bytes(data[pos + 1 : pos + 9], "big")
            start = pos + 9
        else:
            size = data[pos + 1]
            start = pos + 2
        assert start + size <= len(data), "truncated frame"
        frames.append((flags, data[start : start + size]))
        pos = start + size
    return frames


def commands_of(data: bytes) -> list[bytes]:
    """The bodies of the command frames in ``data`` (a greeting in front is skipped)."""
    if data[:1] == b"\xff" and len(data) >= GREETING_SIZE and data[9:10] == b"\x7f":
        data = data[GREETING_SIZE:]
    return [body for flags, body in split_frames(data) if flags & COMMAND]


def errors_of(data: bytes) -> list[bytes]:
    """The reasons of the ERROR commands in ``data`` (unencrypted output)."""
    return [body[7:] for body in commands_of(data) if body[:6] == b"\x05ERROR"]


def patch_greeting(greeting: bytes, offset: int, value: int) -> bytes:
    assert len(greeting) >= GREETING_SIZE
    return greeting[:offset] + bytes((value,)) + greeting[offset + 1 :]


def greeting_30(greeting: bytes) -> bytes:
    """The same greeting announcing ZMTP 3.0 (octet 11 is the minor version)."""
    return patch_greeting(greeting, 11, 0)


def command_frame(name: bytes, data: bytes = b"") -> bytes:
    return encode_command(bytes((len(name),)) + name + data)


# -- failures -------------------------------------------------------------------------------------


@functools.cache
def secret_texts() -> list[str]:
    """Every rendering of the test secrets that must never show in a repr or message."""
    texts: list[str] = []
    for password in (PASSWORD, WRONG_PASSWORD):
        texts += [password.decode(), repr(password)[2:-1]]
    for z85_key in (SERVER_SECRET, CLIENT_SECRET, OTHER_SECRET):
        raw = z85_decode(z85_key)
        texts += [z85_key.decode(), raw.hex(), repr(raw)[2:-1], raw.decode("latin-1")]
    return texts


def assert_no_secrets(*objects: object) -> None:
    """Neither repr() nor str() of any object shows a test password or CURVE secret key."""
    secrets = secret_texts()
    for obj in objects:
        for text in (repr(obj), str(obj)):
            for secret in secrets:
                assert secret not in text, f"a secret shows in {type(obj).__name__}: {text!r}"


E = TypeVar("E", bound=ProtocolError)


def check_error_message(exc: ProtocolError) -> None:
    """A protocol error's message is one printable ASCII line (peer bytes escaped) and shows
    no secret."""
    assert str(exc).isascii() and str(exc).isprintable(), repr(str(exc))
    assert_no_secrets(exc)


@contextlib.contextmanager
def raises(cls: type[E]) -> Iterator[pytest.ExceptionInfo[E]]:
    """``pytest.raises`` for protocol errors, with ``check_error_message`` on what was raised."""
    with pytest.raises(cls) as info:
        yield info
    check_error_message(info.value)


def expect_failure(
    conn: Connection,
    action: Callable[[], object],
    exc_type: type[ProtocolError],
    code: ProtocolErrorCode,
    *,
    auth_status: int | None = None,
    error: bytes | None = None,
) -> ProtocolError:
    """Run ``action`` (which feeds ``conn``) and check it fails exactly as described.

    ``error`` is the reason of the one ERROR command ``conn`` must queue and nothing else, or None
    for "nothing at all".  The connection's earlier output must have been flushed by the caller.
    """
    with pytest.raises(ProtocolError) as info:
        action()
    exc = info.value
    assert type(exc) is exc_type, f"{type(exc).__name__} ({exc}) is not {exc_type.__name__}"
    assert exc.code is code, f"{exc.code!r} ({exc}) is not {code!r}"
    assert exc.auth_status == auth_status
    check_error_message(exc)
    assert conn.state is State.CLOSED
    assert conn.zap_request is None
    # The failing call queues nothing but its ERROR (no READY, PONG or half a handshake).
    sent = flush(conn)
    assert sent == (b"" if error is None else encode_command(error_command(error)))
    assert_no_secrets(exc, conn, conn.mechanism)
    # A closed connection takes no more input and sends nothing.
    with pytest.raises(ZMQError) as closed:
        conn.receive_data(b"\x04\x06\x05READY")
    assert closed.value.errno == Errno.EFSM
    assert conn.data_to_send() == []
    return exc


def feed(conn: Connection, data: bytes) -> Callable[[], list[object]]:
    """A thunk that feeds ``data`` to ``conn`` (for ``expect_failure``)."""
    return lambda: conn.receive_data(data)


def zap_frames(
    request: ZapRequest,
    *,
    version: bytes = b"1.0",
    request_id: bytes | None = None,
    status: bytes = b"200",
    text: bytes = b"OK",
    user_id: bytes = b"user",
    metadata: bytes = b"",
) -> list[bytes]:
    """A ZAP reply as frames (delimiter first), with any field replaced."""
    rid = request.request_id if request_id is None else request_id
    return [b"", version, rid, status, text, user_id, metadata]


def metadata_eq(metadata: Metadata, expected: dict[str, bytes]) -> bool:
    return dict(metadata.items()) == expected


__all__ = [
    "CLIENT_PUBLIC",
    "CLIENT_SECRET",
    "OTHER_PUBLIC",
    "OTHER_SECRET",
    "PASSWORD",
    "SERVER_PUBLIC",
    "SERVER_SECRET",
    "USERNAME",
    "WRONG_PASSWORD",
    "Link",
    "ZapReply",
    "assert_no_secrets",
    "check_error_message",
    "command_frame",
    "commands_of",
    "deliver",
    "errors_of",
    "exchange_greetings",
    "expect_failure",
    "feed",
    "flush",
    "greeting_30",
    "messages",
    "metadata_eq",
    "of_type",
    "only",
    "patch_greeting",
    "raises",
    "split_frames",
    "zap_frames",
]
