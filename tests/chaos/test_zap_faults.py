"""Authenticators that hang, answer late, answer garbage, or go away.

libzmq behaviour mirrored: a handshake waiting for ZAP is bounded by HANDSHAKE_IVL (the
handshake timer keeps running while the ZAP request is out); a malformed ZAP reply fails the
handshake (HANDSHAKE_FAILED_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZAP_*); connections already
established are not touched by anything the handler does.  Where safezmq differs: when the
handler's socket goes away, libzmq's CURVE server fails the handshake with ZAP unavailable
too (since 4.3, ``zap_required`` unless ZAP_ENFORCE_DOMAIN is off) -- safezmq always fails
closed; and a replacement handler bound again at inproc://zeromq.zap.01 is used for the next
handshakes, as in libzmq (each session connects to the ZAP endpoint afresh).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import safezmq
from safezmq.constants import Event
from safezmq.utils.monitor import recv_monitor_message

from . import peers, probe

pytestmark = pytest.mark.timeout(60)
HANDSHAKE_IVL = 1000


class Rig:
    """A CURVE ROUTER server with an established client, and a way to make new clients."""

    def __init__(self) -> None:
        self.ctx = safezmq.Context()
        self.public, secret = safezmq.curve_keypair()
        self.handler: safezmq.Socket | None = None
        self.bind_handler()
        self.server = self.ctx.socket(safezmq.ROUTER)
        self.server.linger = 0
        self.server.rcvtimeo = 5000
        self.server.handshake_ivl = HANDSHAKE_IVL
        self.server.curve_server = True
        self.server.curve_secretkey = secret
        self.monitor = self.server.get_monitor_socket()
        self.server.bind("tcp://127.0.0.1:*")
        self.endpoint = self.server.getsockopt_string(safezmq.LAST_ENDPOINT)
        self.established = self.client()
        self.answer(self.take())
        self.round_trip(self.established)
        peers.events_until(self.monitor, Event.HANDSHAKE_SUCCEEDED, 10)

    def bind_handler(self) -> None:
        self.handler = self.ctx.socket(safezmq.REP)
        self.handler.linger = 0
        self.handler.bind("inproc://zeromq.zap.01")

    def take(self) -> list[bytes]:
        assert self.handler is not None and self.handler.poll(10_000), "no ZAP request"
        return self.handler.recv_multipart()

    def answer(self, request: list[bytes], status: bytes = b"200") -> None:
        assert self.handler is not None
        self.handler.send_multipart([request[0], request[1], status, b"", b"user", b""])

    def client(self) -> safezmq.Socket:
        c = self.ctx.socket(safezmq.DEALER)
        c.linger = 0
        c.rcvtimeo = 5000
        c.curve_serverkey = self.public
        c.curve_publickey, c.curve_secretkey = safezmq.curve_keypair()
        c.connect(self.endpoint)
        return c

    def round_trip(self, c: safezmq.Socket) -> None:
        c.send(b"ping")
        ident, _body = self.server.recv_multipart()
        self.server.send_multipart([ident, b"pong"])
        assert c.recv() == b"pong"

    def failed_within(self, seconds: float) -> tuple[float, list[int]]:
        start = time.monotonic()
        events = []
        while time.monotonic() - start < seconds:
            if self.monitor.poll(50):
                e = recv_monitor_message(self.monitor)["event"]
                events.append(e)
                if e in (
                    Event.HANDSHAKE_FAILED_PROTOCOL,
                    Event.HANDSHAKE_FAILED_AUTH,
                    Event.HANDSHAKE_FAILED_NO_DETAIL,
                ):
                    return time.monotonic() - start, events
        raise AssertionError(f"no handshake failure within {seconds} s: {events}")

    def close(self) -> None:
        self.ctx.destroy(linger=0)


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.close()


def test_handler_that_never_answers(rig: Rig, figures: probe.FigureSink) -> None:
    c = rig.client()
    rig.take()  # and never answer
    took, events = rig.failed_within(HANDSHAKE_IVL / 1000 + 5)
    assert took < HANDSHAKE_IVL / 1000 + 3, took
    rig.round_trip(rig.established)
    c.close()
    figures.add("handshake failed after s", f"{took:.2f} ({events})")


def test_handler_that_answers_late(rig: Rig, figures: probe.FigureSink) -> None:
    rig.client()
    request = rig.take()
    took, _ = rig.failed_within(HANDSHAKE_IVL / 1000 + 5)
    rig.answer(request)  # after the deadline: harmless
    rig.round_trip(rig.established)
    # The next client, answered in time, is admitted.
    late = rig.client()
    rig.answer(rig.take())
    rig.round_trip(late)
    figures.add("handshake failed after s", f"{took:.2f}")


@pytest.mark.parametrize(
    "reply",
    [
        [b"1.0", b"wrong-id", b"200", b"", b"", b""],
        [b"9.9", b"1", b"200", b"", b"", b""],
        [b"junk"],
        [b"1.0", b"1", b"999", b"", b"", b""],
    ],
    ids=["wrong-request-id", "wrong-version", "too-short", "bad-status"],
)
def test_handler_that_answers_garbage(rig: Rig, reply: list[bytes]) -> None:
    c = rig.client()
    request = rig.take()
    assert rig.handler is not None
    # Keep the envelope the REP socket needs, then the garbage.
    garbage = list(reply)
    if len(garbage) >= 2 and garbage[1] == b"1":
        garbage[1] = request[1]
    rig.handler.send_multipart(garbage)
    rig.failed_within(HANDSHAKE_IVL / 1000 + 5)
    rig.round_trip(rig.established)
    c.close()


def test_handler_that_exits_then_restarts(rig: Rig) -> None:
    assert rig.handler is not None
    rig.handler.close(0)
    rig.handler = None
    c = rig.client()
    rig.failed_within(HANDSHAKE_IVL / 1000 + 5)  # fail closed without a handler
    rig.round_trip(rig.established)
    c.close()
    rig.bind_handler()
    again = rig.client()
    rig.answer(rig.take())
    rig.round_trip(again)


def test_hung_handler_memory_stays_bounded(rig: Rig, figures: probe.FigureSink) -> None:
    """Many clients against a handler that never answers: pending requests die with their
    handshake deadline, so memory and sessions do not grow with the attempts."""
    before = probe.rss_bytes()
    clients = []
    for _ in range(200):
        clients.append(rig.client())
    deadline = time.monotonic() + HANDSHAKE_IVL / 1000 + 5
    taken = 0
    assert rig.handler is not None
    while time.monotonic() < deadline:
        if rig.handler.poll(50):
            rig.handler.recv_multipart()
            taken += 1
            rig.handler.close(0)  # a REP must answer; drop and rebind to keep taking
            rig.bind_handler()
    for c in clients:
        c.close(0)
    rig.round_trip(rig.established)
    rig.server.poll(0)
    sessions = probe.settle(
        lambda: [] if probe.live_objects()["Session"] <= 2 else ["sessions left"], 10
    )
    growth = probe.rss_bytes() - before
    assert sessions == [], probe.live_objects()
    assert growth < 32 * 2**20, growth
    figures.add("ZAP requests taken / RSS growth MiB", f"{taken} / {growth / 2**20:.1f}")
