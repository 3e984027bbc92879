"""``safezmq demo`` (and ``python -m safezmq``): safezmq doing its job on loopback, in seconds.

1. a request/reply round trip, and a load-balanced pipeline over tcp, ipc and inproc;
2. a CURVE-secured service with a ZAP allow-list (``safezmq.auth.ThreadAuthenticator`` reading a
   temporary certificate directory) and an allowed client talking to it;
3. what that service refuses, and why, read from its monitor events: a client with an unknown
   key, a NULL client, a ZMTP 1.0 and a ZMTP 2.0 probe (raw sockets); the allowed client is
   still served afterwards;
4. fail closed: a CURVE server with nobody to authorise clients refuses them all;
5. the audit (``Context.audit()``) of the running sockets, and of a context relaxed to libzmq's
   defaults for contrast.

Nothing to configure; everything stays on 127.0.0.1 and in a temporary directory.
"""

from __future__ import annotations

import os
import socket as stdsocket
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from . import __version__
from .auth.certs import create_certificates, load_certificate
from .auth.thread import ThreadAuthenticator
from .constants import Event, ProtocolErrorCode, SocketType
from .context import Context
from .error import ZMQError
from .policy import Policy
from .protocol.keys import curve_keypair
from .socket import Socket
from .utils.monitor import recv_monitor_message

#: Seconds any step of the demo may wait for an event before it reports a failure.
STEP_TIMEOUT = 3.0

#: Why each ZAP status code refuses a client.
_ZAP_STATUS = {
    300: "the ZAP handler asked the client to retry later",
    400: "the ZAP handler does not know this client's key",
    500: "no ZAP handler answered: safezmq fails closed",
}
#: Why each protocol error ends a handshake (the ones this demo provokes).
_PROTOCOL_ERRORS = {
    ProtocolErrorCode.ZMTP_MECHANISM_MISMATCH: "the client's security mechanism is not the "
    "server's (a NULL client cannot downgrade a CURVE server)",
    ProtocolErrorCode.ZMTP_UNSPECIFIED: "the greeting is not ZMTP 3 (legacy peers are refused "
    "at their first octets)",
    ProtocolErrorCode.ZMTP_CRYPTOGRAPHIC: "a CURVE box did not open",
}


def _events(mon: Socket, until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Monitor events up to the first one ``until`` accepts (or STEP_TIMEOUT)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        if mon.poll(50):
            event = recv_monitor_message(mon)
            seen.append(event)
            if until(event):
                break
    return seen


def _is(*kinds: Event) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] in kinds


def explain(event: dict[str, Any]) -> str:
    """One monitor event as a line: its name and, for a failed handshake, its value and what
    that means."""
    kind, value = event["event"], event["value"]
    name = getattr(kind, "name", str(kind))
    if kind == Event.HANDSHAKE_FAILED_AUTH:
        why = _ZAP_STATUS.get(value, "the ZAP handler refused the client")
        return f"{name:<26} value={value}: {why}"
    if kind == Event.HANDSHAKE_FAILED_PROTOCOL:
        try:
            code = ProtocolErrorCode(value)
        except ValueError:
            return f"{name:<26} value={value:#x}"
        why = _PROTOCOL_ERRORS.get(code, "the peer broke the protocol")
        return f"{name:<26} value={code.name}: {why}"
    return name


#: Events worth showing: a connection arrived, and how its handshake ended.
_SHOWN = (
    Event.ACCEPTED,
    Event.HANDSHAKE_SUCCEEDED,
    Event.HANDSHAKE_FAILED_AUTH,
    Event.HANDSHAKE_FAILED_PROTOCOL,
    Event.HANDSHAKE_FAILED_NO_DETAIL,
)


def _show(events: list[dict[str, Any]], who: str = "server") -> None:
    for e in events:
        if e["event"] in _SHOWN:
            print(f"      {who} monitor: {explain(e)}")


def _socket(ctx: Context, kind: int) -> Socket:
    sock: Socket = ctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = int(STEP_TIMEOUT * 1000)
    sock.sndtimeo = int(STEP_TIMEOUT * 1000)
    return sock


def _raw_probe(endpoint: str, greeting: bytes) -> str:
    """Connect a plain socket, send a legacy greeting, and say how the server ended it."""
    host, port = endpoint[len("tcp://") :].rsplit(":", 1)
    with stdsocket.create_connection((host, int(port)), timeout=STEP_TIMEOUT) as probe:
        probe.sendall(greeting)
        got = b""
        try:
            while chunk := probe.recv(1024):
                got += chunk
            how = "closed the connection"
        except TimeoutError:
            return f"the server kept the connection open ({len(got)} octets received)"
        except OSError:
            how = "reset the connection"
    return f"the server answered with its ZMTP 3 greeting ({len(got)} octets) and {how}"


