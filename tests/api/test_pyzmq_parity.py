"""pyzmq 27's public API beyond sending and receiving: module layout, constants, version and
capability queries, shadows, copies, reprs, ResourceWarnings, Frame and MessageTracker
semantics, decorators, utils.  Where pyzmq's behaviour is the reference, a test takes ``lib``
and runs against both pyzmq (libzmq) and safezmq."""

from __future__ import annotations

import copy
import gc
import json
import pickle
import re
import socket as pysocket
import subprocess
import sys
import threading
import time
import warnings
from typing import Any
from unittest import mock

import pytest
import zmq as pyzmq

import safezmq
from tests.api.compat import PROMPT, socket, tcp_pipeline, wait_until

# -- module layout and constants -------------------------------------------------------------


def test_every_pyzmq_export_exists_with_the_same_value() -> None:
    for name in pyzmq.__all__:
        assert hasattr(safezmq, name), name
        theirs, ours = getattr(pyzmq, name), getattr(safezmq, name)
        if isinstance(theirs, int) and not isinstance(theirs, bool):
            assert int(ours) == int(theirs), name
            assert repr(ours) == repr(theirs), name


def test_every_safezmq_export_exists() -> None:
    for name in safezmq.__all__:
        assert hasattr(safezmq, name), name


@pytest.mark.parametrize(
    "module",
    [
        "sugar",
        "sugar.context",
        "sugar.socket",
        "sugar.frame",
        "sugar.poll",
        "sugar.tracker",
        "sugar.version",
        "sugar.stopwatch",
        "sugar.attrsettr",
        "backend",
        "decorators",
        "utils.jsonapi",
        "utils.strtypes",
        "utils.interop",
        "utils.garbage",
        "utils.win32",
        "utils.z85",
        "utils.monitor",
    ],
)
def test_pyzmq_module_paths_import(module: str) -> None:
    import importlib

    theirs = importlib.import_module(f"zmq.{module}")
    ours = importlib.import_module(f"safezmq.{module}")
    for name in getattr(theirs, "__all__", ()):
        assert hasattr(ours, name), f"safezmq.{module}.{name}"


def test_sugar_and_backend_are_safezmq_classes() -> None:
    import safezmq.backend
    import safezmq.sugar.context

    assert safezmq.sugar.context.Context is safezmq.Context
    assert safezmq.backend.Socket is safezmq.Socket
    assert safezmq.backend.Frame is safezmq.Frame
    assert safezmq.backend.PYZMQ_DRAFT_API is False


def test_module_level_constants_and_option_types(lib: Any) -> None:
    import importlib

    constants = importlib.import_module(f"{lib.__name__}.constants")
    assert constants.SUBSCRIBE is lib.SocketOption.SUBSCRIBE
    assert lib.POLLIN is lib.PollEvent.POLLIN
    assert lib.IDENTITY is lib.SocketOption.ROUTING_ID
    assert lib.IDENTITY._opt_type is constants._OptType.bytes
    assert lib.AFFINITY._opt_type is constants._OptType.int64
    assert lib.CURVE_SERVER._opt_type is constants._OptType.int
    assert lib.FD._opt_type is constants._OptType.fd


@pytest.mark.parametrize("name", list(pyzmq.Event.__members__))
def test_event_reprs(name: str) -> None:
    assert repr(getattr(safezmq.Event, name)) == repr(getattr(pyzmq.Event, name))


def test_protocol_errors_are_events(lib: Any) -> None:
    assert lib.PROTOCOL_ERROR_ZAP_UNSPECIFIED is lib.Event.PROTOCOL_ERROR_ZAP_UNSPECIFIED
    assert repr(lib.EVENT_ALL) == "<Event.ALL_V1: 65535>"
    assert isinstance(lib.POLLIN | lib.POLLOUT, lib.PollEvent)


def test_draft_api_is_off(lib: Any) -> None:
    assert lib.DRAFT_API is False or lib is pyzmq  # pyzmq's wheel may be built with drafts
    if lib is safezmq:
        assert not safezmq.has("draft")
        frame = safezmq.Frame(b"x")
        for attribute in ("group", "routing_id"):
            with pytest.raises(RuntimeError) as info:
                getattr(frame, attribute)
            assert isinstance(info.value, safezmq.ZMQError)
            assert "draft" in str(info.value)


