"""Slow and absent consumers, and LINGER at term().

libzmq behaviour mirrored: PUB drops for a subscriber whose pipe is full (never blocks);
ROUTER drops a message for a full peer pipe unless ROUTER_MANDATORY (then EAGAIN); PUSH with
no peer blocks, so send raises EAGAIN after SNDTIMEO.  Pipe memory stays within the HWM in
messages and safezmq's byte budget per pipe direction (libzmq has no byte budget).  term()
waits for queued messages for LINGER ms (-1: until sent; 0: drops at once).
"""

from __future__ import annotations

import subprocess
import time

import pytest

import safezmq

from . import peers, probe

pytestmark = pytest.mark.timeout(60)

BODY = b"x" * 10_000
HWM = 100


def _rss_growth_after(send: object, count: int) -> int:
    before = probe.rss_bytes()
    for _ in range(count):
        send()  # type: ignore[operator]
    return probe.rss_bytes() - before


def test_pub_to_a_subscriber_that_never_reads(figures: probe.FigureSink) -> None:
    ctx = safezmq.Context()
    try:
        pub = ctx.socket(safezmq.PUB)
        pub.linger = 0
        pub.sndhwm = HWM
        pub.bind("tcp://127.0.0.1:*")
        sub = ctx.socket(safezmq.SUB)
        sub.linger = 0
        sub.rcvhwm = HWM
        sub.subscribe(b"")
        sub.connect(pub.getsockopt_string(safezmq.LAST_ENDPOINT))
        time.sleep(0.3)
        count = 20_000  # 200 MB offered; a PUB never blocks
        start = time.monotonic()
        growth = _rss_growth_after(lambda: pub.send(BODY), count)
        elapsed = time.monotonic() - start
        # Queued at most: HWM on each side plus kernel buffers; far below what was offered.
        assert growth < 64 * 2**20, growth
        received = 0
        while sub.poll(500):
            sub.recv()
            received += 1
        assert 0 < received < count
    finally:
        ctx.destroy(linger=0)
    figures.add("offered/received (rest dropped by PUB's rule)", f"{count}/{received}")
    figures.add("RSS growth MiB", f"{growth / 2**20:.1f}")
    figures.add("send never blocked: seconds for all sends", f"{elapsed:.1f}")


def test_router_to_a_peer_that_never_reads(figures: probe.FigureSink) -> None:
    ctx = safezmq.Context()
    try:
        router = ctx.socket(safezmq.ROUTER)
        router.linger = 0
        router.sndhwm = HWM
        router.bind("tcp://127.0.0.1:*")
        dealer = ctx.socket(safezmq.DEALER)
        dealer.linger = 0
        dealer.rcvhwm = HWM
        dealer.routing_id = b"slow"
        dealer.connect(router.getsockopt_string(safezmq.LAST_ENDPOINT))
        dealer.send(b"hello")
        assert router.recv_multipart() == [b"slow", b"hello"]
        growth = _rss_growth_after(lambda: router.send_multipart([b"slow", BODY]), 10_000)
        assert growth < 64 * 2**20, growth
        # ROUTER_MANDATORY: a full pipe is EAGAIN, not a silent drop.
        router.router_mandatory = True
        router.sndtimeo = 100
        with pytest.raises(safezmq.Again):
            for _ in range(10_000):
                router.send_multipart([b"slow", BODY])
    finally:
        ctx.destroy(linger=0)
    figures.add("RSS growth MiB (10,000 x 10 kB offered)", f"{growth / 2**20:.1f}")


def test_push_with_every_pull_gone_honours_sndtimeo(figures: probe.FigureSink) -> None:
    peer = peers.start_code(peers.PULL_PEER, "tcp://127.0.0.1:*")
    ctx = safezmq.Context()
    try:
        push = ctx.socket(safezmq.PUSH)
        push.linger = 0
        push.sndhwm = HWM
        push.connect(peer.ready_line[0])  # type: ignore[attr-defined]
        push.send(b"first")
        peers.kill9(peer)
        time.sleep(0.3)
        push.sndtimeo = 300
        sent = 0
        start = time.monotonic()
        with pytest.raises(safezmq.Again):
            for _ in range(100_000):
                push.send(BODY)
                sent += 1
        blocked = time.monotonic() - start
        # The connecter keeps its pipe (libzmq: without IMMEDIATE, a pipe exists for a
        # connect() endpoint), so up to SNDHWM messages are accepted, then send times out.
        assert sent <= 2 * HWM + 10, sent
        assert blocked >= 0.25, blocked
    finally:
        ctx.destroy(linger=0)
    figures.add("accepted before EAGAIN", sent)


LINGER_RECEIVER = """
import sys, time, safezmq
ctx = safezmq.Context()
s = ctx.socket(safezmq.PULL)
s.rcvhwm = 10
s.bind("tcp://127.0.0.1:*")
print("READY", s.getsockopt_string(safezmq.LAST_ENDPOINT), flush=True)
seen = []
while True:
    if not s.poll(3000):
        break
    seen.append(int(s.recv().split()[0]))
    time.sleep(0.0005)  # slow but live
print("RESULT", len(seen), len(set(seen)), seen == sorted(seen), flush=True)
"""


def _receiver_result(proc: subprocess.Popen[str]) -> tuple[int, int, bool]:
    out, _ = proc.communicate(timeout=60)
    line = [x for x in out.splitlines() if x.startswith("RESULT")][-1].split()
    return int(line[1]), int(line[2]), line[3] == "True"


@pytest.mark.parametrize("linger", [-1, 0, 500])
def test_term_with_linger(linger: int, figures: probe.FigureSink) -> None:
    n = 2000
    peer = peers.start_code(LINGER_RECEIVER)
    ctx = safezmq.Context()
    push = ctx.socket(safezmq.PUSH)
    push.sndhwm = n * 2
    push.linger = linger
    push.connect(peer.ready_line[0])  # type: ignore[attr-defined]
    for i in range(n):
        push.send((b"%d " % i).ljust(10_000))  # 20 MB: more than kernel buffers hold
    push.close()
    start = time.monotonic()
    ctx.term()
    took = time.monotonic() - start
    received, distinct, ordered = _receiver_result(peer)
    assert received == distinct and ordered, "a message was duplicated or reordered"
    if linger == -1:
        assert received == n
        assert took > 0.2, "term() returned before the slow peer could have received all"
    elif linger == 0:
        assert took < 0.5, took
    else:
        assert took < linger / 1000 + 1.0, took
    figures.add("term() seconds / delivered", f"{took:.2f} / {received} of {n}")
