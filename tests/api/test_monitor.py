"""Socket monitoring as libzmq does it: the two-frame wire format, which events come when, event
masks, and the protocol error codes of failed handshakes."""

from __future__ import annotations

import socket as pysocket
import struct
import time
from typing import Any

import pytest
import zmq as pyzmq
import zmq.utils.monitor as pyzmq_monitor

import safezmq
import safezmq.utils.monitor as safezmq_monitor
from safezmq.protocol.greeting import build_greeting
from tests.api.compat import PROMPT, socket

Event = dict[str, Any]


def recv_event(lib: Any, mon: Any, flags: int = 0) -> Event:
    module = safezmq_monitor if lib is safezmq else pyzmq_monitor
    event: Event = module.recv_monitor_message(mon, flags)
    return event


def events_until(lib: Any, mon: Any, wanted: int, timeout: float = PROMPT) -> list[Event]:
    """Every event up to and including the first ``wanted`` one."""
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mon.poll(50):
            event = recv_event(lib, mon)
            seen.append(event)
            if event["event"] == wanted:
                return seen
    names = [lib.Event(e["event"]).name for e in seen]
    raise AssertionError(f"{lib.Event(wanted).name} never came; saw {names}")


def kinds(events: list[Event]) -> list[int]:
    return [int(e["event"]) for e in events]


def drain(lib: Any, mon: Any, quiet: float = 0.2) -> list[Event]:
    """The events that arrive until none has for ``quiet`` seconds."""
    seen = []
    while mon.poll(int(quiet * 1000)):
        seen.append(recv_event(lib, mon))
    return seen


def free_port() -> int:
    probe = pysocket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


# -- the events of a connection's life --------------------------------------------------------


def test_bind_accept_connect_and_handshake(lib: Any, lib_ctx: Any) -> None:
    server = socket(lib_ctx, lib.PULL)
    server_mon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    endpoint = server.last_endpoint
    listening = events_until(lib, server_mon, lib.EVENT_LISTENING)
    assert kinds(listening) == [lib.EVENT_LISTENING]
    assert listening[0]["endpoint"] == endpoint
    assert isinstance(listening[0]["value"], int) and listening[0]["value"] >= 0  # the fd

    client = socket(lib_ctx, lib.PUSH)
    client_mon = client.get_monitor_socket()
    client.connect(endpoint.decode())
    client_events = events_until(lib, client_mon, lib.EVENT_HANDSHAKE_SUCCEEDED)
    # libzmq may first say CONNECT_DELAYED (the connect is in progress).
    assert [k for k in kinds(client_events) if k != lib.EVENT_CONNECT_DELAYED] == [
        lib.EVENT_CONNECTED,
        lib.EVENT_HANDSHAKE_SUCCEEDED,
    ]
    assert {e["endpoint"] for e in client_events} == {endpoint}
    assert client_events[-1]["value"] == 0

    server_events = events_until(lib, server_mon, lib.EVENT_HANDSHAKE_SUCCEEDED)
    assert kinds(server_events) == [lib.EVENT_ACCEPTED, lib.EVENT_HANDSHAKE_SUCCEEDED]
    assert {e["endpoint"] for e in server_events} == {endpoint}

    client.close()
    disconnected = events_until(lib, server_mon, lib.EVENT_DISCONNECTED)
    assert kinds(disconnected) == [lib.EVENT_DISCONNECTED]
    assert disconnected[0]["endpoint"] == endpoint


def test_connect_to_a_peer_that_is_not_there_yet(lib: Any, lib_ctx: Any) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    client = socket(lib_ctx, lib.PUSH)
    client.reconnect_ivl = 50
    mon = client.get_monitor_socket()
    client.connect(address)
    before = events_until(lib, mon, lib.EVENT_CONNECT_RETRIED)
    assert lib.EVENT_CONNECT_DELAYED in kinds(before)
    assert lib.EVENT_CONNECTED not in kinds(before)
    retried = before[-1]
    assert retried["endpoint"] == address.encode()
    assert retried["value"] >= 50  # the reconnect interval, in ms
    server = socket(lib_ctx, lib.PULL)
    server.bind(address)
    after = events_until(lib, mon, lib.EVENT_HANDSHAKE_SUCCEEDED)
    assert lib.EVENT_CONNECTED in kinds(after)
    client.send(b"made it")
    assert server.poll(PROMPT * 1000)
    assert server.recv() == b"made it"


def test_closed_on_unbind(lib: Any, lib_ctx: Any) -> None:
    server = socket(lib_ctx, lib.PULL)
    mon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    endpoint = server.last_endpoint
    events_until(lib, mon, lib.EVENT_LISTENING)
    server.unbind(endpoint)
    closed = events_until(lib, mon, lib.EVENT_CLOSED)
    assert kinds(closed) == [lib.EVENT_CLOSED]
    assert closed[0]["endpoint"] == endpoint


