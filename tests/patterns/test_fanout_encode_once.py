"""A PUB with several subscribers encodes each message once, not once per subscriber."""

from __future__ import annotations

import time
from typing import Any

import pytest

import safezmq
from safezmq.protocol import connection

COUNT = 3000
SUBSCRIBERS = 3


def _subscribed(pub: safezmq.Socket, subs: list[safezmq.Socket]) -> None:
    deadline = time.monotonic() + 10
    seen: set[int] = set()
    while len(seen) < len(subs):
        assert time.monotonic() < deadline, "subscribers never joined"
        pub.send(b"hello")
        for i, sub in enumerate(subs):
            while sub.poll(10):
                sub.recv()
                seen.add(i)


@pytest.mark.parametrize("topics", [[b""] * SUBSCRIBERS, [b"a", b"b", b"a"]])
def test_pub_encodes_each_message_once(
    ctx: safezmq.Context, monkeypatch: pytest.MonkeyPatch, topics: list[bytes]
) -> None:
    encoded: list[int] = []
    real = connection.encode_single_frame_messages

    def counting(messages: Any) -> bytes | None:
        wire = real(messages)
        if wire is not None:
            encoded.append(len(messages))
        return wire

    monkeypatch.setattr(connection, "encode_single_frame_messages", counting)
    pub = ctx.socket(safezmq.PUB)
    pub.sndhwm = COUNT * 2
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    subs = []
    for topic in topics:
        sub = ctx.socket(safezmq.SUB)
        sub.rcvhwm = COUNT * 2
        sub.subscribe(topic)
        sub.subscribe(b"hello")
        sub.connect(f"tcp://127.0.0.1:{port}")
        subs.append(sub)
    _subscribed(pub, subs)
    shared = pub._engine.shared_encoding
    assert shared is not None
    encoded.clear()
    before = shared.encoded + shared.reused
    sent = {b"a": 0, b"b": 0}
    for i in range(COUNT):
        topic = b"ab"[i % 2 : i % 2 + 1]
        pub.send(topic + b"-%05d" % i + b"." * 50)
        sent[topic] += 1
    for sub, topic in zip(subs, topics, strict=True):
        want = COUNT if topic == b"" else sent[topic]
        got = [sub.recv() for _ in range(want)]
        # Filtering still happens per subscriber, and every message arrives intact, in order.
        assert all(m.startswith(topic) for m in got)
        assert [int(m[2:7]) for m in got] == sorted(int(m[2:7]) for m in got)
        assert sub.poll(50) == 0
    # The sessions pulled (nearly) all of it through the shared encoding -- the rest, if any,
    # in batches too small to share -- and no message was encoded twice: without sharing every
    # subscriber encodes all it gets (3 x COUNT for three catch-all subscribers).
    delivered = COUNT * SUBSCRIBERS if topics[1] == b"" else COUNT + sent[b"a"]
    assert shared.encoded + shared.reused - before >= delivered * 0.9
    assert sum(encoded) <= COUNT
    for sub in subs:
        sub.close(0)
    pub.close(0)


def test_other_socket_types_share_nothing(ctx: safezmq.Context) -> None:
    push = ctx.socket(safezmq.PUSH)
    push.bind_to_random_port("tcp://127.0.0.1")
    assert push._engine.shared_encoding is None
    push.close(0)
