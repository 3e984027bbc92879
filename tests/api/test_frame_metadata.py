"""Received frames carry their connection's metadata (issue: frame.get("...")), over tcp with
NULL and CURVE, including the ZAP user id and application X- properties."""

from __future__ import annotations

import safezmq as zmq
import safezmq.auth
from safezmq.auth.thread import ThreadAuthenticator


def test_null_frame_properties(ctx: zmq.Context) -> None:
    router = ctx.socket(zmq.ROUTER)
    router.linger = 0
    router.rcvtimeo = 5000
    router.bind("tcp://127.0.0.1:*")
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.routing_id = b"dealer-1"
    dealer.setsockopt(zmq.METADATA, b"X-Team:blue")
    dealer.connect(router.last_endpoint.decode())
    dealer.send(b"hi")
    rid, frame = router.recv_multipart(copy=False)
    assert rid.bytes == b"dealer-1"
    assert frame.get("Routing-Id") == "dealer-1"
    assert frame.get("Socket-Type") == "DEALER"
    assert frame.get("Peer-Address") == "127.0.0.1"
    assert frame.get("X-Team") == "blue"
    assert frame.get("x-team") == "blue"  # property names ignore case (RFC 37)


def test_curve_user_id_from_zap(ctx: zmq.Context) -> None:
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_curve(domain="*", location=safezmq.auth.CURVE_ALLOW_ANY)
        server_public, server_secret = zmq.curve_keypair()
        client_public, client_secret = zmq.curve_keypair()
        server = ctx.socket(zmq.PULL)
        server.linger = 0
        server.rcvtimeo = 5000
        server.curve_server = 1
        server.curve_secretkey = server_secret
        server.bind("tcp://127.0.0.1:*")
        client = ctx.socket(zmq.PUSH)
        client.linger = 0
        client.curve_serverkey = server_public
        client.curve_publickey = client_public
        client.curve_secretkey = client_secret
        client.connect(server.last_endpoint.decode())
        client.send(b"signed in")
        frame = server.recv(copy=False)
        assert frame.bytes == b"signed in"
        assert frame.get("User-Id") == client_public.decode()  # pyzmq's curve_user_id: Z85
        assert frame.get("Socket-Type") == "PUSH"
    finally:
        auth.stop()


def test_a_peer_cannot_claim_a_user_id(ctx: zmq.Context) -> None:
    """Without ZAP there is no user id; a peer that announces "User-Id" or "Peer-Address" in
    its READY is not believed (libzmq would pass its claim on to the application)."""
    import socket

    from safezmq.protocol.commands import command
    from safezmq.protocol.frames import encode_command, encode_message
    from safezmq.protocol.greeting import build_greeting
    from safezmq.protocol.metadata import encode_metadata

    server = ctx.socket(zmq.PULL)
    server.linger = 0
    server.rcvtimeo = 5000
    server.bind("tcp://127.0.0.1:*")
    host, port = server.last_endpoint.decode()[len("tcp://") :].rsplit(":", 1)
    raw = socket.create_connection((host, int(port)))
    try:
        claims = {
            "Socket-Type": b"PUSH",
            "user-id": b"admin",
            "Peer-Address": b"10.0.0.1",
            "X-App": b"ok",
        }
        raw.sendall(build_greeting(b"NULL", False))
        raw.sendall(encode_command(command(b"READY", encode_metadata(claims))))
        raw.sendall(b"".join(encode_message([b"hello"])))
        frame = server.recv(copy=False)
        assert frame.bytes == b"hello"
        assert frame.get("X-App") == "ok"
        assert frame.get("Peer-Address") == "127.0.0.1"
        try:
            claimed = frame.get("User-Id")
        except zmq.ZMQError:
            claimed = None
        assert claimed is None
    finally:
        raw.close()
