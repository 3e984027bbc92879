"""Ironhouse: mutual CURVE authentication between two services, on loopback.

The server proves who it is with its key pair (the client pins the server's public key); the
client proves who it is with its own key pair, and the server's authenticator lets in only the
clients whose public certificate is in its ``authorized_clients`` directory.  Every message is
encrypted.  Then two clients that should fail do fail:

- an impostor with a key pair the server has never seen (refused by ZAP, status 400);
- a client that was given the wrong server key (the handshake cannot be decrypted).

Run: ``python examples/ironhouse.py``
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import time

import safezmq as zmq
from safezmq.auth import create_certificates, load_certificate
from safezmq.auth.thread import ThreadAuthenticator
from safezmq.utils.monitor import recv_monitor_message


def wait_for_event(monitor: zmq.Socket, wanted: set[int], timeout: float = 5.0) -> dict:
    """The first monitor event in ``wanted`` (others are skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if monitor.poll(50):
            event = recv_monitor_message(monitor)
            if event["event"] in wanted:
                return event
    raise TimeoutError(f"none of {wanted} within {timeout} s")


def make_keys(base: str) -> tuple[str, str, str]:
    """Key pairs for the server and one client, laid out as each side would keep them."""
    server_dir = os.path.join(base, "server")  # the server's own key pair
    client_dir = os.path.join(base, "client")  # the client's own key pair
    authorized = os.path.join(base, "authorized_clients")  # public keys the server accepts
    for directory in (server_dir, client_dir, authorized):
        os.mkdir(directory, 0o700)
    create_certificates(server_dir, "server")
    _, client_secret_file = create_certificates(client_dir, "client")
    # Distribution: only the *public* certificate travels to the server.
    shutil.copy(os.path.join(client_dir, "client.key"), authorized)
    for path in (os.path.join(server_dir, "server.key_secret"), client_secret_file):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        print(f"  secret key file {os.path.relpath(path, base)}: mode {mode:04o}")
    return server_dir, client_dir, authorized


def curve_client(
    ctx: zmq.Context, endpoint: str, server_public: bytes, cert_file: str | None
) -> zmq.Socket:
    """A REQ client with its key pair (from ``cert_file``, or a fresh unknown one)."""
    if cert_file is not None:
        public, secret = load_certificate(cert_file)
    else:
        public, secret = zmq.curve_keypair()
    client = ctx.socket(zmq.REQ)
    client.linger = 0
    client.rcvtimeo = 3000
    client.curve_publickey = public
    client.curve_secretkey = secret
    client.curve_serverkey = server_public  # the client authenticates the server
    client.connect(endpoint)
    return client


def main() -> int:
    base = tempfile.mkdtemp(prefix="ironhouse-")
    ctx = zmq.Context()  # the default, secure Policy
    auth = ThreadAuthenticator(ctx)
    try:
        print("1. keys")
        server_dir, client_dir, authorized = make_keys(base)

        print("2. the server: an authenticator with a certificate directory")
        auth.start()
        auth.allow("127.0.0.1")  # optional: an address allow-list on top of the keys
        auth.configure_curve(domain="*", location=authorized)

        server_public, server_secret = load_certificate(
            os.path.join(server_dir, "server.key_secret")
        )
        server = ctx.socket(zmq.REP)
        server.linger = 0
        server.curve_server = 1
        server.curve_secretkey = server_secret
        server.curve_publickey = server_public
        events = server.get_monitor_socket()
        server.bind("tcp://127.0.0.1:*")
        endpoint = server.last_endpoint.decode()
        print(f"  listening on {endpoint} (CURVE server)")

        print("3. the authorised client")
        client = curve_client(
            ctx, endpoint, server_public, os.path.join(client_dir, "client.key_secret")
        )
        client.send(b"hello from an authorised client")
        request = server.recv(copy=False)
        user_id = request.get("User-Id")  # the client's public key (Z85), set by the ZAP reply
        print(f"  server got {request.bytes!r} from User-Id {user_id}")
        server.send(b"welcome")
        print(f"  client got {client.recv()!r}")
        expected_id = load_certificate(os.path.join(authorized, "client.key"))[0].decode()
        if user_id != expected_id:
            print("  UNEXPECTED: the User-Id is not the client's public key")
            return 1

        print("4. an impostor with a key pair the server does not know")
        impostor = curve_client(ctx, endpoint, server_public, None)
        impostor.send(b"let me in")
        event = wait_for_event(events, {zmq.EVENT_HANDSHAKE_FAILED_AUTH})
        print(f"  server monitor: HANDSHAKE_FAILED_AUTH, ZAP status {event['value']}")
        if server.poll(300):
            print("  UNEXPECTED: the impostor's message arrived")
            return 1
        print("  the impostor's message never reached the server")

        print("5. a client pinned to another server key (what stops an impostor server)")
        wrong_public, _ = zmq.curve_keypair()
        confused = curve_client(
            ctx, endpoint, wrong_public, os.path.join(client_dir, "client.key_secret")
        )
        confused.send(b"is this the server?")
        event = wait_for_event(events, {zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL})
        code = zmq.ProtocolErrorCode(event["value"]).name
        print(f"  server monitor: HANDSHAKE_FAILED_PROTOCOL, {code} (its HELLO does not open)")
        if server.poll(300):
            print("  UNEXPECTED: the message arrived")
            return 1

        print("ironhouse OK: only the authorised client got through")
        return 0
    finally:
        auth.stop()
        ctx.destroy(linger=0)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
