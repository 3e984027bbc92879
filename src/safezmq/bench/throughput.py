"""Throughput: PUSH -> PULL over tcp between two processes (after libzmq's local_thr / remote_thr).

This process (the "local" side) binds a PULL socket on 127.0.0.1 and spawns the sender (the
"remote" side: this script again, ``--role remote``) with ``sys.executable``; the sender connects
a PUSH socket and sends messages of SIZE bytes, without end, until the receiver tells it (over
its stdin) to stop.  The receiver checks every message's size and times a window of the
stream's steady state:

1. Warm-up, not timed: from the first message until at least ``--warmup`` seconds have passed
   and ``--warmup-count`` messages have arrived (by default 0.5 s and 1,000 messages, libzmq's
   default HWM: the connection, the kernel's buffers and the queues are up to speed).
2. The window, timed: at least ``--duration`` seconds and at least ``--window-count`` messages
   (by default 1.5 s and 4,000), or exactly ``--count`` messages if given.
3. The receiver tells the sender to stop and drains the rest, up to an end marker (a message of
   another size) the sender sends after its last one; then both close (LINGER=0).

Why a stream and not a fixed count: a sender that stops while the receiver still counts leaves
a tail that is drained with a core to spare, faster than the steady rate, and a run that starts
with the clock also times the sender filling its queues.  Both phases last as long as the
queues are deep: with 1 MiB messages, libzmq's HWM of 1,000 messages queues up to 1 GiB on the
sending side (its RSS reached 925 MiB; safezmq caps a pipe at 32 MiB), so a fixed-count run of
1 MiB messages spent a third of its messages or more filling and draining (the last ~900
arrived at about twice the steady rate), in a proportion set by the count a noisy pilot chose.
In a stream, the window starts after the warm-up and ends while the sender is still sending:
both sides do the same work from the window's first message to its last, whatever the
implementation's queues.  The window's minimum of 4,000 messages makes a 1 MiB run average over
several of the swings that large messages show on a shared machine instead of catching one.

The receiver keeps each message until the next one has arrived, as a plain receive loop does
(see Receiver.messages: freeing a 1 MiB body just before the next recv() lets the allocator
return it to the kernel, and page faults then dominate).  The result's rate is the window's
messages over its seconds; ``slices`` gives the rate in each tenth of the window, to show how
steady it was, and ``minor_faults_per_msg`` the page faults per message on each side.

``--curve`` encrypts the connection: the receiver is the CURVE server (a fresh key pair per
run), with the implementation's ThreadAuthenticator allowing any client key (a safezmq CURVE
server needs a ZAP handler; libzmq gets the same one, so both do the same work -- ZAP only
takes part in the handshake, long before the window); the sender is a CURVE client with a key
pair of its own.  ``--uvloop`` runs
safezmq's I/O thread (in both processes) on uvloop.

    python -m safezmq.bench.throughput --impl safezmq --size 1k
    python -m safezmq.bench.throughput --impl pyzmq --size 64 --count 1000000 --json
    python -m safezmq.bench.throughput --impl safezmq --size 1m --curve
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

try:
    import resource

    HAVE_RESOURCE = True
except ImportError:  # Windows: no page-fault counts
    HAVE_RESOURCE = False

try:
    from . import _common as common
except ImportError:  # run as a script (the runner's workers): this directory is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]

#: Warm-up before the window (not timed): at least this long and this many messages.
WARMUP_S = 0.5
WARMUP_COUNT = 1000
#: The window (timed): at least --duration seconds and at least this many messages.
WINDOW_COUNT = 4000
DEFAULT_DURATION_S = 1.5
#: The receiver reads the clock (and the sender checks for "stop") once per chunk: about
#: CHUNK_BYTES of messages, 1 to MAX_CHUNK of them, the same loop for both implementations.
CHUNK_BYTES = 64 * 1024
MAX_CHUNK = 256
#: The window's rate is also quoted per slice (the window cut in this many equal times).
SLICES = 10

#: The pilot runs of the other workers (async_throughput.py uses these: a run of COUNT messages
#: whose count a pilot chooses).  The first pilot moves about PILOT_BYTES (within the counts
#: below); a pilot shorter than PILOT_MIN_S is repeated, longer.
PILOT_BYTES = 16 * 1024 * 1024
PILOT_MIN_COUNT = 20
PILOT_MAX_COUNT = 20_000
PILOT_MIN_S = 0.25
PILOT_TARGET_S = 0.4
PILOT_TRIES = 3
#: Bounds on a chosen count, whatever the pilot said.
MIN_COUNT = 50
MAX_COUNT = 20_000_000


@dataclass(frozen=True)
class Plan:
    """How a run cuts its stream: the warm-up, then the window (``count``: exactly so many
    messages; None: at least ``duration_s`` and ``window_count``)."""

    count: int | None = None
    duration_s: float = DEFAULT_DURATION_S
    window_count: int = WINDOW_COUNT
    warmup_s: float = WARMUP_S
    warmup_count: int = WARMUP_COUNT

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        return cls(args.count, args.duration, args.window_count, args.warmup, args.warmup_count)


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """--count, --duration, --window-count, --warmup and --warmup-count (see Plan)."""
    parser.add_argument(
        "--count", type=int, help="time exactly this many messages (default: see --duration)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        help=f"the timed window's least seconds (default {DEFAULT_DURATION_S})",
    )
    parser.add_argument(
        "--window-count",
        type=int,
        default=WINDOW_COUNT,
        help=f"the timed window's least messages (default {WINDOW_COUNT})",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=WARMUP_S,
        help=f"least seconds received before the window (default {WARMUP_S})",
    )
    parser.add_argument(
        "--warmup-count",
        type=int,
        default=WARMUP_COUNT,
        help=f"least messages received before the window (default {WARMUP_COUNT})",
    )


def check_window_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.size < 1:
        parser.error("--size must be at least 1 byte")
    if args.count is not None and args.count < 1:
        parser.error("--count must be at least 1")
    if args.window_count < 1:
        parser.error("--window-count must be at least 1")
    if args.warmup < 0 or args.warmup_count < 0 or args.duration < 0:
        parser.error("--warmup, --warmup-count and --duration cannot be negative")


def pilot_count(size: int) -> int:
    return max(PILOT_MIN_COUNT, min(PILOT_MAX_COUNT, PILOT_BYTES // max(size, 1)))


def choose_count(msgs_per_s: float, duration_s: float) -> int:
    """The message count that takes about ``duration_s`` at ``msgs_per_s``."""
    return max(MIN_COUNT, min(MAX_COUNT, int(msgs_per_s * duration_s)))


def chunk_for(size: int) -> int:
    """Messages between two reads of the clock (receiver) or checks for "stop" (sender)."""
    return max(1, min(MAX_CHUNK, CHUNK_BYTES // max(size, 1)))


def end_marker(size: int) -> bytes:
    """The message that follows the sender's last: one octet (two if the messages have one).
    Not empty: an empty frame is a valid message, but a marker needs no edge case."""
    return b"e" if size != 1 else b"ee"


def minor_faults(children: bool = False) -> int:
    """Minor page faults so far of this process, or of its children that have exited."""
    if not HAVE_RESOURCE:
        return 0
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return int(resource.getrusage(who).ru_minflt)


def slice_rates(marks: list[tuple[float, int]], slices: int) -> list[float]:
    """Messages/s in each of ``slices`` equal parts of the window, from its (seconds, messages
    received) marks, the first (0.0, 0); each part ends at the first mark past its end."""
    total = marks[-1][0]
    if total <= 0 or slices < 1:
        return []
    rates: list[float] = []
    previous = marks[0]
    index = 1
    for k in range(1, slices + 1):
        end = total * k / slices
        while index < len(marks) - 1 and marks[index][0] < end:
            index += 1
        mark = marks[index]
        if mark[0] > previous[0]:
            rates.append((mark[1] - previous[1]) / (mark[0] - previous[0]))
            previous = mark
    return rates


class Receiver:
    """The receiving loop: every message checked for its size, the clock read once per chunk."""

    def __init__(self, zmq: Any, sock: Any, size: int, copy: bool) -> None:
        self.zmq = zmq
        self.recv = sock.recv
        self.size = size
        self.copy = copy
        self.chunk = chunk_for(size)
        #: The last message received, kept until the next one is: see messages().
        self.last: Any = None

    def messages(self, n: int) -> None:
        """Receive ``n`` messages, each kept until the next one has arrived, as in a plain
        ``while True: msg = sock.recv()`` loop.  Dropping each before the next recv() would
        free a large body just before the next is allocated, which glibc's malloc may hand
        back to the kernel in between: with 1 MiB messages, that costs both implementations
        dozens of page faults per message and changed safezmq's rate twofold."""
        recv, size, copy = self.recv, self.size, self.copy
        msg = self.last
        for _ in range(n):
            msg = recv(0, copy)
            if len(msg) != size:
                raise common.BenchmarkError(f"message of {len(msg)} bytes, expected {size}")
        self.last = msg

    def until(self, seconds: float, count: int, exact: bool = False) -> list[tuple[float, int]]:
        """Receive for at least ``seconds`` and ``count`` messages (``exact``: ``count``
        messages, whatever the time); the (seconds, messages) marks, one per chunk."""
        chunk = self.chunk
        received = 0
        elapsed = 0.0
        start = time.perf_counter()
        marks = [(0.0, 0)]
        while received < count if exact else (elapsed < seconds or received < count):
            n = min(chunk, count - received) if exact else chunk
            self.messages(n)
            received += n
            elapsed = time.perf_counter() - start
            marks.append((elapsed, received))
        return marks

    def drain(self, marker: bytes) -> int:
        """Receive up to the end marker; how many measured-size messages came before it."""
        recv, size, copy = self.recv, self.size, self.copy
        drained = 0
        while True:
            msg = recv(0, copy)
            if len(msg) == len(marker):
                return drained
            if len(msg) != size:
                raise common.BenchmarkError(f"message of {len(msg)} bytes, expected {size}")
            drained += 1