@pytest.mark.parametrize(
    ("capability", "answer"),
    [
        ("ipc", True),
        ("curve", True),
        ("pgm", True),
        ("tipc", False),
        ("vmci", False),
        ("norm", False),
        ("gssapi", False),
        ("draft", False),
        ("ws", False),
        ("wss", False),
        ("something weird", False),
    ],
)
def test_has(capability: str, answer: bool) -> None:
    assert safezmq.has(capability) is answer
    assert safezmq.backend.has(capability) is answer


def test_versions() -> None:
    assert safezmq.zmq_version() == "4.3.5"
    assert safezmq.zmq_version_info() == (4, 3, 5)
    info = safezmq.pyzmq_version_info()
    assert info[:3] == tuple(int(p) for p in re.findall(r"\d+", safezmq.__version__)[:3])
    assert safezmq.pyzmq_version() == safezmq.__version__
    assert safezmq.__revision__ == ""


def test_zmq_version_error() -> None:
    error = safezmq.ZMQVersionError("5.0", "Frobnication")
    assert isinstance(error, NotImplementedError)
    assert str(error) == "Frobnication requires libzmq >= 5.0, have 4.3.5"
    assert repr(error) == "ZMQVersionError('Frobnication requires libzmq >= 5.0, have 4.3.5')"


def test_stopwatch() -> None:
    with pytest.warns(DeprecationWarning):
        watch = safezmq.Stopwatch()
    with pytest.raises(safezmq.ZMQError):
        watch.stop()
    watch.start()
    time.sleep(0.01)
    assert 10_000 <= watch.stop() < 60_000_000


def test_zmq_errno_is_the_last_error_of_this_thread(lib: Any, lib_ctx: Any) -> None:
    pull = socket(lib_ctx, lib.PULL)
    with pytest.raises(lib.Again):
        pull.recv(lib.NOBLOCK)
    assert lib.zmq_errno() == lib.EAGAIN


def test_zmq_poll(lib: Any, lib_ctx: Any) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    assert lib.zmq_poll([(pull, lib.POLLIN)], 0) == []
    push.send(b"x")
    assert lib.zmq_poll([(pull, lib.POLLIN)], PROMPT * 1000) == [(pull, lib.POLLIN)]
    assert lib.zmq_poll([(pull, lib.POLLIN), (push, lib.POLLOUT)], 0) == [
        (pull, lib.POLLIN),
        (push, lib.POLLOUT),
    ]


def test_poller_contains(lib: Any, lib_ctx: Any) -> None:
    a = socket(lib_ctx, lib.PAIR)
    poller = lib.Poller()
    poller.register(a, 0)
    assert a not in poller
    poller.register(a, lib.POLLIN)
    assert a in poller


# -- sockets and contexts -----------------------------------------------------------------------


def test_socket_basics(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PUB)
    assert sock.type == lib.PUB
    if lib is safezmq:  # pyzmq 27 deprecates the name (with a warning) in favour of .type
        assert sock.socket_type == lib.PUB
    assert sock.context is lib_ctx
    assert sock.get_hwm() == 1000
    sock.set_hwm(11)
    assert (sock.sndhwm, sock.rcvhwm, sock.hwm) == (11, 11, 11)
    assert {"send", "IDENTITY", "AFFINITY", "FD"} <= set(dir(sock))
    assert {"socket", "IO_THREADS"} <= set(dir(lib_ctx))


def test_string_options(lib: Any, lib_ctx: Any) -> None:
    sub = socket(lib_ctx, lib.SUB)
    sub.setsockopt_unicode(lib.IDENTITY, "tést", "utf16")
    assert sub.getsockopt_unicode(lib.IDENTITY, "utf16") == "tést"
    sub.set_string(lib.SUBSCRIBE, "tést")
    assert sub.get_string(lib.IDENTITY, "utf16") == "tést"
    with pytest.raises(TypeError):
        sub.getsockopt_unicode(lib.AFFINITY)
    with pytest.raises(TypeError):
        sub.set_string(lib.SUBSCRIBE, b"bytes")