def basics(ctx: Context) -> bool:
    print("1. PAIR <-> PAIR over tcp://127.0.0.1")
    a, b = _socket(ctx, SocketType.PAIR), _socket(ctx, SocketType.PAIR)
    a.bind("tcp://127.0.0.1:*")
    b.connect(a.last_endpoint.decode())
    started = time.perf_counter()
    b.send_multipart([b"ping", b"from b"])
    request = a.recv_multipart()
    a.send_multipart([b"pong", *request[1:]])
    reply = b.recv_multipart()
    elapsed = (time.perf_counter() - started) * 1e3
    print(f"   sent {request}, got {reply} back in {elapsed:.1f} ms")
    print("   PUSH -> three PULL workers (tcp, ipc, inproc), load-balanced")
    push = _socket(ctx, SocketType.PUSH)
    workers = []
    for address in ("tcp://127.0.0.1:*", "ipc://*", "inproc://demo-worker"):
        w = _socket(ctx, SocketType.PULL)
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
    return reply == [b"pong", b"from b"] and sum(counts) == 300


def _curve_client(ctx: Context, server_public: bytes, public: bytes, secret: bytes) -> Socket:
    client = _socket(ctx, SocketType.REQ)
    client.curve_serverkey = server_public
    client.curve_publickey = public
    client.curve_secretkey = secret
    return client


def curve_service(ctx: Context, cert_dir: str) -> bool:
    """Sections 2 and 3: the service, its allowed client, and what it refuses."""
    print("2. A CURVE service with a ZAP allow-list")
    keys = f"{cert_dir}/keys"
    allowed = f"{cert_dir}/allowed"
    for directory in (keys, allowed):
        os.makedirs(directory, mode=0o700, exist_ok=True)
    _, server_secret_file = create_certificates(keys, "server")
    alice_public_file, alice_secret_file = create_certificates(keys, "alice")
    server_public, server_secret = load_certificate(server_secret_file)
    alice_public, alice_secret = load_certificate(alice_secret_file)
    assert server_secret is not None and alice_secret is not None
    # The allow-list is a directory of public certificates: only alice's is in it.
    with open(alice_public_file, "rb") as src, open(f"{allowed}/alice.key", "wb") as dst:
        dst.write(src.read())
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.allow("127.0.0.1")
        auth.configure_curve(domain="*", location=allowed)
        print(f"   certificates (as 'safezmq keygen' makes them): {keys}/")
        print("      server.key, alice.key (public, 0644); *.key_secret (secret, mode 0600)")
        print(f"   allow-list for the ZAP handler (ThreadAuthenticator): {allowed}/alice.key")
        server = _socket(ctx, SocketType.REP)
        server.curve_server = 1
        server.curve_secretkey = server_secret
        mon = server.get_monitor_socket()
        server.bind("tcp://127.0.0.1:*")
        endpoint = server.last_endpoint.decode()
        print(f"   REP server on {endpoint}: CURVE, clients authenticated by ZAP")

        alice = _curve_client(ctx, server_public, alice_public, alice_secret)
        alice.connect(endpoint)
        alice.send(b"hello from alice")
        frame = server.recv(copy=False)
        user_id = frame.get("User-Id")
        server.send(b"hello, alice")
        answer = alice.recv()
        events = _events(mon, _is(Event.HANDSHAKE_SUCCEEDED))
        who = "alice's public key" if user_id == alice_public.decode() else repr(user_id)
        print(f"   alice (allowed key) asked {frame.bytes!r} and got {answer!r} back")
        print(f"   the server saw the request's User-Id: {who}")
        _show(events)
        served = answer == b"hello, alice"

        print("\n3. What the service refuses, and why (its monitor events)")
        ok = refusals(ctx, mon, endpoint, server_public)

        alice.send(b"still there?")
        server.send(server.recv())
        still = alice.recv() == b"still there?"
        print(f"   and alice is still served: {'yes' if still else 'NO'}\n")
        return served and ok and still
    finally:
        auth.stop()


