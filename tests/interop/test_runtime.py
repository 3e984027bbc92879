"""safezmq sockets against libzmq sockets (pyzmq): PAIR and PUSH/PULL over tcp and ipc, each
library on either side, either side binding, messages both ways."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

import safezmq

LIBS = {"safezmq": safezmq, "libzmq": zmq}


@pytest.fixture
def contexts() -> Iterator[dict[str, Any]]:
    ctxs = {"safezmq": safezmq.Context(), "libzmq": zmq.Context()}
    yield ctxs
    ctxs["safezmq"].destroy(linger=0)
    ctxs["libzmq"].destroy(linger=0)


def connect_pair(
    contexts: dict[str, Any],
    a_lib: str,
    a_type: int,
    b_type: int,
    transport: str,
    a_binds: bool,
    tmp_path: Any,
) -> tuple[Any, Any]:
    b_lib = "libzmq" if a_lib == "safezmq" else "safezmq"
    a = contexts[a_lib].socket(a_type)
    b = contexts[b_lib].socket(b_type)
    for s in (a, b):
        s.linger = 0
        s.rcvtimeo = 5000
        s.sndtimeo = 5000
    binder, connecter = (a, b) if a_binds else (b, a)
    if transport == "tcp":
        binder.bind("tcp://127.0.0.1:*")
    else:
        binder.bind(f"ipc://{os.path.join(str(tmp_path), 'interop.sock')}")
    connecter.connect(binder.getsockopt(zmq.LAST_ENDPOINT).decode())
    return a, b


CASES = [
    (lib, transport, a_binds)
    for lib in ("safezmq", "libzmq")
    for transport in ("tcp", "ipc")
    for a_binds in (True, False)
]


@pytest.mark.parametrize(("a_lib", "transport", "a_binds"), CASES)
def test_push_pull(
    contexts: dict[str, Any], a_lib: str, transport: str, a_binds: bool, tmp_path: Any
) -> None:
    push, pull = connect_pair(contexts, a_lib, zmq.PUSH, zmq.PULL, transport, a_binds, tmp_path)
    messages = [[b"n%d" % i, b"", b"x" * (i * 997)] for i in range(50)]
    messages.append([b"big", b"y" * 3_000_000])
    for msg in messages:
        push.send_multipart(msg)
    for msg in messages:
        assert pull.recv_multipart() == msg


@pytest.mark.parametrize(("a_lib", "transport", "a_binds"), CASES)
def test_pair_both_ways(
    contexts: dict[str, Any], a_lib: str, transport: str, a_binds: bool, tmp_path: Any
) -> None:
    a, b = connect_pair(contexts, a_lib, zmq.PAIR, zmq.PAIR, transport, a_binds, tmp_path)
    for i in range(20):
        a.send_multipart([b"ping", b"%d" % i])
        assert b.recv_multipart() == [b"ping", b"%d" % i]
        b.send_multipart([b"pong", b"%d" % i, b"z" * 70_000])
        assert a.recv_multipart() == [b"pong", b"%d" % i, b"z" * 70_000]


def test_incompatible_socket_types_are_refused(contexts: dict[str, Any]) -> None:
    """A libzmq PUSH cannot talk to a safezmq PUSH: the handshake fails on both sides."""
    ours = contexts["safezmq"].socket(safezmq.PUSH)
    ours.linger = 0
    mon = ours.get_monitor_socket()
    ours.bind("tcp://127.0.0.1:*")
    theirs = contexts["libzmq"].socket(zmq.PUSH)
    theirs.linger = 0
    theirs.connect(ours.last_endpoint.decode())
    from safezmq.utils.monitor import recv_monitor_message

    mon.rcvtimeo = 5000
    events = []
    while safezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL not in events:
        msg = recv_monitor_message(mon)
        events.append(msg["event"])
        if msg["event"] == safezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            assert msg["value"] == safezmq.PROTOCOL_ERROR_ZMTP_INVALID_METADATA
    assert safezmq.EVENT_HANDSHAKE_SUCCEEDED not in events
