"""``python -m safezmq``: safezmq doing its job on loopback, end to end, in a few seconds.

It runs a request/reply exchange, a load-balanced pipeline over three transports, and then
shows the secure defaults at work: a legacy ZMTP 2.0 probe refused at its first octets, and a
CURVE server that refuses clients when nobody authorises them (fail closed).
"""

from __future__ import annotations

import socket as stdsocket
import sys
import time

from . import __version__
from .constants import Event, SocketType
from .context import Context
from .protocol.keys import curve_keypair
from .socket import Socket
from .utils.monitor import recv_monitor_message


def _events(mon: Socket, until: Event, timeout: float = 3.0) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mon.poll(50):
            event = recv_monitor_message(mon)
            seen.append(event)
            if event["event"] == until:
                break
    return seen


def _show(events: list[dict[str, object]]) -> None:
    for e in events:
        name = getattr(e["event"], "name", e["event"])
        print(f"      monitor: {name:<26} value={e['value']}")


def run() -> int:
    print(f"safezmq {__version__} — ZeroMQ in pure Python, secure by default\n")
    ctx = Context()
    try:
        # 1. PAIR over tcp: a round trip, multipart both ways.
        print("1. PAIR <-> PAIR over tcp://127.0.0.1")
        a, b = ctx.socket(SocketType.PAIR), ctx.socket(SocketType.PAIR)
        for s in (a, b):
            s.linger = 0
            s.rcvtimeo = 3000
        a.bind("tcp://127.0.0.1:*")
        b.connect(a.last_endpoint.decode())
        started = time.perf_counter()
        b.send_multipart([b"ping", b"from b"])
        request = a.recv_multipart()
        a.send_multipart([b"pong", *request[1:]])
        reply = b.recv_multipart()
        elapsed = (time.perf_counter() - started) * 1e3
        print(f"   sent {request}, got {reply} back in {elapsed:.1f} ms\n")

        # 2. A pipeline: one PUSH, three PULL workers, one per transport.
        print("2. PUSH -> three PULL workers (tcp, ipc, inproc), load-balanced")
        push = ctx.socket(SocketType.PUSH)
        push.linger = 0
        workers = []
        for address in ("tcp://127.0.0.1:*", "ipc://*", "inproc://demo-worker"):
            w = ctx.socket(SocketType.PULL)
            w.linger = 0
            w.rcvtimeo = 3000
            w.bind(address)
            push.connect(w.last_endpoint.decode())
            workers.append(w)
        time.sleep(0.2)  # let tcp and ipc finish their handshakes
        for i in range(300):
            push.send(b"task %d" % i)
        counts = []
        for w in workers:
            n = 0
            while w.poll(200):
                w.recv()
                n += 1
            counts.append(n)
        print(f"   300 tasks shared {counts[0]}/{counts[1]}/{counts[2]} (tcp/ipc/inproc)\n")

        # 3. A legacy ZMTP 2.0 peer is refused at its first octets.
        print("3. A ZMTP 2.0 peer (the protocol behind CVE-2014-9721) knocks")
        server = ctx.socket(SocketType.PULL)
        server.linger = 0
        mon = server.get_monitor_socket()
        server.bind("tcp://127.0.0.1:*")
        host, port = server.last_endpoint.decode()[len("tcp://") :].rsplit(":", 1)
        probe = stdsocket.create_connection((host, int(port)))
        probe.sendall(b"\xff" + bytes(8) + b"\x7f\x01\x07")  # ZMTP 2.0 signature + version
        probe.settimeout(3)
        try:
            while probe.recv(1024):
                pass
            closed = "closed the connection"
        except OSError:
            closed = "reset the connection"
        probe.close()
        print(f"   safezmq {closed}")
        _show(_events(mon, Event.DISCONNECTED))
        print()

        # 4. CURVE with nobody to authorise clients: fail closed.
        print("4. A CURVE server with no ZAP handler (libzmq would let any client in)")
        server_public, server_secret = curve_keypair()
        client_public, client_secret = curve_keypair()
        srv = ctx.socket(SocketType.PULL)
        srv.linger = 0
        srv.curve_server = 1
        srv.curve_secretkey = server_secret
        srv_mon = srv.get_monitor_socket()
        srv.bind("tcp://127.0.0.1:*")
        cli = ctx.socket(SocketType.PUSH)
        cli.linger = 0
        cli.curve_serverkey = server_public
        cli.curve_publickey = client_public
        cli.curve_secretkey = client_secret
        cli.connect(srv.last_endpoint.decode())
        events = _events(srv_mon, Event.HANDSHAKE_FAILED_AUTH)
        refused = any(e["event"] == Event.HANDSHAKE_FAILED_AUTH for e in events)
        verdict = "refused (no ZAP handler)" if refused else "NOT refused"
        print(f"   the client was {verdict}")
        _show(events)
        print("\nAll done.")
        return 0 if refused else 1
    finally:
        ctx.destroy(linger=0)


def main(argv: list[str] | None = None) -> int:
    return run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
