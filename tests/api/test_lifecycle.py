"""Lifecycle: term, linger, reconnect, handshake and heartbeat deadlines, atomicity."""

from __future__ import annotations

import socket
import threading
import time

import pytest

import safezmq as zmq
from safezmq.protocol.commands import command
from safezmq.protocol.frames import encode_command
from safezmq.protocol.greeting import build_greeting
from safezmq.protocol.metadata import encode_metadata
from safezmq.utils.monitor import recv_monitor_message
from tests.conftest import bind

PUSH_READY = encode_command(command(b"READY", encode_metadata({"Socket-Type": b"PUSH"})))


def wait_for_event(mon: zmq.Socket, event: int, timeout: float = 5.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        if mon.poll(100):
            msg = recv_monitor_message(mon)
            seen.append(msg["event"])
            if msg["event"] == event:
                return msg
    raise AssertionError(f"event {event!r} not seen; saw {seen}")


def test_term_wakes_blocked_recv_in_another_thread() -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    sock.bind("inproc://blocked")
    outcome: list[str] = []

    def blocked() -> None:
        try:
            sock.recv()
        except zmq.ContextTerminated:
            outcome.append("ETERM")
        sock.close()

    thread = threading.Thread(target=blocked)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    ctx.term()
    thread.join(5)
    assert outcome == ["ETERM"]
    assert time.monotonic() - started < 3
    assert ctx.closed
    with pytest.raises(zmq.ZMQError):
        ctx.socket(zmq.PUSH)


def test_term_waits_for_open_sockets() -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    done = threading.Event()

    def terminate() -> None:
        ctx.term()
        done.set()

    threading.Thread(target=terminate).start()
    assert not done.wait(0.3), "term() returned while a socket was still open"
    sock.close()
    assert done.wait(5)


def test_linger_delivers_queued_messages_after_close(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    address = bind(pull, "tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.linger = 2000
    push.connect(address)
    for i in range(100):
        push.send(b"%d" % i)
    push.close()  # lingers until the messages are out
    pull.rcvtimeo = 5000
    assert [pull.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]


def test_linger_zero_drops_and_term_does_not_hang() -> None:
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect("tcp://127.0.0.1:9")  # nobody there: messages stay queued
    for _ in range(10):
        push.send(b"never delivered")
    started = time.monotonic()
    push.close(linger=0)
    ctx.term()
    assert time.monotonic() - started < 2


def test_linger_expires_with_undeliverable_messages() -> None:
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect("tcp://127.0.0.1:9")
    push.send(b"stuck")
    started = time.monotonic()
    push.close(linger=300)
    ctx.term()
    elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 3


def test_reconnect_after_peer_restart_loses_nothing_within_hwm(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    address = bind(pull, "tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.reconnect_ivl = 50
    push.connect(address)
    push.send(b"before")
    pull.rcvtimeo = 5000
    assert pull.recv() == b"before"
    pull.close()
    time.sleep(0.2)  # the connection is gone; messages now queue in the pipe
    for i in range(50):
        push.send(b"while away %d" % i)
    again = ctx.socket(zmq.PULL)
    again.linger = 0
    again.rcvtimeo = 5000
    again.bind(address)
    assert [again.recv() for _ in range(50)] == [b"while away %d" % i for i in range(50)]


def test_immediate_does_not_queue_for_absent_peers(ctx: zmq.Context) -> None:
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.immediate = 1
    push.connect("tcp://127.0.0.1:9")
    with pytest.raises(zmq.Again):
        push.send(b"nowhere to go", zmq.DONTWAIT)


def test_sndtimeo_and_rcvtimeo(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.rcvtimeo = 100
    started = time.monotonic()
    with pytest.raises(zmq.Again):
        pull.recv()
    assert 0.08 < time.monotonic() - started < 2
    push = ctx.socket(zmq.PUSH)
    push.sndtimeo = 100
    with pytest.raises(zmq.Again):
        push.send(b"no peer")


def test_stalled_greeting_is_closed_at_handshake_ivl(ctx: zmq.Context) -> None:
    server = ctx.socket(zmq.PULL)
    server.linger = 0
    server.handshake_ivl = 300
    mon = server.get_monitor_socket()
    address = bind(server, "tcp://127.0.0.1:*")
    host, port = address[len("tcp://") :].rsplit(":", 1)
    silent = socket.create_connection((host, int(port)))
    try:
        event = wait_for_event(mon, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        assert event["value"] == zmq.ETIMEDOUT
        silent.settimeout(5)
        data = silent.recv(100)  # our greeting...
        while data:
            data = silent.recv(100)  # ...then the close
    finally:
        silent.close()


def test_heartbeat_timeout_drops_silent_peer(ctx: zmq.Context) -> None:
    """A peer that completes the handshake, then never answers PINGs, is disconnected."""
    server = ctx.socket(zmq.PULL)
    server.linger = 0
    server.heartbeat_ivl = 100
    server.heartbeat_timeout = 300
    mon = server.get_monitor_socket()
    address = bind(server, "tcp://127.0.0.1:*")
    host, port = address[len("tcp://") :].rsplit(":", 1)
    raw = socket.create_connection((host, int(port)))
    try:
        raw.sendall(build_greeting(b"NULL", False))
        raw.sendall(PUSH_READY)
        wait_for_event(mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
        started = time.monotonic()
        wait_for_event(mon, zmq.EVENT_DISCONNECTED)
        assert time.monotonic() - started < 3
    finally:
        raw.close()


def test_partial_multipart_from_a_dying_peer_is_never_delivered(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    address = bind(pull, "tcp://127.0.0.1:*")
    host, port = address[len("tcp://") :].rsplit(":", 1)
    for _ in range(5):
        raw = socket.create_connection((host, int(port)))
        raw.sendall(build_greeting(b"NULL", False))
        raw.sendall(PUSH_READY)
        raw.sendall(b"\x01\x05part1")  # MORE set: the message is not finished
        raw.close()
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(address)
    push.send(b"whole")
    pull.rcvtimeo = 5000
    assert pull.recv_multipart() == [b"whole"]
    with pytest.raises(zmq.Again):
        pull.recv(zmq.DONTWAIT)


def test_max_sockets() -> None:
    ctx = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, 3)
    socks = [ctx.socket(zmq.PAIR) for _ in range(3)]
    with pytest.raises(zmq.ZMQError) as info:
        ctx.socket(zmq.PAIR)
    assert info.value.errno == zmq.EMFILE
    assert "MAX_SOCKETS" in str(info.value)
    assert ctx.get(zmq.MAX_SOCKETS) == 3
    assert ctx.get(zmq.SOCKET_LIMIT) >= 1023
    for s in socks:
        s.close()
    ctx.term()


def test_default_max_sockets_is_libzmqs() -> None:
    ctx = zmq.Context()
    assert ctx.get(zmq.MAX_SOCKETS) == 1023
    assert ctx.max_sockets == 1023
    ctx.term()


def test_instance_is_fresh_after_term() -> None:
    first = zmq.Context.instance()
    assert zmq.Context.instance() is first
    first.term()
    second = zmq.Context.instance()
    assert second is not first and not second.closed
    second.term()


def test_context_manager_destroys() -> None:
    with zmq.Context() as ctx:
        sock = ctx.socket(zmq.PUSH)
        sock.linger = 0  # LINGER -1 (libzmq's default) would wait forever for this peer
        sock.connect("tcp://127.0.0.1:9")
        sock.send(b"dropped")
    assert ctx.closed and sock.closed


def test_a_context_collected_on_its_own_io_thread_does_not_wait_for_itself() -> None:
    """The garbage collector may finalise a context on any thread, its own I/O thread
    included: closing must not wait there for engines that only that thread can close."""
    ctx = zmq.Context()
    server = ctx.socket(zmq.PAIR)
    client = ctx.socket(zmq.PAIR)
    client.connect(bind(server, "tcp://127.0.0.1:*"))
    client.send(b"up")
    assert server.recv() == b"up"
    runner = ctx._runner()
    runner.call(ctx.__del__, timeout=5)  # as if collected there
    assert server.closed and client.closed and ctx.closed
    runner.thread.join(5)
    assert not runner.thread.is_alive()  # the I/O thread stopped once the engines closed


def test_a_socket_finalised_on_the_starting_io_thread_does_not_deadlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The garbage collector may run Socket.__del__ on the I/O thread as it starts (found in CI:
    a socket left in a reference cycle, collected inside the new thread's first allocation),
    while the thread that started it waits for it to be ready: the close must not need a lock
    that the waiting thread holds."""
    from safezmq.engine import iothread

    ctx = zmq.Context()
    orphan = ctx.socket(zmq.DEALER)
    start = iothread.IOThread._run

    def run_with_a_finaliser(self: iothread.IOThread) -> None:
        orphan.close()  # what the collector did, before the loop signals that it is ready
        start(self)

    monkeypatch.setattr(iothread.IOThread, "_run", run_with_a_finaliser)
    done = threading.Event()

    def first_bind() -> None:  # starts the I/O thread
        ctx.socket(zmq.PAIR).bind("tcp://127.0.0.1:*")
        done.set()

    threading.Thread(target=first_bind, daemon=True).start()
    assert done.wait(10), "deadlock: bind() waits for the I/O thread, which waits for bind()"
    assert orphan.closed
    ctx.destroy(linger=0)


def test_socket_context_manager_closes(ctx: zmq.Context) -> None:
    with ctx.socket(zmq.PAIR) as sock:
        assert not sock.closed
    assert sock.closed
    with pytest.raises(zmq.ZMQError) as info:
        sock.send(b"x")
    assert info.value.errno == zmq.ENOTSOCK


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_an_address_closed_is_bound_again_at_once(
    ctx: zmq.Context, tmp_path: object, transport: str
) -> None:
    """Closing is asynchronous (the I/O thread closes a socket's listeners just after), yet a
    new socket may bind the address of one just closed, as with libzmq's usual timing: the
    bind lets the I/O thread catch up before it calls the address taken."""
    first = ctx.socket(zmq.PULL)
    if transport == "tcp":
        port = first.bind_to_random_port("tcp://127.0.0.1")
        address = f"tcp://127.0.0.1:{port}"
    else:
        address = f"ipc://{tmp_path}/rebind.sock"
        first.bind(address)
    first.close(linger=0)
    for _ in range(20):
        sock = ctx.socket(zmq.PULL)
        sock.bind(address)  # each time the previous one was closed just now
        sock.close(linger=0)
    # Still a real error while the address's holder is alive.
    holder = ctx.socket(zmq.PULL)
    holder.bind(address)
    other = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as caught:
        other.bind(address)
    assert caught.value.errno == zmq.EADDRINUSE
    other.close(linger=0)
    holder.close(linger=0)
