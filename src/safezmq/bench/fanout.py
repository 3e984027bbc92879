"""Fan-out throughput: one PUB -> N SUB processes over tcp, with message loss measured.

This process (the publisher) binds a PUB socket and a PULL "sync" socket on 127.0.0.1 and spawns
``--subscribers`` subscribers (this script again, ``--role sub``, with ``sys.executable``).  Each
subscriber connects a SUB socket (subscribed to everything) and a PUSH socket to the sync one.

Slow joiners: a SUB's subscription reaches the PUB some time after ``connect()``, and a PUB
drops what it publishes before then.  So the publisher first sends a one-byte HELLO every
``HELLO_INTERVAL_S`` until every subscriber has said over the sync socket that it received one:
only then is every subscription known to be in place, and the measured messages are sent.

Loss: a PUB never blocks; it drops a message for each subscriber whose queue is at its HWM.  A
free-running publisher outruns subscribers that are slower than it, so the drops would make the
numbers meaningless -- and a huge HWM does not cure that everywhere: safezmq also caps each pipe
at 32 MiB whatever the HWM.  So the send is paced by credit: every subscriber reports over the
sync socket how many messages it has received (every WINDOW/4 of them), and the publisher never
gets more than ``--window`` messages ahead of the slowest one (WINDOW x SIZE at most 8 MiB), so
no queue ever holds more than WINDOW messages.  SNDHWM = RCVHWM = ``--hwm``, by default 4 x
WINDOW: far enough above it that libzmq's lazy view of its queues (see HWM_PER_WINDOW) cannot
reach the HWM either.  Then nothing may be lost, and a delivered ratio below 100 % is a bug.
Lost messages are counted; were they to add up to the window, the credit would dry up, and the
publisher stops after ``--timeout``/2 s, sends END and reports the loss instead of hanging.
``--window 0`` turns the pacing off (a free-running publisher, as a real one is): then the
delivered ratio shows how much the HWM dropped.

Each subscriber starts its clock at its first message and stops it at the END marker the
publisher sends right after the last one (re-sent until every subscriber has answered, in case
it was dropped), and reports messages/s over the messages in between, like throughput.py.  The
result: each subscriber's rate, their mean ("per subscriber"), the aggregate rate (all messages
delivered to all subscribers over the span from the first delivery to the last, on the
system-wide monotonic clock), and the delivered ratio (received / sent, over all subscribers).

    python -m safezmq.bench.fanout --impl safezmq --size 1k
    python -m safezmq.bench.fanout --impl pyzmq --size 64 --subscribers 3 --count 200000 --json
    python -m safezmq.bench.fanout --impl pyzmq --size 64 --window 0 --hwm 1000   # see the drops
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from typing import Any

try:
    from . import _common as common
except ImportError:  # run as a script (the runner's workers): this directory is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]

#: Markers, one byte long (measured messages are at least two): HELLO primes the subscriptions,
#: END follows the last measured message.  Measured messages start with DATA_BYTE.
HELLO = b"h"
END = b"e"
DATA_BYTE = b"d"
MIN_SIZE = 2
#: Seconds between HELLOs (and END re-sends) while the publisher waits for the subscribers.
HELLO_INTERVAL_S = 0.01
#: Seconds between checks that the subscriber processes still run, while waiting for credit.
CHECK_INTERVAL_S = 0.1

DEFAULT_SUBSCRIBERS = 2
#: Credit window in messages: at most this many, and at most WINDOW_BYTES octets.
DEFAULT_WINDOW = 10_000
WINDOW_BYTES = 8 * 1024 * 1024
#: HWM when none is given: HWM_PER_WINDOW x the window, at least MIN_HWM (libzmq's default).
#: A queue never holds more than the window, but twice the window is not enough: libzmq's PUB
#: sees how far a peer has read only every HWM/2 messages (its low-water mark), so its view of
#: a queue can be HWM/2 fuller than the queue is -- with HWM = 2 x window, it drops.
HWM_PER_WINDOW = 4
MIN_HWM = 1000

#: As throughput.py: the pilot moves about PILOT_BYTES to each subscriber (within the counts
#: below) and is repeated, longer, while shorter than PILOT_MIN_S.
PILOT_BYTES = 8 * 1024 * 1024
PILOT_MIN_COUNT = 20
PILOT_MAX_COUNT = 20_000
PILOT_MIN_S = 0.25
PILOT_TARGET_S = 0.4
PILOT_TRIES = 3
MIN_COUNT = 50
MAX_COUNT = 20_000_000


def pilot_count(size: int) -> int:
    return max(PILOT_MIN_COUNT, min(PILOT_MAX_COUNT, PILOT_BYTES // max(size, 1)))


def choose_count(msgs_per_s: float, duration_s: float) -> int:
    """The message count that takes about ``duration_s`` at ``msgs_per_s`` per subscriber."""
    return max(MIN_COUNT, min(MAX_COUNT, int(msgs_per_s * duration_s)))


def default_window(size: int) -> int:
    return max(1, min(DEFAULT_WINDOW, WINDOW_BYTES // size))


def default_hwm(window: int) -> int:
    return max(MIN_HWM, HWM_PER_WINDOW * window)


class _Subscribers:
    """The publisher's view of its subscribers, from what they say on the sync socket."""

    def __init__(self, zmq: Any, sync: Any, peers: list[common.PeerProcess]) -> None:
        self.zmq = zmq
        self.sync = sync
        self.peers = peers
        n = len(peers)
        self.ready = [False] * n
        self.done = [False] * n
        self.received = [0] * n  # as last reported
        self.slowest = 0  # min(self.received)

    def handle(self, msg: bytes) -> None:
        kind, sub_id, *rest = msg.split()
        i = int(sub_id)
        if kind == b"ready":
            self.ready[i] = True
            return
        self.received[i] = int(rest[0])
        if kind == b"done":
            self.done[i] = True
        self.slowest = min(self.received)

    def drain(self) -> None:
        """Handle every report already queued (never blocks)."""
        recv, again, noblock = self.sync.recv, self.zmq.Again, self.zmq.NOBLOCK
        while True:
            try:
                msg = recv(noblock)
            except again:
                return
            self.handle(msg)

    def wait(self, timeout_s: float) -> bool:
        """Handle the reports that arrive within ``timeout_s``; False if none did."""
        if not self.sync.poll(max(1, int(timeout_s * 1000))):
            return False
        self.drain()
        return True

    def wait_credit(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for a report, checking that every subscriber still runs."""
        deadline = time.monotonic() + timeout_s
        while not self.wait(CHECK_INTERVAL_S):
            self.check_alive()
            if time.monotonic() > deadline:
                return False
        return True

    def check_alive(self) -> None:
        for i, peer in enumerate(self.peers):
            why = peer.failed()
            if why is not None:
                raise common.BenchmarkError(f"subscriber {i}: {why}")

    def until(self, flags: list[bool], what: str, timeout_s: float, resend: Any) -> None:
        """Call ``resend()`` every HELLO_INTERVAL_S until every flag is set.  Fails after
        ``timeout_s`` without any report from a subscriber."""
        deadline = time.monotonic() + timeout_s
        while not all(flags):
            resend()
            if self.wait(HELLO_INTERVAL_S):
                deadline = time.monotonic() + timeout_s
                continue
            self.check_alive()
            if time.monotonic() > deadline:
                missing = [i for i, flag in enumerate(flags) if not flag]
                raise common.BenchmarkError(
                    f"subscribers {missing} did not {what} within {timeout_s:g} s "
                    f"(received so far: {self.received})"
                )


def measure(
    zmq: Any,
    impl: str,
    subscribers: int,
    size: int,
    count: int,
    window: int,
    hwm: int,
    copy: bool,
    timeout_s: float,
) -> dict[str, Any]:
    """One run: bind, spawn the subscribers, prime, publish ``count`` messages, collect."""
    if count < 2:
        raise common.BenchmarkError("count must be at least 2 (the clock starts at the first)")
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    sync = ctx.socket(zmq.PULL)
    try:
        common.setup_socket(pub, timeout_s)
        common.setup_socket(sync, timeout_s)
        pub.sndhwm = hwm
        endpoint = f"tcp://127.0.0.1:{pub.bind_to_random_port('tcp://127.0.0.1')}"
        sync_endpoint = f"tcp://127.0.0.1:{sync.bind_to_random_port('tcp://127.0.0.1')}"
        ack_every = max(1, window // 4) if window else max(1, count // 16)
        with contextlib.ExitStack() as stack:
            peers = [
                stack.enter_context(
                    common.PeerProcess(
                        common.BENCH_DIR / "fanout.py",
                        [
                            "--role=sub",
                            f"--impl={impl}",
                            f"--id={i}",
                            f"--endpoint={endpoint}",
                            f"--sync={sync_endpoint}",
                            f"--size={size}",
                            f"--hwm={hwm}",
                            f"--ack-every={ack_every}",
                            f"--timeout={timeout_s}",
                            "--copy" if copy else "--no-copy",
                        ],
                    )
                )
                for i in range(subscribers)
            ]
            subs = _Subscribers(zmq, sync, peers)
            try:
                # Slow joiners: HELLO until every subscriber has seen one.
                hellos = 0

                def hello() -> None:
                    nonlocal hellos
                    pub.send(HELLO)
                    hellos += 1

                subs.until(subs.ready, "receive a HELLO", common.FIRST_MESSAGE_TIMEOUT_S, hello)

                data = DATA_BYTE + bytes(size - 1)
                send = pub.send
                stalls = 0
                sent = 0
                starved = False
                started = time.perf_counter()
                if not window:
                    for _ in range(count):
                        send(data, 0, copy)
                    sent = count
                while sent < count:
                    room = min(count, subs.slowest + window) - sent
                    if room <= 0:
                        stalls += 1
                        # A lost message is never acknowledged: once the losses add up to the
                        # window, credit stops.  Give up on the rest then, but early enough that
                        # the subscribers (waiting timeout_s for a message) are still there to
                        # take END and say how many they received.
                        if not subs.wait_credit(timeout_s / 2):
                            starved = True
                            break
                        # libzmq processes the commands that tell the PUB how far its peers
                        # have read only now and then in send(); reading EVENTS processes them
                        # all, so the PUB never goes on with a stale, too full view of a queue.
                        pub.getsockopt(zmq.EVENTS)
                        continue
                    burst = min(room, ack_every)
                    for _ in range(burst):
                        send(data, 0, copy)
                    sent += burst
                    subs.drain()
                send_elapsed = time.perf_counter() - started
                send(END)
                subs.until(subs.done, "receive END", timeout_s, lambda: send(END))
            except zmq.ZMQError as exc:
                subs.check_alive()
                raise common.BenchmarkError(f"publisher failed: {exc}") from None
            results = [common.last_json_line(p.finish(timeout_s, b"done\n")) for p in peers]
    finally:
        pub.close(linger=0)
        sync.close(linger=0)
        ctx.term()

    for i, r in enumerate(results):
        if r["received"] > sent:
            raise common.BenchmarkError(f"subscriber {i} received {r['received']} of {sent}")
    delivered = sum(r["received"] for r in results)
    active = [r for r in results if r["received"] >= 2]
    per_sub = [r["msgs_per_s"] for r in results]
    if active:
        span_ns = max(r["t_end_ns"] for r in active) - min(r["t_first_ns"] for r in active)
        counted = sum(r["received"] - 1 for r in active)
        aggregate = counted / (span_ns / 1e9) if span_ns > 0 else float("inf")
    else:
        aggregate = 0.0
    mean_per_sub = statistics.fmean(per_sub)
    return {
        "count": count,
        "sent": sent,
        "starved": starved,
        "subscribers": subscribers,
        "window": window,
        "hwm": hwm,
        "hellos": hellos,
        "credit_stalls": stalls,
        "send_elapsed_s": send_elapsed,
        "send_msgs_per_s": sent / send_elapsed if send_elapsed > 0 else float("inf"),
        "elapsed_s": max(r["elapsed_s"] for r in results),
        "msgs_per_s": mean_per_sub,
        "mb_per_s": mean_per_sub * size / 1e6,
        "min_msgs_per_s": min(per_sub),
        "aggregate_msgs_per_s": aggregate,
        "aggregate_mb_per_s": aggregate * size / 1e6,
        "delivered": delivered,
        "delivered_ratio": delivered / (sent * subscribers),
        "lost": sent * subscribers - delivered,
        "min_delivered_ratio": min(r["received"] for r in results) / sent,
        "per_subscriber": results,
    }


def run_sub(
    zmq: Any,
    sub_id: int,
    endpoint: str,
    sync_endpoint: str,
    size: int,
    hwm: int,
    ack_every: int,
    copy: bool,
    timeout_s: float,
) -> dict[str, Any]:
    """A subscriber: connect, answer the first HELLO, count messages until END, report."""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sync = ctx.socket(zmq.PUSH)
    try:
        common.setup_socket(sub, common.FIRST_MESSAGE_TIMEOUT_S)
        common.setup_socket(sync, timeout_s)
        sub.rcvhwm = hwm
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(endpoint)
        sync.connect(sync_endpoint)
        recv, report = sub.recv, sync.send
        clock = time.monotonic_ns  # system-wide: the publisher compares the subscribers' times
        received = 0
        t_first = t_end = 0
        try:
            while bytes(recv()) != HELLO:
                pass
            report(b"ready %d" % sub_id)
            sub.rcvtimeo = max(1, int(timeout_s * 1000))
            while True:  # HELLOs sent before the publisher heard from everyone, then data
                msg = recv(0, copy)
                if len(msg) == size:
                    t_first = clock()
                    received = 1
                    break
                if bytes(msg) == END:
                    break
            while t_first:
                for _ in range(ack_every):
                    msg = recv(0, copy)
                    if len(msg) != size:
                        break
                    received += 1
                else:
                    report(b"ack %d %d" % (sub_id, received))
                    continue
                if bytes(msg) == END:
                    break
                if bytes(msg) != HELLO:
                    raise common.BenchmarkError(f"message of {len(msg)} bytes, expected {size}")
            t_end = clock() if t_first else 0
            report(b"done %d %d" % (sub_id, received))
        except zmq.ZMQError as exc:
            raise common.BenchmarkError(
                f"subscriber {sub_id}: receive failed after {received} messages: {exc}"
            ) from None
        elapsed = (t_end - t_first) / 1e9
        result = {
            "id": sub_id,
            "received": received,
            "t_first_ns": t_first,
            "t_end_ns": t_end,
            "elapsed_s": elapsed,
            "msgs_per_s": (received - 1) / elapsed if received >= 2 and elapsed > 0 else 0.0,
        }
        common.emit(result, True, "")
        # LINGER is 0: keep the sockets (and the "done" report) until the publisher has it all.
        sys.stdin.readline()
    finally:
        sub.close(linger=0)
        sync.close(linger=0)
        ctx.term()
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=common.IMPLS, default="safezmq")
    parser.add_argument(
        "--subscribers",
        type=int,
        default=DEFAULT_SUBSCRIBERS,
        help=f"SUB processes (default {DEFAULT_SUBSCRIBERS})",
    )
    parser.add_argument("--size", type=common.parse_size, default=64, help="bytes (64, 1k)")
    parser.add_argument("--count", type=int, help="messages (default: chosen by a pilot run)")
    parser.add_argument(
        "--duration", type=float, default=1.5, help="target seconds when choosing the count"
    )
    parser.add_argument(
        "--window",
        type=int,
        help=f"credit: messages the publisher may be ahead of the slowest subscriber (default "
        f"{DEFAULT_WINDOW}, at most {WINDOW_BYTES // (1024 * 1024)} MiB); 0: no pacing",
    )
    parser.add_argument(
        "--hwm",
        type=int,
        help=f"SNDHWM and RCVHWM (default {HWM_PER_WINDOW} x window, at least {MIN_HWM})",
    )
    common.add_copy_argument(parser)
    common.add_worker_arguments(
        parser, "seconds any one send/recv/exit may take before the run fails"
    )
    parser.add_argument("--role", choices=("pub", "sub"), default="pub", help=argparse.SUPPRESS)
    parser.add_argument("--id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--sync", help=argparse.SUPPRESS)
    parser.add_argument("--ack-every", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size < MIN_SIZE:
        parser.error(f"--size must be at least {MIN_SIZE} bytes (one-byte messages are markers)")
    if args.subscribers < 1:
        parser.error("--subscribers must be at least 1")
    if args.count is not None and args.count < 2:
        parser.error("--count must be at least 2")
    if args.window is None:
        args.window = default_window(args.size)
    if args.window < 0:
        parser.error("--window must be 0 (no pacing) or more")
    if args.hwm is None:
        args.hwm = default_hwm(args.window)
    if args.hwm < 0:
        parser.error("--hwm must be 0 (no limit) or more")
    return args


def run(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.uvloop:
        common.use_uvloop()
    zmq = common.import_impl(args.impl)
    if args.role == "sub":
        run_sub(
            zmq,
            args.id,
            args.endpoint,
            args.sync,
            args.size,
            args.hwm,
            args.ack_every,
            args.copy,
            args.timeout,
        )
        return

    def once(count: int) -> dict[str, Any]:
        return measure(
            zmq,
            args.impl,
            args.subscribers,
            args.size,
            count,
            args.window,
            args.hwm,
            args.copy,
            args.timeout,
        )

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
        pilot.pop("per_subscriber")
    result = once(count)
    result.update(
        bench="fanout",
        size=args.size,
        copy=args.copy,
        pilot=pilot,
        io_loop=common.io_loop_name(args.impl, args.uvloop),
        info=common.impl_info(args.impl, zmq),
    )
    rates = ", ".join(f"{r['msgs_per_s']:,.0f}" for r in result["per_subscriber"])
    human = (
        f"{args.impl} PUB->{args.subscribers} SUB tcp {common.format_size(args.size)} x {count}: "
        f"{result['msgs_per_s']:,.0f} msg/s per subscriber ({rates}), "
        f"aggregate {result['aggregate_msgs_per_s']:,.0f} msg/s "
        f"{result['aggregate_mb_per_s']:,.1f} MB/s, "
        f"delivered {100 * result['delivered_ratio']:.2f} % "
        f"(window {args.window or 'off'}, HWM {args.hwm}, {result['credit_stalls']} credit stalls)"
    )
    if args.window and result["lost"]:
        print(
            f"fanout.py: {result['lost']:,} messages lost although the send was credit-paced "
            f"(sent {result['sent']:,} of {count:,} to each subscriber"
            f"{', then starved of credit' if result['starved'] else ''})",
            file=sys.stderr,
        )
    common.emit(result, args.json, human)


if __name__ == "__main__":
    sys.exit(common.worker_main(run))