def measure(
    zmq: Any,
    impl: str,
    size: int,
    copy: bool,
    timeout_s: float,
    curve: bool = False,
    plan: Plan = Plan(),
) -> dict[str, Any]:
    """One run: bind, spawn the sender, warm up, time the window, stop the sender, drain."""
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
        peer_args += [
            "--role=remote",
            f"--impl={impl}",
            f"--endpoint=tcp://127.0.0.1:{port}",
            f"--size={size}",
            f"--timeout={timeout_s}",
            "--copy" if copy else "--no-copy",
        ]
        receiver = Receiver(zmq, sock, size, copy)
        with common.PeerProcess(common.BENCH_DIR / "throughput.py", peer_args) as peer:
            try:
                receiver.messages(1)  # (waits for the sender to start and connect)
                sock.rcvtimeo = max(1, int(timeout_s * 1000))
                warmup = receiver.until(plan.warmup_s, plan.warmup_count)
                faults = minor_faults()
                if plan.count is None:
                    marks = receiver.until(plan.duration_s, plan.window_count)
                else:
                    marks = receiver.until(0.0, plan.count, exact=True)
                faults = minor_faults() - faults
                assert peer.proc.stdin is not None
                peer.proc.stdin.write(b"stop\n")
                peer.proc.stdin.flush()
                drained = receiver.drain(end_marker(size))
            except zmq.ZMQError as exc:
                why = peer.failed() or "the sender is still running"
                raise common.BenchmarkError(f"receive failed ({exc}); {why}") from None
            except BrokenPipeError:
                raise common.BenchmarkError(f"the sender is gone: {peer.failed()}") from None
            sender_faults = minor_faults(children=True)
            peer.finish(timeout_s, b"done\n")
            sender_faults = minor_faults(children=True) - sender_faults
    finally:
        sock.close(linger=0)
        if auth is not None:
            auth.stop()
        ctx.term()
    elapsed, received = marks[-1]
    msgs_per_s = received / elapsed if elapsed > 0 else float("inf")
    sent = 1 + warmup[-1][1] + received + drained
    return {
        "count": received,
        "elapsed_s": elapsed,
        "msgs_per_s": msgs_per_s,
        "mb_per_s": msgs_per_s * size / 1e6,
        "slices": slice_rates(marks, SLICES),
        "warmup": {"count": warmup[-1][1] + 1, "elapsed_s": warmup[-1][0]},
        "drained": drained,
        # Where the time of large messages goes: fresh memory, page by page (diagnostic).
        "minor_faults_per_msg": {
            "receiver": faults / received if received else 0.0,
            "sender": sender_faults / sent,
        },
    }