def test_subscribe_as_an_attribute(lib: Any, lib_ctx: Any) -> None:
    pub, sub = socket(lib_ctx, lib.PUB), socket(lib_ctx, lib.SUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    sub.connect(f"tcp://127.0.0.1:{port}")
    sub.subscribe = "wanted"  # the option, not a replacement of the method
    assert callable(sub.subscribe)

    def delivered() -> bool:
        pub.send(b"unwanted")
        pub.send(b"wanted!")
        return bool(sub.poll(50))

    assert wait_until(delivered)
    assert sub.recv() == b"wanted!"


def test_context_socket_keyword_arguments(lib: Any) -> None:
    class KwargSocket(lib.Socket):  # type: ignore[misc,name-defined]
        marker: str  # an attribute, not an option (pyzmq's rule for subclasses)

        def __init__(self, *args: Any, marker: str = "", **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.marker = marker

    class KwargContext(lib.Context):  # type: ignore[misc,name-defined]
        _socket_class = KwargSocket

    with KwargContext() as ctx:
        with ctx.socket(lib.DEALER, marker="m") as sock:
            assert isinstance(sock, KwargSocket)
            assert sock.marker == "m"
        with ctx.socket(lib.PUSH, socket_class=lib.Socket) as plain:
            assert type(plain) is lib.Socket


def test_context_socket_options_as_keywords() -> None:
    with safezmq.Context() as ctx, ctx.socket(safezmq.PUSH, linger=0, sndhwm=7) as sock:
        assert (sock.linger, sock.sndhwm) == (0, 7)


def test_reprs(lib: Any) -> None:
    name = lib.__name__
    with lib.Context() as ctx:
        assert re.fullmatch(rf"<{name}\.Context\(\) at 0x[0-9a-f]+>", repr(ctx))
        with ctx.socket(lib.PUSH) as push:
            assert re.fullmatch(rf"<{name}\.Socket\(zmq\.PUSH\) at 0x[0-9a-f]+>", repr(push))
            assert f"{name}.Context(1 socket)" in repr(ctx)
            with ctx.socket(lib.PULL):
                assert f"{name}.Context(2 sockets)" in repr(ctx)
        assert repr(push).endswith(" closed>")
    assert repr(ctx).endswith(" closed>")
    assert str(lib.Frame(b"123456789")) == f"<{name}.Frame(b'123456789')>"
    assert str(lib.Frame(b"x" * 20)) == f"<{name}.Frame(b'xxxxxxxxxxxx'...20B)>"
    assert str(lib.Frame(b"x" * 2000)) == f"<{name}.Frame(b'xxxxxxxxxxxx'...2kB)>"
    assert str(lib.Frame(b"x" * 2_000_000)) == f"<{name}.Frame(b'xxxxxxxxxxxx'...2MB)>"


def test_unclosed_socket_warns_when_collected(lib: Any, lib_ctx: Any) -> None:
    sock = lib_ctx.socket(lib.PUSH)
    with pytest.warns(ResourceWarning, match="nclosed socket"):
        del sock
        gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        closed = lib_ctx.socket(lib.PUSH)
        closed.close()
        del closed
        gc.collect()


def test_unclosed_context_warns_when_collected(lib: Any) -> None:
    ctx = lib.Context()
    with pytest.warns(ResourceWarning, match="nclosed context"):
        del ctx
        gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        done = lib.Context()
        done.term()
        del done
        gc.collect()


def test_context_manager_destroys_and_warns_about_open_sockets(lib: Any) -> None:
    with pytest.warns(ResourceWarning), lib.Context() as ctx:
        sock = ctx.socket(lib.PUSH)
    assert sock.closed
    assert ctx.closed


def test_instance_subclass_semantics(lib: Any) -> None:
    class Inherit(lib.Context):  # type: ignore[misc,name-defined]
        pass

    class Own(lib.Context):  # type: ignore[misc,name-defined]
        _instance = None

    base = lib.Context.instance()
    try:
        assert Inherit.instance() is base
        own = Own.instance()
        assert type(own) is Own
        assert own is not base
        own.term()
    finally:
        base.term()
    assert lib.Context.instance() is not base
    lib.Context.instance().term()


def test_socket_shadows(lib: Any, lib_ctx: Any) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    by_address = lib.Socket.shadow(push.underlying)
    by_object = lib.Socket(pull)
    assert isinstance(push.underlying, int)
    assert by_address.underlying == push.underlying
    assert by_object._shadow_obj is pull
    assert by_object.context is lib_ctx
    assert push.underlying != pull.underlying
    by_address.send(b"through the shadow")
    assert by_object.poll(PROMPT * 1000)
    assert by_object.recv() == b"through the shadow"
    del by_address
    gc.collect()  # a shadow that is collected leaves the socket open
    assert not push.closed
    push.send(b"still open")
    assert by_object.poll(PROMPT * 1000)
    assert pull.recv() == b"still open"
    by_object.close()  # closing a shadow closes the socket (as pyzmq's do)
    assert pull.closed


def test_context_shadows(lib: Any) -> None:
    ctx = lib.Context()
    shadow = lib.Context.shadow(ctx.underlying)
    assert shadow.underlying == ctx.underlying
    assert lib.Context(ctx).underlying == ctx.underlying
    with shadow.socket(lib.PUB) as sock:
        pass
    assert sock.closed
    del shadow
    gc.collect()
    assert not ctx.closed
    shadow = lib.Context.shadow(ctx)
    ctx.term()
    with pytest.raises(lib.ZMQError) as info:
        shadow.socket(lib.PUB)
    assert info.value.errno == lib.EFAULT


def test_copies_are_shadows_and_pickling_is_refused(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PUB)
    for clone in (copy.copy(sock), copy.deepcopy(sock)):
        assert clone._shadow
        assert clone.underlying == sock.underlying
    for ctx_clone in (copy.copy(lib_ctx), copy.deepcopy(lib_ctx)):
        assert ctx_clone._shadow
        assert ctx_clone.underlying == lib_ctx.underlying
    with pytest.raises(TypeError):
        pickle.dumps(sock)
    with pytest.raises(TypeError):
        pickle.dumps(lib_ctx)


@pytest.mark.parametrize("kind", ["Socket", "Context"])
def test_shadowing_a_foreign_address_is_a_clear_error(kind: str) -> None:
    cls = getattr(safezmq, kind)
    with pytest.raises(safezmq.ZMQError) as info:
        cls.shadow(0x7F00DEADBEEF)
    assert info.value.errno == safezmq.EFAULT
    assert "no C objects" in str(info.value)


def test_mock_with_a_socket_or_context_as_spec(lib: Any, lib_ctx: Any) -> None:
    """unittest.mock reads every attribute dir() lists: options that cannot be read must be
    missing attributes (AttributeError), not errors."""
    sock = socket(lib_ctx, lib.SUB)
    warnings.simplefilter("ignore", DeprecationWarning)  # pyzmq's Socket.socket_type
    assert mock.Mock(spec=sock)
    assert mock.Mock(spec=lib_ctx)
    assert not hasattr(sock, "ipc_filter_uid")


def test_unknown_options(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PUB)
    for call in (lambda: sock.setsockopt(9999, 5), lambda: sock.getsockopt(9999)):
        with pytest.raises(lib.ZMQError) as info:
            call()
        assert info.value.errno == lib.EINVAL
    with pytest.raises(TypeError):
        sock.setsockopt(9999, b"5")
    with pytest.raises(lib.ZMQError) as info:
        sock.setsockopt(lib.SUBSCRIBE, b"hi")
    assert info.value.errno == lib.EINVAL


# -- frames and trackers --------------------------------------------------------------------------


def test_frame_basics(lib: Any) -> None:
    frame = lib.Frame(b"payload")
    assert bytes(frame) == b"payload"
    assert frame.bytes is frame.bytes
    assert frame.buffer is frame.buffer
    assert frame.buffer.tobytes() == b"payload"
    assert len(frame) == 7
    assert copy.copy(frame).bytes == b"payload"
    with pytest.raises(TypeError):
        lib.Frame("text")
    with pytest.raises(TypeError):
        lib.Frame(5)
    with pytest.raises(BufferError):
        lib.Frame(memoryview(bytearray(10))[::2])
    lib.Frame(bytearray(5))
    lib.Frame(memoryview(b"view"))


@pytest.mark.skipif(sys.version_info < (3, 12), reason="pure-Python buffer protocol: PEP 688")
def test_memoryview_of_a_frame() -> None:
    frame = safezmq.Frame(b"abc")
    assert memoryview(frame).tobytes() == b"abc"


def test_received_frame_metadata(lib: Any, lib_ctx: Any) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    push.send_multipart([b"a", b"b"])
    assert pull.poll(PROMPT * 1000)
    first = pull.recv(copy=False)
    assert first.more and first.get(lib.MORE)
    assert first["Socket-Type"] == "PUSH"
    assert first.get("Socket-Type") == "PUSH"
    assert first.get("Peer-Address") == "127.0.0.1"
    with pytest.raises(lib.ZMQError):
        first.get("User-Id")  # NULL mechanism: no user id
    last = pull.recv(copy=False)
    assert not last.more and not last.get(lib.MORE)


def test_message_tracker_construction(lib: Any) -> None:
    untracked = lib.Frame(b"x")
    assert untracked.tracker is None
    with pytest.raises(ValueError):
        lib.MessageTracker(untracked)
    with pytest.raises(TypeError):
        lib.MessageTracker(5)
    event = threading.Event()
    tracker = lib.MessageTracker(event)
    assert not tracker.done
    with pytest.raises(lib.NotDone):
        tracker.wait(0.01)
    event.set()
    assert tracker.done
    assert tracker.wait(0.01) is None


def test_frame_tracker_done_when_the_frame_and_its_copies_are_gone(lib: Any) -> None:
    frame = lib.Frame(b"asdf", copy=False, track=True)
    clone = copy.copy(frame)
    tracker = lib.MessageTracker(frame)
    assert not tracker.done
    del frame
    gc.collect()
    assert not tracker.done  # the copy still holds the message
    del clone
    gc.collect()
    assert wait_until(lambda: tracker.done)


def test_send_trackers(lib: Any, lib_ctx: Any) -> None:
    """pyzmq's test_tracker, on a connection made before the peer exists."""
    a = socket(lib_ctx, lib.PUSH)
    b = socket(lib_ctx, lib.PULL)
    with pysocket.socket() as probe:  # a free port (the peer binds it later)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    a.connect(f"tcp://127.0.0.1:{port}")
    p1 = a.send(b"something", copy=False, track=True)
    assert p1 is lib._FINISHED_TRACKER and p1.done  # small: copied
    assert a.send(b"copied") is None
    a.copy_threshold = 0
    p2 = a.send_multipart([b"something", b"else"], copy=False, track=True)
    assert not p2.done  # held by safezmq until the peer takes it
    frame = lib.Frame(b"again", copy=False, track=True)
    p3 = a.send(frame, copy=False)
    assert p3 is frame.tracker
    b.bind(f"tcp://127.0.0.1:{port}")
    for expected in ([b"something"], [b"copied"], [b"something", b"else"], [b"again"]):
        assert b.poll(PROMPT * 1000)
        assert b.recv_multipart() == expected
    assert wait_until(lambda: p2.done)
    assert not frame.tracker.done  # the Frame still exists
    del frame
    gc.collect()
    assert wait_until(lambda: p3.done)
    with pytest.raises(ValueError):
        a.send(lib.Frame(b"untracked"), copy=False, track=True)


def test_recv_into_errors(lib: Any, lib_ctx: Any) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    with pytest.raises(ValueError):
        pull.recv_into(bytearray(10), nbytes=-1)
    with pytest.raises(BufferError):
        pull.recv_into(memoryview(bytearray(10))[::2])
    with pytest.raises(BufferError):
        pull.recv_into(memoryview(b"readonly"))
    with pytest.raises(ValueError):
        pull.recv_into(bytearray(10), nbytes=11)
    with pytest.raises(TypeError):
        pull.recv_into(pytest)
    with pytest.raises(lib.Again):
        pull.recv_into(bytearray(10), flags=lib.DONTWAIT)
    push.send(b"0123456789abc")
    buffer = bytearray(10)
    assert pull.poll(PROMPT * 1000)
    assert pull.recv_into(buffer) == 13  # the full size; the rest is cut off
    assert buffer == b"0123456789"


# -- decorators and utils ---------------------------------------------------------------------


def test_decorators(lib: Any) -> None:
    import importlib

    decorators = importlib.import_module(f"{lib.__name__}.decorators")
    seen: dict[str, Any] = {}

    @decorators.context()
    @decorators.socket(lib.PUB)
    def positional(ctx: Any, sock: Any) -> str:
        seen.update(ctx=ctx, sock=sock)
        assert sock.type == lib.PUB
        return "ran"

    assert positional() == "ran"
    assert seen["sock"].closed and seen["ctx"].closed

    @decorators.context("myctx", io_threads=2)
    @decorators.socket("mysock", lib.PULL, context_name="myctx")
    def named(extra: int, myctx: Any, mysock: Any) -> int:
        assert myctx.IO_THREADS == 2
        assert mysock.context is myctx
        return extra

    assert named(5) == 5

    @decorators.context("ctx")
    def twice(ctx: Any) -> None:
        raise AssertionError("not reached")

    with pytest.raises(TypeError):
        twice(ctx="given")


def test_jsonapi(lib: Any) -> None:
    from importlib import import_module

    jsonapi = import_module(f"{lib.__name__}.utils.jsonapi")
    data = {"a": [1, 2.5, "é"]}
    encoded = jsonapi.dumps(data)
    assert isinstance(encoded, bytes)
    assert json.loads(encoded) == data
    assert jsonapi.loads(encoded) == data
    assert jsonapi.loads(encoded.decode()) == data


def test_strtypes_interop_garbage_win32(lib: Any) -> None:
    from importlib import import_module

    utils = lib.__name__ + ".utils"
    strtypes = import_module(f"{utils}.strtypes")
    with pytest.warns(DeprecationWarning):
        assert strtypes.cast_bytes("é") == "é".encode()
    with pytest.warns(DeprecationWarning):
        assert strtypes.cast_unicode(b"x") == "x"
    interop = import_module(f"{utils}.interop")
    assert interop.cast_int_addr(1234) == 1234
    with pytest.raises(ValueError):
        interop.cast_int_addr("1234")
    garbage = import_module(f"{utils}.garbage")
    assert isinstance(garbage.gc.refs, dict)
    win32 = import_module(f"{utils}.win32")
    called: list[int] = []
    with win32.allow_interrupt(lambda: called.append(1)):
        pass
    assert called == []


# -- curve_keygen -----------------------------------------------------------------------------


def _keygen(lib: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"{lib.__name__}.curve_keygen", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )


def test_curve_keygen_prints_a_pair(lib: Any) -> None:
    out = _keygen(lib).stdout
    lines = out.splitlines()
    public = lines[lines.index("== CURVE PUBLIC KEY ==") + 1]
    secret = lines[lines.index("== CURVE SECRET KEY ==") + 1]
    assert out.endswith("\n")
    assert lib.curve_public(secret.encode()) == public.encode()


def test_curve_keygen_json_and_secret(lib: Any) -> None:
    pair = json.loads(_keygen(lib, "--json").stdout)
    assert lib.curve_public(pair["secret"].encode()) == pair["public"].encode()
    public, secret = lib.curve_keypair()
    # "--secret=KEY": a Z85 key may begin with "-", which argparse would read as an option.
    derived = json.loads(_keygen(lib, f"--secret={secret.decode()}", "--json").stdout)
    assert derived["public"].encode() == public
    assert "--json" in _keygen(lib, "-h").stdout


def test_curve_keygen_reads_the_secret_from_stdin() -> None:
    public, secret = safezmq.curve_keypair()
    result = subprocess.run(
        [sys.executable, "-m", "safezmq.curve_keygen", "--secret", "-", "--json"],
        input=secret.decode() + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(result.stdout)["public"].encode() == public


def test_curve_keygen_refuses_a_bad_secret_without_echoing_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "safezmq.curve_keygen", "--secret", "not-a-key-SECRETISH"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "40 Z85 characters" in result.stderr
    assert "SECRETISH" not in result.stderr + result.stdout
