"""Round-trip latency over tcp between two processes (libzmq's local_lat / remote_lat).

This process (the "local" side) binds the echo socket on 127.0.0.1 and spawns the measuring
side (this script again, ``--role remote``) with ``sys.executable``.  The remote connects, does
``--warmup`` unmeasured round trips (the first also waits for the connection), then times each
round trip of a SIZE-byte message -- for ``--count`` round trips, or for ``--duration`` seconds --
and reports the mean and median microseconds per round trip (plus min/p90/p99).  An empty
message ends the run; the echo side answers it too, then waits for the remote to exit before
closing, so LINGER=0 never drops the last reply.

The socket pair is a parameter (``--pattern``): ``pair`` is PAIR<->PAIR; ``reqrep`` is REQ
(measuring) <-> REP (echoing), so each round trip also carries REQ's empty delimiter frame and
goes through both sockets' send/receive state machines.  Both implementations have both; one
that lacked a socket type would fail with a clear "unsupported" message (exit status 3).

    python -m safezmq.bench.latency --impl safezmq
    python -m safezmq.bench.latency --impl pyzmq --pattern reqrep --count 20000 --json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

try:
    from . import _common as common
except ImportError:  # run as a script (the runner's workers): this directory is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]

#: pattern -> (socket type of the echoing, binding side; of the measuring, connecting side)
PATTERNS: dict[str, tuple[str, str]] = {
    "pair": ("PAIR", "PAIR"),
    "reqrep": ("REP", "REQ"),
}
STOP = b""


def make_socket(zmq: Any, ctx: Any, impl: str, pattern: str, type_name: str) -> Any:
    """A socket of type ``type_name``, or Unsupported if this implementation lacks it."""
    socket_type = getattr(zmq, type_name, None)
    if socket_type is None:
        ctx.term()
        raise common.Unsupported(f"{impl} has no {type_name} socket (pattern {pattern!r})")
    try:
        return ctx.socket(socket_type)
    except zmq.ZMQError as exc:
        ctx.term()
        raise common.Unsupported(
            f"{impl} cannot create a {type_name} socket, needed by --pattern {pattern}: {exc}"
        ) from None


def run_local(
    zmq: Any,
    impl: str,
    pattern: str,
    size: int,
    count: int | None,
    duration_s: float,
    warmup: int,
    timeout_s: float,
) -> dict[str, Any]:
    """The echo side: bind, spawn the measuring side, echo until STOP, collect its result."""
    ctx = zmq.Context()
    sock = make_socket(zmq, ctx, impl, pattern, PATTERNS[pattern][0])
    try:
        common.setup_socket(sock, common.FIRST_MESSAGE_TIMEOUT_S)
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        peer_args = [
            "--role=remote",
            f"--impl={impl}",
            f"--pattern={pattern}",
            f"--endpoint=tcp://127.0.0.1:{port}",
            f"--size={size}",
            f"--duration={duration_s}",
            f"--warmup={warmup}",
            f"--timeout={timeout_s}",
        ]
        if count is not None:
            peer_args.append(f"--count={count}")
        with common.PeerProcess(common.BENCH_DIR / "latency.py", peer_args) as peer:
            recv, send = sock.recv, sock.send
            try:
                msg = recv()
                sock.rcvtimeo = max(1, int(timeout_s * 1000))
                while True:
                    send(msg)
                    if len(msg) == 0:
                        break
                    msg = recv()
            except zmq.ZMQError as exc:
                why = peer.failed() or "the measuring side is still running"
                raise common.BenchmarkError(f"echo failed ({exc}); {why}") from None
            out = peer.finish(timeout_s + 5)
    finally:
        sock.close(linger=0)
        ctx.term()
    return common.last_json_line(out)


def run_remote(
    zmq: Any,
    impl: str,
    pattern: str,
    endpoint: str,
    size: int,
    count: int | None,
    duration_s: float,
    warmup: int,
    timeout_s: float,
) -> dict[str, Any]:
    """The measuring side: connect, warm up, time each round trip, send STOP."""
    ctx = zmq.Context()
    sock = make_socket(zmq, ctx, impl, pattern, PATTERNS[pattern][1])
    try:
        common.setup_socket(sock, timeout_s)
        sock.rcvtimeo = max(1, int(common.FIRST_MESSAGE_TIMEOUT_S * 1000))
        sock.connect(endpoint)
        data = bytes(size)
        recv, send = sock.recv, sock.send
        clock = time.perf_counter_ns
        samples: list[int] = []
        try:
            for i in range(max(1, warmup)):
                send(data)
                reply = recv()
                if len(reply) != size:
                    raise common.BenchmarkError(f"reply of {len(reply)} bytes, expected {size}")
                if i == 0:
                    sock.rcvtimeo = max(1, int(timeout_s * 1000))
            append = samples.append
            started = clock()
            if count is not None:
                for _ in range(count):
                    t0 = clock()
                    send(data)
                    recv()
                    append(clock() - t0)
            else:
                deadline = started + int(duration_s * 1e9)
                t1 = started
                while t1 < deadline:
                    t0 = clock()
                    send(data)
                    recv()
                    t1 = clock()
                    append(t1 - t0)
            elapsed_ns = clock() - started
            send(STOP)
            recv()
        except zmq.ZMQError as exc:
            raise common.BenchmarkError(f"round trip failed: {exc}") from None
    finally:
        sock.close(linger=0)
        ctx.term()
    if not samples:
        raise common.BenchmarkError("no round trips were measured")
    us = sorted(s / 1000 for s in samples)
    n = len(us)
    return {
        "count": n,
        "elapsed_s": elapsed_ns / 1e9,
        "mean_us": statistics.fmean(us),
        "median_us": statistics.median(us),
        "min_us": us[0],
        "p90_us": us[min(n - 1, int(n * 0.90))],
        "p99_us": us[min(n - 1, int(n * 0.99))],
        "stdev_us": statistics.stdev(us) if n > 1 else 0.0,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=common.IMPLS, default="safezmq")
    parser.add_argument("--pattern", choices=tuple(PATTERNS), default="pair")
    parser.add_argument("--size", type=common.parse_size, default=64, help="bytes (default 64)")
    parser.add_argument("--count", type=int, help="round trips (default: as many as --duration)")
    parser.add_argument("--duration", type=float, default=1.5, help="seconds of round trips")
    parser.add_argument("--warmup", type=int, default=500, help="unmeasured round trips first")
    common.add_worker_arguments(parser, "seconds any one send/recv may take before the run fails")
    parser.add_argument(
        "--role", choices=("local", "remote"), default="local", help=argparse.SUPPRESS
    )
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be at least 1 byte (an empty message means stop)")
    if args.count is not None and args.count < 1:
        parser.error("--count must be at least 1")
    return args


def run(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.uvloop:
        common.use_uvloop()
    zmq = common.import_impl(args.impl)
    if args.role == "remote":
        result = run_remote(
            zmq,
            args.impl,
            args.pattern,
            args.endpoint,
            args.size,
            args.count,
            args.duration,
            args.warmup,
            args.timeout,
        )
        common.emit(result, True, "")
        return
    result = run_local(
        zmq,
        args.impl,
        args.pattern,
        args.size,
        args.count,
        args.duration,
        args.warmup,
        args.timeout,
    )
    result.update(
        bench="latency",
        pattern=args.pattern,
        size=args.size,
        warmup=args.warmup,
        io_loop=common.io_loop_name(args.impl, args.uvloop),
        info=common.impl_info(args.impl, zmq),
    )
    human = (
        f"{args.impl} {args.pattern} tcp {common.format_size(args.size)} x {result['count']}: "
        f"mean {result['mean_us']:.1f} us, median {result['median_us']:.1f} us, "
        f"min {result['min_us']:.1f} us, p99 {result['p99_us']:.1f} us per round trip"
    )
    common.emit(result, args.json, human)


if __name__ == "__main__":
    sys.exit(common.worker_main(run))
