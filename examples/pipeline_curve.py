"""A real-time pipeline with CURVE on every hop, and its throughput.

    ventilator (PUSH, CURVE server) --> 2 workers (PULL ... PUSH) --> sink (PULL, CURVE server)

The ventilator and the sink authenticate the workers by public key (one ZAP handler with a
credentials callback serves both, since they share a context); every message is encrypted on
both hops.  The sink prints messages per second and megabytes per second, first with CURVE and
then, for comparison, the same pipeline with NULL security on loopback.

Run: ``python examples/pipeline_curve.py [messages] [size]`` (default 20000 messages of 1 KiB)
"""

from __future__ import annotations

import sys
import threading
import time

import safezmq as zmq
from safezmq.auth.thread import ThreadAuthenticator

WORKERS = 2


class AllowedKeys:
    """A credentials provider: ``callback(domain, z85_key)`` says yes to known workers."""

    def __init__(self, keys: set[bytes]) -> None:
        self.keys = keys

    def callback(self, domain: str, key: bytes) -> bool:
        return key in self.keys


def secure(sock: zmq.Socket, keys: dict[str, tuple[bytes, bytes]], role: str, server: str) -> None:
    """Make ``sock`` a CURVE server (role == server) or a client of ``server``."""
    public, secret = keys[role]
    if role == server:
        sock.curve_server = 1
        sock.curve_secretkey = secret
    else:
        sock.curve_publickey = public
        sock.curve_secretkey = secret
        sock.curve_serverkey = keys[server][0]


def worker(
    ctx: zmq.Context,
    keys: dict,
    name: str,
    source: str,
    sink: str,
    curve: bool,
    stop: threading.Event,
) -> None:
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    for sock in (pull, push):
        sock.linger = 0
    if curve:
        secure(pull, keys, name, "ventilator")
        secure(push, keys, name, "sink")
    pull.connect(source)
    push.connect(sink)
    try:
        while not stop.is_set():
            if not pull.poll(50):
                continue
            frames = pull.recv_multipart()
            if frames[0] == b"warm-up":
                push.send_multipart([b"warm-up", name.encode()])
            else:
                push.send_multipart(frames)  # the "processing": forward as is
    finally:
        pull.close()
        push.close()


def run(ctx: zmq.Context, keys: dict, curve: bool, count: int, size: int) -> tuple[float, float]:
    """Push ``count`` messages of ``size`` bytes through the pipeline: (msg/s, MB/s)."""
    ventilator = ctx.socket(zmq.PUSH)
    sink = ctx.socket(zmq.PULL)
    for sock, role in ((ventilator, "ventilator"), (sink, "sink")):
        sock.linger = 0
        if curve:
            secure(sock, keys, role, role)
        sock.bind("tcp://127.0.0.1:*")
    source, drain = ventilator.last_endpoint.decode(), sink.last_endpoint.decode()
    stop = threading.Event()
    threads = [
        threading.Thread(target=worker, args=(ctx, keys, f"worker-{i}", source, drain, curve, stop))
        for i in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    try:
        # Warm up until every worker has answered: all CURVE handshakes are then done, and the
        # ventilator spreads the work over all of them.
        ready: set[bytes] = set()
        deadline = time.monotonic() + 10
        while len(ready) < WORKERS:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(ready)} of {WORKERS} workers connected")
            ventilator.send(b"warm-up")
            while sink.poll(20):
                ready.add(sink.recv_multipart()[1])
        while sink.poll(100):  # late warm-up answers
            sink.recv_multipart()
        payload = bytes(size)
        started = time.perf_counter()
        for i in range(count):
            ventilator.send_multipart([b"%d" % i, payload])
        sink.rcvtimeo = 10_000
        for _ in range(count):
            sink.recv_multipart()
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        ventilator.close()
        sink.close()
    return count / elapsed, count * size / elapsed / 1e6


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 20_000
    size = int(argv[1]) if len(argv) > 1 else 1024
    roles = ["ventilator", "sink", *(f"worker-{i}" for i in range(WORKERS))]
    keys = {role: zmq.curve_keypair() for role in roles}
    worker_keys = {keys[f"worker-{i}"][0] for i in range(WORKERS)}

    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    try:
        auth.start()
        auth.configure_curve_callback(domain="*", credentials_provider=AllowedKeys(worker_keys))
        print(
            f"{count} messages of {size} B, ventilator -> {WORKERS} workers -> sink, tcp loopback"
        )
        rate, mbps = run(ctx, keys, True, count, size)
        print(f"  CURVE: {rate:,.0f} msg/s, {mbps:,.1f} MB/s (every hop encrypted)")
        plain_rate, plain_mbps = run(ctx, keys, False, count, size)
        print(f"  NULL:  {plain_rate:,.0f} msg/s, {plain_mbps:,.1f} MB/s (loopback only)")
        print(f"  CURVE runs at {rate / plain_rate:.0%} of the NULL rate on this machine")
        print("pipeline OK")
        return 0
    finally:
        auth.stop()
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