def run_remote(
    zmq: Any,
    endpoint: str,
    size: int,
    copy: bool,
    timeout_s: float,
    server_key: bytes | None = None,
) -> None:
    """The sender: connect, send until the receiver says "stop" (on stdin), send the end
    marker, wait for its "done", close.  With ``server_key``, as a CURVE client of that server."""
    stop = threading.Event()
    done = threading.Event()

    def watch_stdin() -> None:
        # "stop", then "done"; EOF (the receiver is gone) stands for both.
        sys.stdin.readline()
        stop.set()
        sys.stdin.readline()
        done.set()

    threading.Thread(target=watch_stdin, name="stdin", daemon=True).start()
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
        chunk = range(chunk_for(size))
        is_stopped = stop.is_set
        try:
            while not is_stopped():
                for _ in chunk:
                    send(data, 0, copy)
            send(end_marker(size), 0, copy)
        except zmq.ZMQError as exc:
            raise common.BenchmarkError(f"send failed: {exc}") from None
        # LINGER is 0, so closing now could drop what is still queued: wait until the receiver
        # says it has the marker.
        if not done.wait(timeout_s):
            raise common.BenchmarkError(f"the receiver did not answer within {timeout_s:g} s")
    finally:
        sock.close(linger=0)
        ctx.term()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=common.IMPLS, default="safezmq")
    parser.add_argument("--size", type=common.parse_size, default=64, help="bytes (64, 1k, 1m)")
    add_window_arguments(parser)
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
    args = parser.parse_args(argv)
    check_window_arguments(parser, args)
    return args


def run(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.uvloop:
        common.use_uvloop()
    zmq = common.import_impl(args.impl)
    if args.role == "remote":
        server_key = args.server_key.encode() if args.server_key else None
        run_remote(zmq, args.endpoint, args.size, args.copy, args.timeout, server_key)
        return
    plan = Plan.from_args(args)
    result = measure(zmq, args.impl, args.size, args.copy, args.timeout, args.curve, plan)
    result.update(
        bench="throughput",
        size=args.size,
        copy=args.copy,
        mechanism="CURVE" if args.curve else "NULL",
        io_loop=common.io_loop_name(args.impl, args.uvloop),
        info=common.impl_info(args.impl, zmq),
    )
    security = " CURVE" if args.curve else ""
    human = (
        f"{args.impl} PUSH->PULL tcp{security} {common.format_size(args.size)} x "
        f"{result['count']:,} (after {result['warmup']['count']:,} not timed): "
        f"{result['msgs_per_s']:,.0f} msg/s, {result['mb_per_s']:,.1f} MB/s "
        f"({result['elapsed_s']:.3f} s)"
    )
    common.emit(result, args.json, human)


if __name__ == "__main__":
    sys.exit(common.worker_main(run))