def refusals(ctx: Context, mon: Socket, endpoint: str, server_public: bytes) -> bool:
    ok = True

    print("   a. mallory: a CURVE client whose key is not in the allow-list")
    mallory_public, mallory_secret = curve_keypair()
    mallory = _curve_client(ctx, server_public, mallory_public, mallory_secret)
    mallory.connect(endpoint)
    events = _events(mon, _is(Event.HANDSHAKE_FAILED_AUTH))
    _show(events)
    refused = any(e["event"] == Event.HANDSHAKE_FAILED_AUTH and e["value"] == 400 for e in events)
    print(f"      -> mallory was {'refused' if refused else 'NOT refused'}")
    ok &= refused
    mallory.close()

    print("   b. a NULL client (no encryption at all)")
    plain = _socket(ctx, SocketType.REQ)
    plain.connect(endpoint)
    events = _events(mon, _is(Event.HANDSHAKE_FAILED_PROTOCOL))
    _show(events)
    refused = any(
        e["event"] == Event.HANDSHAKE_FAILED_PROTOCOL
        and e["value"] == ProtocolErrorCode.ZMTP_MECHANISM_MISMATCH
        for e in events
    )
    print(f"      -> the NULL client was {'refused' if refused else 'NOT refused'}")
    ok &= refused
    plain.close()

    for label, version, greeting in (
        ("c", "1.0", b"\x01\x00"),  # an empty ZMTP 1.0 identity frame
        ("d", "2.0", b"\xff" + bytes(8) + b"\x7f\x01\x05\x00\x00"),  # ZMTP 2.0 as a DEALER
    ):
        cve = "CVE-2021-20235" if version == "1.0" else "CVE-2014-9721"
        print(f"   {label}. a ZMTP {version} probe from a raw socket (the protocol behind {cve})")
        print(f"      {_raw_probe(endpoint, greeting)}")
        events = _events(mon, _is(Event.HANDSHAKE_FAILED_PROTOCOL))
        _show(events)
        refused = any(e["event"] == Event.HANDSHAKE_FAILED_PROTOCOL for e in events)
        print(f"      -> the ZMTP {version} peer was {'refused' if refused else 'NOT refused'}")
        ok &= refused
    return ok


def fail_closed() -> bool:
    print("4. A CURVE server with no ZAP handler (libzmq would let any client in)")
    ctx = Context()
    try:
        server_public, server_secret = curve_keypair()
        client_public, client_secret = curve_keypair()
        srv = _socket(ctx, SocketType.PULL)
        srv.curve_server = 1
        srv.curve_secretkey = server_secret
        srv_mon = srv.get_monitor_socket()
        srv.bind("tcp://127.0.0.1:*")
        cli = _socket(ctx, SocketType.PUSH)
        cli.curve_serverkey = server_public
        cli.curve_publickey = client_public
        cli.curve_secretkey = client_secret
        cli.connect(srv.last_endpoint.decode())
        events = _events(srv_mon, _is(Event.HANDSHAKE_FAILED_AUTH))
        refused = any(e["event"] == Event.HANDSHAKE_FAILED_AUTH for e in events)
        verdict = "refused (no ZAP handler)" if refused else "NOT refused"
        print(f"   the client was {verdict}")
        _show(events)
        print()
        return refused
    finally:
        ctx.destroy(linger=0)


def audit(ctx: Context) -> bool:
    print("5. The audit of the running sockets (Context.audit())")
    findings = ctx.audit()
    count = sum(1 for s in list(ctx._sockets) if not s._closed)
    if findings:
        for finding in findings:
            print(f"   {finding}")
    else:
        print(f"   this demo's context ({count} sockets, default policy): no weakened setting")
    print("   for contrast, a context with libzmq's defaults (Policy.compatible()) and a CURVE")
    print("   server without a ZAP handler:")
    relaxed = Context(policy=Policy.compatible())
    try:
        _, secret = curve_keypair()
        srv = _socket(relaxed, SocketType.REP)
        srv.curve_server = 1
        srv.curve_secretkey = secret
        srv.maxmsgsize = -1
        srv.bind("tcp://127.0.0.1:*")
        weak = relaxed.audit()
        for finding in weak:
            print(f"   {finding}")
        print(f"   -> {len(weak)} findings")
    finally:
        relaxed.destroy(linger=0)
    return not findings and bool(weak)


def run() -> int:
    print(f"safezmq {__version__} — ZeroMQ in pure Python, secure by default\n")
    ctx = Context()
    try:
        with tempfile.TemporaryDirectory(prefix="safezmq-demo-") as cert_dir:
            ok = basics(ctx)
            ok &= curve_service(ctx, cert_dir)
            ok &= fail_closed()
            ok &= audit(ctx)
    except ZMQError as exc:
        print(f"safezmq demo: {exc}", file=sys.stderr)
        return 1
    finally:
        ctx.destroy(linger=0)
    print("\nAll done." if ok else "\nSomething did not go as expected (see above).")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    return run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
