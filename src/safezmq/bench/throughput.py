"""Throughput: PUSH -> PULL over tcp between two processes (libzmq's local_thr / remote_thr).

This process (the "local" side) binds a PULL socket on 127.0.0.1 and spawns the sender (the
"remote" side: this script again, ``--role remote``) with ``sys.executable``; the sender connects
a PUSH socket and sends COUNT messages of SIZE bytes.  As local_thr does, the receiver starts the
clock when the first message arrives and stops it at the last, checks every message's size, and
reports messages/s and MB/s (1 MB = 10**6 bytes) over the COUNT-1 messages in between.

Without ``--count``, a short pilot run measures the rate and the count is chosen so the measured
run takes about ``--duration`` seconds.  Sockets use LINGER=0: the sender keeps its socket open
until the receiver (over the child's stdin) says it has every message, then both close at once.

``--curve`` encrypts the connection: the receiver is the CURVE server (a fresh key pair per
run), with the implementation's ThreadAuthenticator allowing any client key (a safezmq CURVE
server needs a ZAP handler; libzmq gets the same one, so both do the same work -- ZAP only takes
part in the handshake, before the clock starts); the sender is a CURVE client with a key pair
of its own.  ``--uvloop`` runs safezmq's I/O thread (in both processes) on uvloop.

    python -m safezmq.bench.throughput --impl safezmq --size 1k
    python -m safezmq.bench.throughput --impl pyzmq --size 64 --count 1000000 --json
    python -m safezmq.bench.throughput --impl safezmq --size 1m --curve
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

try:
    from . import _common as common
except ImportError:  # run as a script (the runner's workers): this directory is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]

#: The first pilot run moves about this many bytes (within the counts below).  A pilot shorter
#: than PILOT_MIN_S is repeated, longer: a short one overstates the rate, because the messages
#: already queued (HWMs, socket buffers) when the clock starts arrive at once.
PILOT_BYTES = 16 * 1024 * 1024
PILOT_MIN_COUNT = 20
PILOT_MAX_COUNT = 20_000
PILOT_MIN_S = 0.25
PILOT_TARGET_S = 0.4
PILOT_TRIES = 3
#: Bounds on the chosen count, whatever the pilot said.
MIN_COUNT = 50
MAX_COUNT = 20_000_000


def pilot_count(size: int) -> int:
    return max(PILOT_MIN_COUNT, min(PILOT_MAX_COUNT, PILOT_BYTES // max(size, 1)))


def choose_count(msgs_per_s: float, duration_s: float) -> int:
    """The message count that takes about ``duration_s`` at ``msgs_per_s``."""
    return max(MIN_COUNT, min(MAX_COUNT, int(msgs_per_s * duration_s)))


def measure(
    zmq: Any,
    impl: str,
    size: int,
    count: int,
    copy: bool,
    timeout_s: float,
    curve: bool = False,
) -> dict[str, Any]:
    """One run: bind, spawn the sender, receive ``count`` messages, time first to last."""
    if count < 2:
        raise common.BenchmarkError("count must be at least 2 (the clock starts at the first)")
    ctx = zmq.Context()
    auth = None
    sock = ctx.socket(zmq.PULL)
    try:
        common.setup_socket(sock, common.FIRST_MESSAGE_TIMEOUT_S)
        peer_args: list[str] = []
        if curve:
            auth = common.start_authenticator(zmq, ctx)
            public, secret = zmq.curve_keypair()
            sock.curve_server = True
            sock.curve_publickey = public
            sock.curve_secretkey = secret
            peer_args.append(f"--server-key={public.decode()}")
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        endpoint = f"tcp://127.0.0.1:{port}"
        peer_args += [
            "--role=remote",
            f"--impl={impl}",
            f"--endpoint={endpoint}",
            f"--size={size}",
            f"--count={count}",
            f"--timeout={timeout_s}",
            "--copy" if copy else "--no-copy",
        ]
        with common.PeerProcess(common.BENCH_DIR / "throughput.py", peer_args) as peer:
            recv = sock.recv
            try:
                msg = recv(0, copy)
                start = time.perf_counter()
                if len(msg) != size:
                    raise common.BenchmarkError(f"message of {len(msg)} bytes, expected {size}")
                sock.rcvtimeo = max(1, int(timeout_s * 1000))
                for _ in range(count - 1):
                    msg = recv(0, copy)
                    if len(msg) != size:
                        raise common.BenchmarkError(f"message of {len(msg)} bytes, expected {size}")
                elapsed = time.perf_counter() - start
            except zmq.ZMQError as exc:
                why = peer.failed() or "the sender is still running"
                raise common.BenchmarkError(f"receive failed ({exc}); {why}") from None
            peer.finish(timeout_s, b"done\n")
    finally:
        sock.close(linger=0)
        if auth is not None:
            auth.stop()
        ctx.term()
    msgs_per_s = (count - 1) / elapsed if elapsed > 0 else float("inf")
    return {
        "count": count,
        "elapsed_s": elapsed,
        "msgs_per_s": msgs_per_s,
        "mb_per_s": msgs_per_s * size / 1e6,
    }


def run_remote(
    zmq: Any,
    endpoint: str,
    size: int,
    count: int,
    copy: bool,
    timeout_s: float,
    server_key: bytes | None = None,
) -> None:
    """The sender: connect, send ``count`` messages, wait for the receiver's word, close.
    With ``server_key``, as a CURVE client of that server."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    try:
        common.setup_socket(sock, timeout_s)
        if server_key is not None:
            public, secret = zmq.curve_keypair()
            sock.curve_publickey = public
            sock.curve_secretkey = secret
            sock.curve_serverkey = server_key
        sock.connect(endpoint)
        data = bytes(size)
        send = sock.send
        try:
            for _ in range(count):
                send(data, 0, copy)
        except zmq.ZMQError as exc:
            raise common.BenchmarkError(f"send failed: {exc}") from None
        # LINGER is 0, so closing now could drop what is still queued: wait until the receiver
        # says (on stdin) that it has everything.  EOF means the receiver is gone: exit too.
        sys.stdin.readline()
    finally:
        sock.close(linger=0)
        ctx.term()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=common.IMPLS, default="safezmq")
    parser.add_argument("--size", type=common.parse_size, default=64, help="bytes (64, 1k, 1m)")
    parser.add_argument("--count", type=int, help="messages (default: chosen by a pilot run)")
    parser.add_argument(
        "--duration", type=float, default=1.5, help="target seconds when choosing the count"
    )
    common.add_copy_argument(parser)
    common.add_worker_arguments(
        parser,
        "seconds any one send/recv/exit may take before the run fails",
    )
    parser.add_argument(
        "--curve",
        action="store_true",
        help="over CURVE (the receiver is the server, with a ThreadAuthenticator allowing any key)",
    )
    parser.add_argument(
        "--role", choices=("local", "remote"), default="local", help=argparse.SUPPRESS
    )
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--server-key", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.uvloop:
        common.use_uvloop()
    zmq = common.import_impl(args.impl)
    if args.role == "remote":
        server_key = args.server_key.encode() if args.server_key else None
        run_remote(zmq, args.endpoint, args.size, args.count, args.copy, args.timeout, server_key)
        return

    def once(count: int) -> dict[str, Any]:
        return measure(zmq, args.impl, args.size, count, args.copy, args.timeout, args.curve)

    pilot = None
    count = args.count
    if count is None:
        count = pilot_count(args.size)
        for _ in range(PILOT_TRIES):
            pilot = once(count)
            if pilot["elapsed_s"] >= PILOT_MIN_S:
                break
            count = choose_count(pilot["msgs_per_s"], PILOT_TARGET_S)
        assert pilot is not None
        count = choose_count(pilot["msgs_per_s"], args.duration)
    result = once(count)
    result.update(
        bench="throughput",
        size=args.size,
        copy=args.copy,
        mechanism="CURVE" if args.curve else "NULL",
        io_loop=common.io_loop_name(args.impl, args.uvloop),
        pilot=pilot,
        info=common.impl_info(args.impl, zmq),
    )
    security = " CURVE" if args.curve else ""
    human = (
        f"{args.impl} PUSH->PULL tcp{security} {common.format_size(args.size)} x {count}: "
        f"{result['msgs_per_s']:,.0f} msg/s, {result['mb_per_s']:,.1f} MB/s "
        f"({result['elapsed_s']:.3f} s)"
    )
    common.emit(result, args.json, human)


if __name__ == "__main__":
    sys.exit(common.worker_main(run))
