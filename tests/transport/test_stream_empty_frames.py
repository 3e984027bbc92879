"""An empty frame after a large one must not hang the I/O thread.

The stream sends a message's buffers (headers and bodies) with sendmsg, and drops each one as
the kernel takes it.  An empty body left alone at the head of the queue used to be sent with
send(), which returns 0 for it, so the flush loop spun for ever: every socket of the context
stalled and term() hung.  A large frame first makes the stream keep bodies as separate
buffers (small ones are joined into one write).
"""

from __future__ import annotations

import pytest

import safezmq as zmq

LARGE = 1 << 20


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "messages",
    [
        [[bytes(LARGE), b""]] * 3,  # multipart: the empty frame ends each message
        [[bytes(LARGE)], [b""], [bytes(LARGE)], [b""]],  # single-frame messages
        [[b"", bytes(LARGE), b"", b""]],
    ],
    ids=["large-then-empty", "alternating", "empties-around"],
)
def test_empty_frames_after_a_large_one_are_delivered(messages: list[list[bytes]]) -> None:
    ctx = zmq.Context()
    try:
        pull = ctx.socket(zmq.PULL)
        push = ctx.socket(zmq.PUSH)
        for sock in (pull, push):
            sock.linger = 0
        pull.rcvtimeo = 10_000
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push.connect(f"tcp://127.0.0.1:{port}")
        for msg in messages:
            push.send_multipart(msg)
        for msg in messages:
            assert pull.recv_multipart() == msg
        # The I/O thread is still serving: a message sent after them arrives too.
        push.send(b"after")
        assert pull.recv() == b"after"
        push.close()
        pull.close()
    finally:
        ctx.term()
