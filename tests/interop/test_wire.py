"""Wire proof against real libzmq (pyzmq): a protocol Connection over a blocking TCP socket.

safezmq plays client and server of each mechanism; libzmq binds or connects; multipart
messages go both ways, and heartbeats are answered in both directions.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import zmq
from zmq.auth.thread import ThreadAuthenticator

from safezmq.protocol import (
    Connection,
    CurveClient,
    CurveServer,
    HandshakeComplete,
    Mechanism,
    NullMechanism,
    PeerError,
    PingReceived,
    PlainClient,
    PlainServer,
    PongReceived,
    curve_keypair,
)

from .wire import WirePeer, connect

MULTIPART = [b"first", b"", b"x" * 300, b"y" * 70000]


def handshake(peer: WirePeer) -> HandshakeComplete:
    peer.pump_until(lambda: peer.conn.handshake_complete)
    done = [e for e in peer.events if isinstance(e, HandshakeComplete)]
    assert len(done) == 1
    return done[0]


def exchange(peer: WirePeer, zsock: zmq.Socket) -> None:
    """Multipart both ways, then a PING answered by libzmq's PONG."""
    peer.conn.send_message(MULTIPART)
    peer.flush()
    assert zsock.recv_multipart() == MULTIPART
    zsock.send_multipart([b"reply", b"two"])
    peer.pump_until(lambda: len(peer.messages()) >= 1)
    assert peer.messages() == [[b"reply", b"two"]]
    assert peer.conn.send_ping(50, b"ctx-123")
    peer.flush()
    peer.pump_until(lambda: any(isinstance(e, PongReceived) for e in peer.events))
    assert [e.context for e in peer.events if isinstance(e, PongReceived)] == [b"ctx-123"]


Setup = Callable[[zmq.Socket], Mechanism]


def null_client(zsock: zmq.Socket) -> Mechanism:
    return NullMechanism(as_server=False)


def null_server(zsock: zmq.Socket) -> Mechanism:
    return NullMechanism(as_server=True)


def plain_client(zsock: zmq.Socket) -> Mechanism:
    zsock.plain_server = True
    return PlainClient(b"admin", b"s3cret")


def plain_server(zsock: zmq.Socket) -> Mechanism:
    zsock.plain_username = b"admin"
    zsock.plain_password = b"s3cret"
    return PlainServer()


def curve_client(zsock: zmq.Socket) -> Mechanism:
    server_public, server_secret = zmq.curve_keypair()
    zsock.curve_server = True
    zsock.curve_secretkey = server_secret
    public, secret = curve_keypair()
    return CurveClient(server_public, secret, public)


def curve_server(zsock: zmq.Socket) -> Mechanism:
    public, secret = curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    zsock.curve_serverkey = public
    zsock.curve_publickey = client_public
    zsock.curve_secretkey = client_secret
    return CurveServer(secret)


CASES = {
    "null-client": null_client,
    "null-server": null_server,
    "plain-client": plain_client,
    "plain-server": plain_server,
    "curve-client": curve_client,
    "curve-server": curve_server,
}


def _configure_auth(auth: ThreadAuthenticator) -> None:
    auth.configure_plain(domain="*", passwords={"admin": "s3cret"})
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)


@pytest.mark.parametrize("case", sorted(CASES))
def test_libzmq_binds(case: str, zctx: zmq.Context, authenticator: ThreadAuthenticator) -> None:
    _configure_auth(authenticator)
    zsock = zctx.socket(zmq.DEALER)
    zsock.linger = 0
    zsock.rcvtimeo = 5000
    mechanism = CASES[case](zsock)
    port = zsock.bind_to_random_port("tcp://127.0.0.1")
    peer = WirePeer(connect(port), Connection(mechanism, socket_type=b"DEALER"))
    try:
        done = handshake(peer)
        assert done.socket_type == b"DEALER"
        exchange(peer, zsock)
    finally:
        peer.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_libzmq_connects(case: str, zctx: zmq.Context, authenticator: ThreadAuthenticator) -> None:
    _configure_auth(authenticator)
    listener = socket.create_server(("127.0.0.1", 0))
    zsock = zctx.socket(zmq.DEALER)
    zsock.linger = 0
    zsock.rcvtimeo = 5000
    zsock.routing_id = b"libzmq-peer"
    mechanism = CASES[case](zsock)
    zsock.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    sock, _ = listener.accept()
    listener.close()
    peer = WirePeer(sock, Connection(mechanism, socket_type=b"ROUTER"))
    try:
        done = handshake(peer)
        assert done.socket_type == b"DEALER"
        assert done.identity == b"libzmq-peer"
        exchange(peer, zsock)
    finally:
        peer.close()


def test_libzmq_heartbeats_are_answered(zctx: zmq.Context) -> None:
    zsock = zctx.socket(zmq.DEALER)
    zsock.linger = 0
    zsock.heartbeat_ivl = 50
    zsock.heartbeat_ttl = 2000
    zsock.heartbeat_timeout = 1000
    port = zsock.bind_to_random_port("tcp://127.0.0.1")
    peer = WirePeer(connect(port), Connection(NullMechanism(), socket_type=b"DEALER"))
    try:
        handshake(peer)
        peer.pump_until(lambda: len([e for e in peer.events if isinstance(e, PingReceived)]) >= 3)
        pings = [e for e in peer.events if isinstance(e, PingReceived)]
        assert pings[0].ttl == pytest.approx(2.0)
        # Our PONGs kept libzmq's heartbeat timeout from closing the connection.
        zsock.send(b"still here")
        peer.pump_until(lambda: peer.messages() == [[b"still here"]])
    finally:
        peer.close()


def test_wrong_plain_password_is_refused_by_libzmq(
    zctx: zmq.Context, authenticator: ThreadAuthenticator
) -> None:
    _configure_auth(authenticator)
    zsock = zctx.socket(zmq.DEALER)
    zsock.linger = 0
    zsock.plain_server = True
    port = zsock.bind_to_random_port("tcp://127.0.0.1")
    peer = WirePeer(
        connect(port), Connection(PlainClient(b"admin", b"wrong"), socket_type=b"DEALER")
    )
    try:
        with pytest.raises(PeerError) as info:
            handshake(peer)
        assert info.value.auth_status == 400
    finally:
        peer.close()
