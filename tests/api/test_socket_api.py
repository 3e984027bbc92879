"""The Socket API, snippet for snippet against pyzmq: send/recv flags, multipart, the
serialisation helpers, zero-copy frames and trackers, errors, polling and foreign event loops."""

from __future__ import annotations

import pickle
import select
import selectors
import socket as pysocket
import threading
import time
from typing import Any

import pytest

import safezmq
from tests.api.compat import PROMPT, inproc_pair, socket, tcp_pipeline

BIG = 200_000  # above COPY_THRESHOLD (64 KiB): copy=False really is zero-copy


# -- flags ------------------------------------------------------------------------------------


def test_flag_values_match(lib: Any) -> None:
    assert lib.NOBLOCK == lib.DONTWAIT == 1
    assert lib.SNDMORE == 2
    assert lib.RCVMORE == 13


@pytest.mark.parametrize("flag", ["NOBLOCK", "DONTWAIT"])
def test_nonblocking_recv_on_empty_socket_is_again(lib: Any, lib_ctx: Any, flag: str) -> None:
    _, b = inproc_pair(lib, lib_ctx, f"noblock-{flag}")
    with pytest.raises(lib.Again) as info:
        b.recv(getattr(lib, flag))
    assert info.value.errno == lib.EAGAIN
    assert isinstance(info.value, lib.ZMQError)
    with pytest.raises(lib.Again):
        b.recv_multipart(getattr(lib, flag))


def test_nonblocking_send_without_peer_is_again(lib: Any, lib_ctx: Any) -> None:
    push = socket(lib_ctx, lib.PUSH)  # no pipe at all: a PUSH has nowhere to queue
    with pytest.raises(lib.Again):
        push.send(b"x", lib.DONTWAIT)


def test_sndmore_and_rcvmore(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "more")
    a.send(b"one", lib.SNDMORE)
    a.send(b"two", lib.SNDMORE | lib.NOBLOCK)
    a.send(b"three")
    got = []
    more = []
    for _ in range(3):
        got.append(b.recv())
        more.append((b.getsockopt(lib.RCVMORE), b.rcvmore))
    assert got == [b"one", b"two", b"three"]
    assert more == [(1, 1), (1, 1), (0, 0)]
    with pytest.raises(lib.Again):
        b.recv(lib.NOBLOCK)  # the message was whole: nothing more


def test_message_is_atomic_until_last_frame(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "atomic")
    a.send(b"head", lib.SNDMORE)
    with pytest.raises(lib.Again):
        b.recv(lib.NOBLOCK)  # an unfinished message is never visible
    a.send(b"tail")
    assert b.recv_multipart() == [b"head", b"tail"]


def test_send_multipart_recv_multipart(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "multipart")
    parts = [b"", b"x", bytearray(b"from a bytearray"), memoryview(b"from a view"), b"\x00" * 3]
    a.send_multipart(parts)
    assert b.recv_multipart() == [bytes(p) for p in parts]
    assert b.rcvmore == 0


def test_sndmore_frames_prefix_send_multipart(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "prefix")
    a.send(b"first", lib.SNDMORE)
    a.send_multipart([b"second", b"third"])
    assert b.recv_multipart() == [b"first", b"second", b"third"]


def test_mixing_recv_and_recv_multipart_mid_message(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "mixing")
    a.send_multipart([b"a", b"b", b"c"])
    a.send_multipart([b"next", b"message"])
    assert b.recv() == b"a"
    assert b.rcvmore == 1
    assert b.recv_multipart() == [b"b", b"c"]  # the rest of the message, not a new one
    assert b.rcvmore == 0
    assert b.recv() == b"next"
    assert b.recv(copy=False).bytes == b"message"
    assert b.rcvmore == 0


def test_send_multipart_with_no_frames_is_refused() -> None:
    ctx = safezmq.Context()
    try:
        a, _ = inproc_pair(safezmq, ctx, "empty-multipart")
        with pytest.raises(safezmq.ZMQError) as info:
            a.send_multipart([])
        assert info.value.errno == safezmq.EINVAL
        assert "at least one frame" in str(info.value)
    finally:
        ctx.destroy(linger=0)


# -- serialisation helpers --------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "utf-16"])
def test_send_string_recv_string(lib: Any, lib_ctx: Any, encoding: str) -> None:
    a, b = inproc_pair(lib, lib_ctx, f"string-{encoding}")
    text = "héllo wörld"
    a.send_string(text, encoding=encoding)
    a.send_string(text, encoding=encoding)
    assert b.recv() == text.encode(encoding)  # the wire carries exactly the encoded bytes
    assert b.recv_string(encoding=encoding) == text
    a.send_string("default")
    assert b.recv_string() == "default"


