"""STREAM: raw TCP peers (made with the socket module) on either side of a safezmq socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

import safezmq as zmq

from .helpers import TIMEOUT_MS, bound, expect_errno, make, nothing_more, wait_for


def tcp_port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


@pytest.fixture
def raw_server() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(TIMEOUT_MS / 1000)
    yield server
    server.close()


def raw_client(endpoint: str) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", tcp_port(endpoint)), TIMEOUT_MS / 1000)
    client.settimeout(TIMEOUT_MS / 1000)
    return client


def read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def recv_data(stream: zmq.Socket, rid: bytes, n: int) -> bytes:
    """``n`` octets from the peer ``rid`` (TCP may split or join them)."""
    data = b""
    while len(data) < n:
        got_id, chunk = stream.recv_multipart()
        assert got_id == rid and chunk, (got_id, chunk)
        data += chunk
    return data


def test_raw_client_to_stream(ctx: zmq.Context) -> None:
    stream, endpoint = bound(ctx, zmq.STREAM, "tcp://127.0.0.1:*")
    client = raw_client(endpoint)
    rid, empty = stream.recv_multipart()  # STREAM_NOTIFY (on by default): a peer connected
    assert empty == b"" and len(rid) == 5 and rid[0] == 0
    client.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert recv_data(stream, rid, 18) == b"GET / HTTP/1.0\r\n\r\n"
    stream.send_multipart([rid, b"HTTP/1.0 200 OK\r\n"])
    stream.send_multipart([rid, b"body"])
    assert read_exactly(client, 21) == b"HTTP/1.0 200 OK\r\nbody"
    client.close()
    assert stream.recv_multipart() == [rid, b""]  # ...and went away


def test_stream_tells_peers_apart(ctx: zmq.Context) -> None:
    stream, endpoint = bound(ctx, zmq.STREAM, "tcp://127.0.0.1:*")
    clients = []
    ids = []
    for _ in range(3):
        clients.append(raw_client(endpoint))
        rid, empty = stream.recv_multipart()
        assert empty == b""
        ids.append(rid)
    assert len(set(ids)) == 3
    for n, client in enumerate(clients):
        client.sendall(b"I am %d" % n)
    for n, client in enumerate(clients):
        stream.send_multipart([ids[n], b"you are %d" % n])
        assert read_exactly(client, 9) == b"you are %d" % n
    received: dict[bytes, bytes] = {}
    while any(len(received.get(rid, b"")) < 6 for rid in ids):
        rid, chunk = stream.recv_multipart()
        received[rid] = received.get(rid, b"") + chunk
    assert received == {ids[n]: b"I am %d" % n for n in range(3)}
    for client in clients:
        client.close()


def test_sending_empty_data_closes_the_connection(ctx: zmq.Context) -> None:
    stream, endpoint = bound(ctx, zmq.STREAM, "tcp://127.0.0.1:*")
    client = raw_client(endpoint)
    rid, _ = stream.recv_multipart()
    stream.send_multipart([rid, b"bye"])
    stream.send_multipart([rid, b""])
    assert read_exactly(client, 3) == b"bye"  # what was sent before is delivered...
    assert client.recv(10) == b""  # ...then the connection is closed
    client.close()
    assert wait_for(lambda: unreachable(stream, rid))  # and the id is forgotten


def unreachable(stream: zmq.Socket, rid: bytes) -> bool:
    """Whether sending to ``rid`` fails with EHOSTUNREACH (else it sent b"anyone?")."""
    try:
        stream.send_multipart([rid, b"anyone?"])
    except zmq.ZMQError as exc:
        assert exc.errno == zmq.EHOSTUNREACH
        return True
    return False


def test_unknown_routing_id_is_unreachable(ctx: zmq.Context) -> None:
    stream, _ = bound(ctx, zmq.STREAM, "tcp://127.0.0.1:*")
    expect_errno(zmq.EHOSTUNREACH, stream.send_multipart, [b"\x00nope", b"data"])
    expect_errno(zmq.EHOSTUNREACH, stream.send_multipart, [b"nobody", b"data"], zmq.DONTWAIT)


def test_stream_notify_off(ctx: zmq.Context) -> None:
    stream, endpoint = bound(ctx, zmq.STREAM, "tcp://127.0.0.1:*", stream_notify=0)
    client = raw_client(endpoint)
    client.sendall(b"first words")
    rid, data = stream.recv_multipart()  # no empty "connected" message first
    assert data and b"first words".startswith(data)
    recv_data(stream, rid, len(b"first words") - len(data))
    client.close()
    assert nothing_more(stream, 200)  # and none when it leaves


def test_stream_connects_to_a_plain_tcp_server(ctx: zmq.Context, raw_server: socket.socket) -> None:
    port = raw_server.getsockname()[1]
    stream = make(ctx, zmq.STREAM)
    stream.connect(f"tcp://127.0.0.1:{port}")
    conn, _ = raw_server.accept()
    conn.settimeout(TIMEOUT_MS / 1000)
    rid, empty = stream.recv_multipart()  # connected
    assert empty == b""
    stream.send_multipart([rid, b"hello server"])
    assert read_exactly(conn, 12) == b"hello server"
    conn.sendall(b"hello client")
    assert recv_data(stream, rid, 12) == b"hello client"
    conn.close()
    assert stream.recv_multipart() == [rid, b""]  # disconnected


def test_stream_connect_routing_id(ctx: zmq.Context, raw_server: socket.socket) -> None:
    port = raw_server.getsockname()[1]
    stream = make(ctx, zmq.STREAM)
    stream.setsockopt(zmq.CONNECT_ROUTING_ID, b"upstream")
    stream.connect(f"tcp://127.0.0.1:{port}")
    conn, _ = raw_server.accept()
    conn.settimeout(TIMEOUT_MS / 1000)
    assert stream.recv_multipart() == [b"upstream", b""]
    stream.send_multipart([b"upstream", b"named"])
    assert read_exactly(conn, 5) == b"named"
    conn.close()


def test_stream_with_a_zmtp_peer_sees_the_greeting_as_data(ctx: zmq.Context) -> None:
    """STREAM speaks no ZMTP: a ZeroMQ peer's greeting arrives as raw bytes."""
    stream, endpoint = bound(ctx, zmq.STREAM, "tcp://127.0.0.1:*")
    dealer = make(ctx, zmq.DEALER)
    dealer.connect(endpoint)
    rid, empty = stream.recv_multipart()
    assert empty == b""
    greeting = recv_data(stream, rid, 10)
    assert greeting[0] == 0xFF and greeting[9] == 0x7F  # the ZMTP signature