def test_disable_monitor_sends_monitor_stopped(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PULL)
    mon = sock.get_monitor_socket()
    assert sock.get_monitor_socket() is mon  # one monitor socket while it is open
    sock.bind("tcp://127.0.0.1:*")
    sock.disable_monitor()
    # The monitor socket stays open: what was queued, then MONITOR_STOPPED, can be read.
    assert not mon.closed
    events = events_until(lib, mon, lib.EVENT_MONITOR_STOPPED)
    assert kinds(events) == [lib.EVENT_LISTENING, lib.EVENT_MONITOR_STOPPED]
    assert events[-1]["value"] == 0 and events[-1]["endpoint"] == b""
    sock.bind("tcp://127.0.0.1:*")
    assert drain(lib, mon, 0.1) == []  # nothing after the stop
    mon.close()


def test_monitor_stopped_when_the_socket_closes(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PAIR)
    mon = sock.get_monitor_socket()
    sock.bind("inproc://monitored-close")
    sock.close()
    assert kinds(events_until(lib, mon, lib.EVENT_MONITOR_STOPPED)) == [lib.EVENT_MONITOR_STOPPED]


def test_monitor_with_explicit_address(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PULL)
    sock.monitor("inproc://explicit-monitor", lib.EVENT_LISTENING | lib.EVENT_MONITOR_STOPPED)
    mon = socket(lib_ctx, lib.PAIR)
    mon.connect("inproc://explicit-monitor")
    sock.bind("tcp://127.0.0.1:*")
    assert kinds(events_until(lib, mon, lib.EVENT_LISTENING)) == [lib.EVENT_LISTENING]
    sock.monitor(None)  # stops monitoring
    assert kinds(events_until(lib, mon, lib.EVENT_MONITOR_STOPPED)) == [lib.EVENT_MONITOR_STOPPED]


def test_monitor_address_must_be_inproc(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PULL)
    with pytest.raises(lib.ZMQError) as info:
        sock.monitor("tcp://127.0.0.1:5555")
    assert info.value.errno == lib.EPROTONOSUPPORT


def test_recv_monitor_message_noblock(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PULL)
    mon = sock.get_monitor_socket()
    with pytest.raises(lib.Again):
        recv_event(lib, mon, lib.NOBLOCK)


# -- masks ------------------------------------------------------------------------------------


def test_event_mask_filters_events(lib: Any, lib_ctx: Any) -> None:
    server = socket(lib_ctx, lib.PULL)
    mon = server.get_monitor_socket(lib.EVENT_ACCEPTED | lib.EVENT_DISCONNECTED)
    server.bind("tcp://127.0.0.1:*")
    client = socket(lib_ctx, lib.PUSH)
    client.connect(server.last_endpoint.decode())
    client.send(b"x")
    assert server.poll(PROMPT * 1000)
    client.close()
    events = events_until(lib, mon, lib.EVENT_DISCONNECTED)
    # No LISTENING, no HANDSHAKE_SUCCEEDED: only what the mask asked for.
    assert kinds(events) == [lib.EVENT_ACCEPTED, lib.EVENT_DISCONNECTED]
    server.disable_monitor()
    assert drain(lib, mon, 0.1) == []  # not even MONITOR_STOPPED, which was not asked for


# -- the wire format --------------------------------------------------------------------------


def test_two_frame_wire_format(lib: Any, lib_ctx: Any) -> None:
    sock = socket(lib_ctx, lib.PULL)
    mon = sock.get_monitor_socket()
    sock.bind("tcp://127.0.0.1:*")
    assert mon.poll(PROMPT * 1000)
    frames = mon.recv_multipart()
    assert len(frames) == 2
    assert len(frames[0]) == 6  # uint16 event + uint32 value, native order, no padding
    event, value = struct.unpack("=HI", frames[0])
    assert event == lib.EVENT_LISTENING
    assert value >= 0
    assert frames[1] == sock.last_endpoint


def _parsed(parse: Any, msg: list[bytes]) -> tuple[int, int, bytes]:
    result = parse(msg)
    assert set(result) == {"event", "value", "endpoint"}
    return int(result["event"]), int(result["value"]), result["endpoint"]


@pytest.mark.parametrize(
    ("event", "value", "endpoint"),
    [
        (0x0008, 12, b"tcp://127.0.0.1:5555"),  # LISTENING, fd 12
        (0x0004, 100, b"tcp://[::1]:1"),  # CONNECT_RETRIED, 100 ms
        (0x2000, 0x11000002, b"ipc:///tmp/x"),  # HANDSHAKE_FAILED_PROTOCOL, mechanism mismatch
        (0x4000, 400, b"tcp://h:1"),  # HANDSHAKE_FAILED_AUTH, ZAP status
        (0x0400, 0, b""),  # MONITOR_STOPPED
        (0x0080, 0x7FFFFFFF, b"tcp://127.0.0.1:9"),  # (pyzmq garbles values >= 2**31)
        (0x0200, 7, "tcp://é:1".encode()),
    ],
)
def test_parse_monitor_message_matches_pyzmq(event: int, value: int, endpoint: bytes) -> None:
    msg = [struct.pack("=HI", event, value), endpoint]
    mine = _parsed(safezmq_monitor.parse_monitor_message, msg)
    assert mine == _parsed(pyzmq_monitor.parse_monitor_message, msg)
    assert mine == (event, value, endpoint)


