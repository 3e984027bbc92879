"""An asyncio service: ROUTER server, DEALER clients, CURVE, and an AsyncioAuthenticator.

Everything runs on one event loop: the ZAP handler (``AsyncioAuthenticator``, with a coroutine
as its credentials provider), the ROUTER server and three DEALER clients.  A
``safezmq.asyncio.Context`` created inside the running loop runs its connections on that loop
(no I/O thread).  Two clients are registered and get answers; the third is refused.

Run: ``python examples/asyncio_service.py``
"""

from __future__ import annotations

import asyncio
import sys

import safezmq as zmq
import safezmq.asyncio as zaio
from safezmq.auth.asyncio import AsyncioAuthenticator
from safezmq.utils.monitor import parse_monitor_message


class Registry:
    """An asynchronous credentials provider: think of a lookup in a device database."""

    def __init__(self, clients: set[bytes]) -> None:
        self.clients = clients  # Z85 public keys

    async def callback(self, domain: str, key: bytes) -> bool:
        """``key``: the client's public key as 40 Z85 characters (bytes)."""
        await asyncio.sleep(0)  # e.g. an asynchronous database query
        return key in self.clients


async def serve(server: zaio.Socket, names: dict[str, str]) -> None:
    """Answer each request with a greeting addressed to whoever the authenticator let in."""
    while True:
        frames = await server.recv_multipart(copy=False)
        routing_id, request = frames[0], frames[-1]
        client_key = request.get("User-Id")  # the client's Z85 public key, as str
        reply = f"hello {names[client_key]}, you asked for {request.bytes.decode()!r}"
        await server.send_multipart([routing_id, reply.encode()])


async def client(ctx: zaio.Context, endpoint: str, server_key: bytes, keys: tuple) -> bytes:
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.curve_publickey, sock.curve_secretkey = keys
    sock.curve_serverkey = server_key
    sock.connect(endpoint)
    try:
        await sock.send(b"the time")
        return await asyncio.wait_for(sock.recv(), timeout=3)
    finally:
        sock.close()


async def refused(ctx: zaio.Context, endpoint: str, server_key: bytes) -> int:
    """A client with an unregistered key: returns the ZAP status its monitor reports."""
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
    sock.curve_serverkey = server_key
    monitor = sock.get_monitor_socket()
    sock.connect(endpoint)
    await sock.send(b"the time")
    try:
        while True:
            event = parse_monitor_message(await monitor.recv_multipart())
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                return int(event["value"])
    finally:
        sock.close()


async def main() -> int:
    server_public, server_secret = zmq.curve_keypair()
    alice, bob = zmq.curve_keypair(), zmq.curve_keypair()
    names = {alice[0].decode(): "alice", bob[0].decode(): "bob"}

    ctx = zaio.Context()
    auth = AsyncioAuthenticator(ctx)
    auth.start()  # a task on this loop answers ZAP requests
    auth.configure_curve_callback("*", credentials_provider=Registry({alice[0], bob[0]}))
    server = ctx.socket(zmq.ROUTER)
    server.linger = 0
    server.curve_server = 1
    server.curve_secretkey = server_secret
    server.bind("tcp://127.0.0.1:*")
    endpoint = server.last_endpoint.decode()
    print(f"ROUTER (CURVE server) on {endpoint}, ZAP answered on the same loop")
    service = asyncio.create_task(serve(server, names))
    try:
        replies = await asyncio.gather(
            client(ctx, endpoint, server_public, alice),
            client(ctx, endpoint, server_public, bob),
        )
        for reply in replies:
            print(f"  client got: {reply.decode()}")
        status = await asyncio.wait_for(refused(ctx, endpoint, server_public), timeout=5)
        print(f"  unregistered client refused: HANDSHAKE_FAILED_AUTH, ZAP status {status}")
        ok = len(replies) == 2 and status == 400
        print("asyncio service OK" if ok else "asyncio service FAILED")
        return 0 if ok else 1
    finally:
        service.cancel()
        auth.stop()
        server.close()
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