def test_send_string_needs_str(lib: Any, lib_ctx: Any) -> None:
    a, _ = inproc_pair(lib, lib_ctx, "string-type")
    with pytest.raises(TypeError):
        a.send_string(b"bytes")


def test_send_json_recv_json(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "json")
    obj = {"name": "ü", "list": [1, 2.5, None, True], "nested": {"k": []}}
    a.send_json(obj)
    assert b.recv_json() == obj
    a.send_json([1, 2], separators=(",", ":"))  # keyword arguments go to json.dumps
    assert b.recv() == b"[1,2]"


def test_send_serialized_recv_serialized(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "serialized")

    def serialize(numbers: list[int]) -> list[bytes]:
        return [str(n).encode() for n in numbers]

    def deserialize(frames: list[Any]) -> list[int]:
        return [int(bytes(f)) for f in frames]

    a.send_serialized([1, 22, 333], serialize)
    assert b.recv_serialized(deserialize) == [1, 22, 333]
    a.send_serialized([4], serialize)
    assert b.recv_serialized(deserialize, copy=False) == [4]


_EXECUTED: list[str] = []


def _record(tag: str) -> str:
    _EXECUTED.append(tag)
    return tag


class _Exploit:
    """Unpickling this calls ``_record``: the stand-in for arbitrary code execution."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_record, ("executed",))


def test_send_pyobj_works_and_recv_pyobj_is_refused_by_default(ctx: safezmq.Context) -> None:
    a, b = inproc_pair(safezmq, ctx, "pyobj-refused")
    _EXECUTED.clear()
    a.send_pyobj(_Exploit())
    with pytest.raises(safezmq.ZMQError) as info:
        b.recv_pyobj()
    assert info.value.errno == safezmq.ENOTSUP
    message = str(info.value)
    assert "recv_pyobj" in message and "allow_pickle" in message
    assert _EXECUTED == []  # nothing was unpickled
    # The refusal consumed nothing: the bytes are still there, as sent.
    assert b.recv() == pickle.dumps(_Exploit(), pickle.DEFAULT_PROTOCOL)
    assert _EXECUTED == []


def test_recv_pyobj_after_opt_in(ctx: safezmq.Context) -> None:
    a, b = inproc_pair(safezmq, ctx, "pyobj-allowed")
    obj = {"tuple": (1, 2), "set": {3}, "bytes": b"\x00"}
    a.send_pyobj(obj)
    with pytest.raises(safezmq.ZMQError):
        b.recv_pyobj()
    ctx.allow_pickle = True
    assert b.recv_pyobj() == obj  # the message refused earlier was not lost
    a.send_pyobj([1], protocol=2)
    assert b.recv_pyobj() == [1]


def test_pyzmq_recv_pyobj_reads_safezmq_send_pyobj(ctx: safezmq.Context) -> None:
    """send_pyobj's bytes are plain pickles, so a pyzmq peer can read them."""
    import zmq as pyzmq

    zctx = pyzmq.Context()
    try:
        pull = zctx.socket(pyzmq.PULL)
        pull.linger = 0
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push = socket(ctx, safezmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{port}")
        push.send_pyobj({"answer": 42})
        assert pull.poll(PROMPT * 1000)
        assert pull.recv_pyobj() == {"answer": 42}
    finally:
        zctx.destroy(linger=0)


# -- recv_into --------------------------------------------------------------------------------


def test_recv_into_returns_the_full_frame_size(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "recv-into")
    a.send(b"hello world")
    exact = bytearray(11)
    assert b.recv_into(exact) == 11
    assert exact == b"hello world"

    a.send(b"hello world")
    short = bytearray(5)
    assert b.recv_into(short) == 11  # truncated, like zmq_recv: the size says so
    assert short == b"hello"

    a.send(b"hello world")
    roomy = bytearray(b"\xff" * 20)
    assert b.recv_into(roomy, nbytes=3) == 11
    assert roomy == b"hel" + b"\xff" * 17  # nothing written past nbytes

    a.send(b"discard me")
    assert b.recv_into(bytearray()) == 10  # an empty buffer discards the frame
    with pytest.raises(lib.Again):
        b.recv(lib.NOBLOCK)


def test_recv_into_multipart_and_flags(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "recv-into-more")
    buf = bytearray(8)
    with pytest.raises(lib.Again):
        b.recv_into(buf, flags=lib.NOBLOCK)
    a.send_multipart([b"ab", b"cdef"])
    view = memoryview(buf)
    assert b.recv_into(view) == 2
    assert b.rcvmore == 1
    assert b.recv_into(view[2:]) == 4
    assert b.rcvmore == 0
    assert bytes(buf[:6]) == b"abcdef"


def test_recv_into_bad_arguments(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "recv-into-bad")
    with pytest.raises(ValueError):
        b.recv_into(bytearray(4), nbytes=5)
    with pytest.raises(ValueError):
        b.recv_into(bytearray(4), nbytes=-1)
    a.send(b"still here")
    assert b.recv() == b"still here"  # a refused call consumed nothing


# -- frames -----------------------------------------------------------------------------------


def test_copy_false_returns_frames(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "frames")
    a.send_multipart([b"small", b"x" * BIG])
    first = b.recv(copy=False)
    assert isinstance(first, lib.Frame)
    assert first.bytes == b"small" and bytes(first) == b"small"
    assert isinstance(first.buffer, memoryview) and first.buffer.tobytes() == b"small"
    assert len(first) == 5
    assert first.more is True
    assert first.get(lib.MORE) == 1
    second = b.recv(copy=False)
    assert len(second) == BIG and second.bytes == b"x" * BIG
    assert second.more is False
    a.send_multipart([b"p", b"q"])
    frames = b.recv_multipart(copy=False)
    assert [type(f) for f in frames] == [lib.Frame, lib.Frame]
    assert [(f.bytes, f.more) for f in frames] == [(b"p", True), (b"q", False)]


def test_frame_metadata_over_tcp(lib: Any, lib_ctx: Any) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    push.send(b"with metadata")
    frame = pull.recv(copy=False)
    assert frame.get("Socket-Type") == "PUSH"
    assert frame.get(b"Socket-Type") == "PUSH"
    assert frame.get("Peer-Address") == "127.0.0.1"
    # libzmq sends an Identity property only for REQ, DEALER and ROUTER sockets.
    for absent in ("Identity", "User-Id", "No-Such-Property"):
        with pytest.raises(lib.ZMQError) as info:
            frame.get(absent)
        assert info.value.errno == lib.EINVAL


def test_frame_application_metadata_over_tcp(lib: Any, lib_ctx: Any) -> None:
    pull = socket(lib_ctx, lib.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = socket(lib_ctx, lib.PUSH)
    push.setsockopt(lib.METADATA, b"X-Service:billing")
    push.connect(pull.last_endpoint.decode())
    push.send(b"hi")
    assert pull.poll(PROMPT * 1000)
    frame = pull.recv(copy=False)
    assert frame.get("X-Service") == "billing"
    assert frame.get("Socket-Type") == "PUSH"


# -- trackers ---------------------------------------------------------------------------------


def test_track_small_copied_message_is_done_at_once(lib: Any, lib_ctx: Any) -> None:
    push = socket(lib_ctx, lib.PUSH)
    push.connect("tcp://127.0.0.1:9")  # nobody there: the message stays queued
    tracker = push.send(b"tiny", copy=False, track=True)  # below the threshold: copied
    assert isinstance(tracker, lib.MessageTracker)
    assert tracker.done
    tracker.wait(0)  # does not raise


def test_track_zero_copy_buffer_is_done_after_delivery(lib: Any, lib_ctx: Any) -> None:
    probe = pysocket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a free port with nobody listening yet
    push = socket(lib_ctx, lib.PUSH)
    push.reconnect_ivl = 20
    push.connect(f"tcp://127.0.0.1:{port}")
    payload = bytearray(b"z" * BIG)
    tracker = push.send(payload, copy=False, track=True)
    assert isinstance(tracker, lib.MessageTracker)
    time.sleep(0.05)
    assert not tracker.done  # the library still holds our buffer
    with pytest.raises(lib.NotDone):
        tracker.wait(0.01)
    pull = socket(lib_ctx, lib.PULL)
    pull.bind(f"tcp://127.0.0.1:{port}")
    assert pull.poll(PROMPT * 1000)
    assert pull.recv() == payload
    tracker.wait(PROMPT)
    assert tracker.done


def test_track_zero_copy_multipart(lib: Any, lib_ctx: Any) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    parts = [bytearray(b"a" * BIG), memoryview(bytearray(b"b" * BIG))]
    tracker = push.send_multipart(parts, copy=False, track=True)
    assert isinstance(tracker, lib.MessageTracker)
    assert pull.poll(PROMPT * 1000)
    assert pull.recv_multipart() == [b"a" * BIG, b"b" * BIG]
    tracker.wait(PROMPT)
    assert tracker.done


def test_untracked_send_returns_none(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "untracked")
    assert a.send(b"x") is None
    assert a.send(bytearray(BIG), copy=False) is None
    assert a.send_multipart([b"y"]) is None
    assert b.recv() == b"x"


# -- errors -----------------------------------------------------------------------------------


def test_str_is_not_a_frame(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "str")
    with pytest.raises(TypeError):
        a.send("text")
    with pytest.raises(TypeError):
        a.send("text", copy=False)
    with pytest.raises(TypeError):
        a.send_multipart([b"ok", "text"])
    a.send(b"after")
    assert b.recv_multipart() == [b"after"]  # a refused send leaves no partial message


def test_send_on_pull_and_recv_on_push_are_enotsup(lib: Any, lib_ctx: Any) -> None:
    pull = socket(lib_ctx, lib.PULL)
    push = socket(lib_ctx, lib.PUSH)
    for call in (
        lambda: pull.send(b"x"),
        lambda: pull.send(b"x", lib.NOBLOCK),
        lambda: pull.send_multipart([b"x"]),
        lambda: push.recv(),
        lambda: push.recv(lib.NOBLOCK),
        lambda: push.recv_multipart(),
    ):
        with pytest.raises(lib.ZMQError) as info:
            call()
        assert info.value.errno == lib.ENOTSUP


def test_operations_on_a_closed_socket_are_enotsock(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PAIR)
    assert not sock.closed
    sock.close()
    assert sock.closed
    sock.close()  # closing twice is harmless
    calls = {
        "send": lambda: sock.send(b"x"),
        "recv": lambda: sock.recv(lib.NOBLOCK),
        "send_multipart": lambda: sock.send_multipart([b"x"]),
        "recv_multipart": lambda: sock.recv_multipart(),
        "bind": lambda: sock.bind("inproc://closed"),
        "connect": lambda: sock.connect("inproc://closed"),
        "getsockopt": lambda: sock.getsockopt(lib.LINGER),
        "setsockopt": lambda: sock.setsockopt(lib.LINGER, 0),
        "attribute": lambda: sock.rcvtimeo,
        "FD": lambda: sock.FD,
        "EVENTS": lambda: sock.EVENTS,
    }
    for name, call in calls.items():
        with pytest.raises(lib.ZMQError) as info:
            call()
        assert info.value.errno == lib.ENOTSOCK, name


def test_poll_on_a_closed_socket_is_enotsock(ctx: safezmq.Context) -> None:
    sock = socket(ctx, safezmq.PAIR)
    sock.close()
    with pytest.raises(safezmq.ZMQError) as info:
        sock.poll(0)
    assert info.value.errno == safezmq.ENOTSOCK
    assert "closed" in str(info.value)


# -- poll, context manager --------------------------------------------------------------------


def test_poll_with_timeouts(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "poll")
    assert b.poll(0) == 0
    started = time.monotonic()
    assert b.poll(50) == 0
    assert time.monotonic() - started >= 0.04  # it did wait for (about) the timeout
    assert b.poll(0, lib.POLLOUT) == lib.POLLOUT  # a connected PAIR can send
    a.send(b"ready")
    assert b.poll() == lib.POLLIN  # None: wait forever (returns at once here)
    assert b.poll(-1) == lib.POLLIN
    assert b.poll(0, lib.POLLIN | lib.POLLOUT) == lib.POLLIN | lib.POLLOUT
    assert b.recv() == b"ready"
    assert b.poll(0) == 0


def test_poll_wakes_when_a_message_arrives_from_another_thread(lib: Any, lib_ctx: Any) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    timer = threading.Timer(0.1, push.send, args=(b"later",))
    timer.start()
    try:
        started = time.monotonic()
        assert pull.poll(PROMPT * 1000) == lib.POLLIN
        assert time.monotonic() - started < PROMPT
    finally:
        timer.join()
    assert pull.recv() == b"later"


def test_socket_context_manager(lib: Any, lib_ctx: Any) -> None:
    with lib_ctx.socket(lib.PAIR) as sock:
        sock.linger = 0
        assert not sock.closed
    assert sock.closed
    with pytest.raises(RuntimeError), lib_ctx.socket(lib.PAIR) as other:
        other.linger = 0
        raise RuntimeError("boom")
    assert other.closed


def test_bind_and_connect_results_are_context_managers(lib: Any, lib_ctx: Any) -> None:
    a = socket(lib_ctx, lib.PAIR)
    b = socket(lib_ctx, lib.PAIR)
    bound = a.bind("inproc://cm")
    assert bound.addr == "inproc://cm"
    with bound as entered:
        assert entered is a  # as pyzmq: the block gets the socket itself
        with b.connect("inproc://cm") as connected:
            assert connected is b
            a.send(b"x")
            assert b.recv() == b"x"
    c = socket(lib_ctx, lib.PAIR)
    c.bind("inproc://cm")  # the name was unbound when the block ended


# -- foreign event loops: FD, EVENTS, fileno() -------------------------------------------------


def _readable(fd: int, timeout: float) -> bool:
    return bool(select.select([fd], [], [], timeout)[0])


def test_fd_and_events_with_select(lib: Any, lib_ctx: Any) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    fd = pull.FD
    assert isinstance(fd, int) and fd == pull.fileno() == pull.getsockopt(lib.FD)
    assert pull.EVENTS & lib.POLLIN == 0
    assert not _readable(fd, 0)  # reading EVENTS consumed the wake-up
    push.send(b"ping")
    assert _readable(fd, PROMPT)  # a message arrived: the FD says "look"
    assert pull.EVENTS & lib.POLLIN  # ...and EVENTS says what
    assert pull.recv(lib.NOBLOCK) == b"ping"
    assert pull.EVENTS & lib.POLLIN == 0
    assert not _readable(fd, 0)
    assert push.EVENTS & lib.POLLOUT


def test_foreign_event_loop_with_selectors(lib: Any, lib_ctx: Any) -> None:
    """The loop a foreign event loop runs: wait for the FD, then drain while EVENTS says
    POLLIN (the FD is edge-triggered: it fires once for a burst)."""
    push, pull = tcp_pipeline(lib, lib_ctx)
    sent = [b"m%d" % i for i in range(20)]

    def sender() -> None:
        time.sleep(0.05)
        for msg in sent:
            push.send(msg)

    thread = threading.Thread(target=sender)
    received: list[bytes] = []
    with selectors.DefaultSelector() as sel:
        sel.register(pull, selectors.EVENT_READ)  # via fileno()
        thread.start()
        deadline = time.monotonic() + PROMPT
        while len(received) < len(sent) and time.monotonic() < deadline:
            while pull.EVENTS & lib.POLLIN:
                received.append(pull.recv(lib.NOBLOCK))
            if len(received) < len(sent):
                sel.select(timeout=deadline - time.monotonic())
    thread.join()
    assert received == sent


# -- ports and select -------------------------------------------------------------------------


def test_bind_to_random_port(lib: Any, lib_ctx: Any) -> None:
    pull = socket(lib_ctx, lib.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    assert isinstance(port, int) and 0 < port < 65536
    assert pull.last_endpoint == f"tcp://127.0.0.1:{port}".encode()
    push = socket(lib_ctx, lib.PUSH)
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send(b"found it")
    assert pull.poll(PROMPT * 1000)
    assert pull.recv() == b"found it"


def test_bind_to_random_port_in_a_range(lib: Any, lib_ctx: Any) -> None:
    low = 40000 if lib is safezmq else 45000  # pyzmq and safezmq use separate ranges
    pull = socket(lib_ctx, lib.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1", min_port=low, max_port=low + 500)
    assert low <= port < low + 500
    assert pull.last_endpoint == f"tcp://127.0.0.1:{port}".encode()


def test_bind_to_random_port_gives_up(lib: Any, lib_ctx: Any) -> None:
    taken = socket(lib_ctx, lib.PULL)
    port = taken.bind_to_random_port("tcp://127.0.0.1")
    other = socket(lib_ctx, lib.PULL)
    with pytest.raises(lib.ZMQBindError) as info:
        other.bind_to_random_port("tcp://127.0.0.1", min_port=port, max_port=port + 1, max_tries=3)
    assert isinstance(info.value, lib.ZMQBaseError)


def test_zmq_select(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "select")
    assert lib.select([b], [], [], 0) == ([], [], [])
    started = time.monotonic()
    assert lib.select([b], [], [], 0.05) == ([], [], [])
    assert time.monotonic() - started >= 0.04
    a.send(b"x")
    readable, writable, errors = lib.select([b], [a], [], PROMPT)
    assert readable == [b] and writable == [a] and errors == []
    assert b.recv() == b"x"


def test_zmq_select_reports_raw_sockets_by_fd(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "select-raw")
    left, right = pysocket.socketpair()
    try:
        assert lib.select([b, left], [], [], 0) == ([], [], [])
        right.send(b"!")
        a.send(b"x")
        readable, _, _ = lib.select([b, left], [], [], PROMPT)
        # As pyzmq: a zmq socket comes back as itself, anything else as its fd number.
        assert b in readable and left.fileno() in readable and len(readable) == 2
    finally:
        left.close()
        right.close()