def test_parse_reads_the_value_as_uint32() -> None:
    msg = [struct.pack("=HI", 0x0080, 0xFFFFFFFF), b"tcp://127.0.0.1:9"]
    parsed = safezmq_monitor.parse_monitor_message(msg)
    assert parsed == {"event": safezmq.EVENT_CLOSED, "value": 0xFFFFFFFF, "endpoint": msg[1]}


def test_parse_of_real_events_matches_pyzmq(ctx: safezmq.Context) -> None:
    server = socket(ctx, safezmq.PULL)
    mon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    client = socket(ctx, safezmq.PUSH)
    client.connect(server.last_endpoint.decode())
    raw: list[list[bytes]] = []
    deadline = time.monotonic() + PROMPT
    while len(raw) < 3 and time.monotonic() < deadline:
        if mon.poll(50):
            raw.append(mon.recv_multipart())
    assert len(raw) == 3  # LISTENING, ACCEPTED, HANDSHAKE_SUCCEEDED
    for msg in raw:
        assert _parsed(safezmq_monitor.parse_monitor_message, msg) == _parsed(
            pyzmq_monitor.parse_monitor_message, msg
        )
    assert [_parsed(safezmq_monitor.parse_monitor_message, m)[0] for m in raw] == [
        safezmq.EVENT_LISTENING,
        safezmq.EVENT_ACCEPTED,
        safezmq.EVENT_HANDSHAKE_SUCCEEDED,
    ]


@pytest.mark.parametrize(
    "msg",
    [
        [b"\x08\x00\x00\x00\x00\x00"],
        [b"\x08\x00\x00\x00\x00", b"tcp://x:1"],
        [b"\x08\x00\x00\x00\x00\x00\x00", b"tcp://x:1"],
        [b"\x08\x00\x00\x00\x00\x00", b"tcp://x:1", b"extra"],
    ],
)
def test_parse_refuses_malformed_messages_like_pyzmq(msg: list[bytes]) -> None:
    with pytest.raises(RuntimeError):
        pyzmq_monitor.parse_monitor_message(msg)
    with pytest.raises(RuntimeError):
        safezmq_monitor.parse_monitor_message(msg)


# -- failed handshakes ------------------------------------------------------------------------


def test_mechanism_mismatch_is_a_protocol_failure(lib: Any, lib_ctx: Any) -> None:
    """A raw TCP client greets a NULL server as a PLAIN client (ZMTP 3.0)."""
    server = socket(lib_ctx, lib.PULL)
    mon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    endpoint = server.last_endpoint
    host, port = endpoint.decode()[len("tcp://") :].rsplit(":", 1)
    greeting = build_greeting(b"PLAIN", False)
    assert len(greeting) == 64
    with pysocket.create_connection((host, int(port)), timeout=PROMPT) as raw:
        raw.sendall(greeting)
        events = events_until(lib, mon, lib.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert lib.EVENT_ACCEPTED in kinds(events)
    assert lib.EVENT_HANDSHAKE_SUCCEEDED not in kinds(events)
    failure = events[-1]
    assert failure["value"] == lib.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
    assert failure["endpoint"] == endpoint
    events_until(lib, mon, lib.EVENT_DISCONNECTED)


def test_incompatible_socket_type_is_a_protocol_failure(ctx: safezmq.Context) -> None:
    """A PAIR may only talk to a PAIR.  (libzmq drops the connection without saying why; we say
    HANDSHAKE_FAILED_PROTOCOL with ZMTP_INVALID_METADATA, on both sides.)"""
    server = socket(ctx, safezmq.PULL)
    server_mon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    client = socket(ctx, safezmq.PAIR)
    client_mon = client.get_monitor_socket()
    client.connect(server.last_endpoint.decode())
    for mon in (server_mon, client_mon):
        events = events_until(safezmq, mon, safezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
        assert safezmq.EVENT_HANDSHAKE_SUCCEEDED not in kinds(events)
        assert events[-1]["value"] == safezmq.PROTOCOL_ERROR_ZMTP_INVALID_METADATA
    client.send(b"never delivered", safezmq.NOBLOCK)
    assert server.poll(100) == 0


def test_incompatible_libzmq_peer_is_a_protocol_failure(ctx: safezmq.Context) -> None:
    zctx = pyzmq.Context()
    try:
        theirs = zctx.socket(pyzmq.PUB)
        theirs.linger = 0
        server = socket(ctx, safezmq.PULL)
        mon = server.get_monitor_socket()
        server.bind("tcp://127.0.0.1:*")
        theirs.connect(server.last_endpoint.decode())
        events = events_until(safezmq, mon, safezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
        assert events[-1]["value"] == safezmq.PROTOCOL_ERROR_ZMTP_INVALID_METADATA
    finally:
        zctx.destroy(linger=0)
