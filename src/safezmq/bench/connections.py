"""Connections: the server's memory per idle connection, and CURVE handshakes per second.

``--bench idle``: this process (the server) binds a ROUTER on 127.0.0.1 and spawns client
processes (this script again, ``--role idle-clients``) that open ``--connections`` DEALER
connections to it, one socket each (libzmq ignores a second connect of a DEALER to the same
endpoint, so connections cannot share a socket), at most ``--per-process`` per process so that no
process runs out of file descriptors.  The server counts HANDSHAKE_SUCCEEDED on its monitor
until every connection is up, lets the ROUTER take in its new peers, waits SETTLE_S, and reports
the growth of its resident set size (VmRSS in /proc/self/status, read in this process after a
full garbage collection, before the clients come and once they are all connected and idle)
divided by the connections: bytes per idle connection, everything included (kernel socket
buffers are not in RSS; what the library allocates per connection -- session, pipes, buffers,
Python objects -- is).  Nothing is sent: the connections are idle.

``--bench handshake``: this process binds a CURVE server ROUTER, with the implementation's
ThreadAuthenticator allowing any client key (ZAP, as a real CURVE server has), and spawns one
client process (``--role hs-clients``) that makes ``--handshakes`` DEALER sockets, each with its
own key pair (made beforehand), and connects them all at once.  The rate is the handshakes
divided by the time from the first connect() in the client to the last HANDSHAKE_SUCCEEDED the
server's monitor reports (both read CLOCK_MONOTONIC, which is system-wide on Linux).  Failed
handshakes are counted (safezmq evicts the oldest handshake when more than its cap, 256 per
endpoint, are in progress; the client then reconnects) and shown.

Both: the listening socket's BACKLOG is raised to ``--backlog`` (default 1024, for both
implementations), so that a burst of connections is not held up by TCP SYN retries; the file
descriptor limit (RLIMIT_NOFILE) is raised to its hard limit where needed.  Monitor events are
read into an unbounded queue (RCVHWM 0), so none is dropped.

    python -m safezmq.bench.connections --impl safezmq --bench idle --connections 10000
    python -m safezmq.bench.connections --impl pyzmq --bench handshake --handshakes 2000 --json
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import struct
import sys
import time
from typing import Any

try:
    from . import _common as common
except ImportError:  # run as a script (the runner's workers): this directory is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]

BENCHES = ("idle", "handshake")
DEFAULT_CONNECTIONS = 2000
DEFAULT_HANDSHAKES = 1000
#: Connections per client process: each costs a client two descriptors (TCP socket and the
#: socket's wake-up fd), which must stay under the per-process limit with room to spare.
DEFAULT_PER_PROCESS = 4000
DEFAULT_BACKLOG = 1024
#: After the last handshake: time for the server to settle before its RSS is read again.
SETTLE_S = 0.5
#: Descriptors a process needs besides one per connection.
SPARE_FDS = 256

#: libzmq's monitor event numbers (safezmq uses the same).
EVENT_ACCEPTED = 0x0020
EVENT_ACCEPT_FAILED = 0x0040
EVENT_DISCONNECTED = 0x0200
EVENT_HANDSHAKE_FAILED_NO_DETAIL = 0x0800
EVENT_HANDSHAKE_SUCCEEDED = 0x1000
EVENT_HANDSHAKE_FAILED_PROTOCOL = 0x2000
EVENT_HANDSHAKE_FAILED_AUTH = 0x4000
EVENT_NAMES = {
    EVENT_ACCEPTED: "accepted",
    EVENT_ACCEPT_FAILED: "accept_failed",
    EVENT_DISCONNECTED: "disconnected",
    EVENT_HANDSHAKE_FAILED_NO_DETAIL: "failed_no_detail",
    EVENT_HANDSHAKE_SUCCEEDED: "succeeded",
    EVENT_HANDSHAKE_FAILED_PROTOCOL: "failed_protocol",
    EVENT_HANDSHAKE_FAILED_AUTH: "failed_auth",
}
MONITOR_EVENTS = sum(EVENT_NAMES)
_EVENT = struct.Struct("=HI")


def rss_bytes() -> int:
    """This process's resident set size: VmRSS from /proc/self/status."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise common.Unsupported("no VmRSS in /proc/self/status (Linux only)")


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def raise_nofile(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE to ``needed`` if the hard limit allows; fail if not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise common.BenchmarkError(
            f"needs {needed} file descriptors but RLIMIT_NOFILE's hard limit is {hard} "
            "(raise it, e.g. ulimit -Hn, or ask for fewer connections)"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed


def new_context(zmq: Any, sockets: int) -> Any:
    ctx = zmq.Context()
    ctx.max_sockets = max(1023, sockets + 16)
    return ctx


class Monitor:
    """Counts a socket's monitor events (read into an unbounded queue: none is dropped)."""

    def __init__(self, zmq: Any, ctx: Any, sock: Any) -> None:
        self.zmq = zmq
        address = f"inproc://connections-monitor-{id(sock)}"
        sock.monitor(address, MONITOR_EVENTS)
        self.reader = ctx.socket(zmq.PAIR)
        self.reader.rcvhwm = 0
        self.reader.linger = 0
        self.reader.connect(address)
        self.counts = dict.fromkeys(EVENT_NAMES.values(), 0)
        #: CLOCK_MONOTONIC (ns) when the last HANDSHAKE_SUCCEEDED was read.
        self.last_success_ns = 0

    def pump(self, timeout_ms: int) -> None:
        """Count the events that arrive within ``timeout_ms`` (all that are queued, at least)."""
        reader, noblock, again = self.reader, self.zmq.NOBLOCK, self.zmq.Again
        if not reader.poll(timeout_ms):
            return
        while True:
            try:
                frames = reader.recv_multipart(noblock)
            except again:
                return
            event, _ = _EVENT.unpack(bytes(frames[0]))
            name = EVENT_NAMES.get(event)
            if name is not None:
                self.counts[name] += 1
                if event == EVENT_HANDSHAKE_SUCCEEDED:
                    self.last_success_ns = time.monotonic_ns()

    def close(self) -> None:
        self.reader.close(linger=0)


def wait_for_handshakes(
    monitor: Monitor, count: int, peers: list[common.PeerProcess], timeout_s: float
) -> None:
    """Pump the monitor until ``count`` handshakes have succeeded; fail after ``timeout_s``
    without progress, or when a client process has failed."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    while monitor.counts["succeeded"] < count:
        monitor.pump(100)
        if monitor.counts["succeeded"] > seen:
            seen = monitor.counts["succeeded"]
            deadline = time.monotonic() + timeout_s
            continue
        for i, peer in enumerate(peers):
            why = peer.failed()
            if why is not None:
                raise common.BenchmarkError(f"client process {i}: {why}")
        if time.monotonic() > deadline:
            raise common.BenchmarkError(
                f"{seen} of {count} handshakes succeeded, then none for {timeout_s:g} s "
                f"(server events: {monitor.counts})"
            )


def split(total: int, per_process: int) -> list[int]:
    """``total`` connections in as few processes of at most ``per_process`` as possible."""
    procs = max(1, -(-total // per_process))
    base, extra = divmod(total, procs)
    return [base + (1 if i < extra else 0) for i in range(procs)]


# -- idle connections -----------------------------------------------------------------------------


def measure_idle(
    zmq: Any,
    client_impl: str,
    connections: int,
    per_process: int,
    backlog: int,
    timeout_s: float,
) -> dict[str, Any]:
    raise_nofile(connections + SPARE_FDS)
    ctx = new_context(zmq, 4)
    policy = getattr(ctx, "policy", None)  # safezmq's limits
    if policy is not None and connections > policy.max_connections:
        ctx.term()
        raise common.Unsupported(
            f"safezmq's policy accepts at most {policy.max_connections:,} connections per "
            f"endpoint (Policy.max_connections), not {connections:,}"
        )
    router = ctx.socket(zmq.ROUTER)
    monitor: Monitor | None = None
    try:
        common.setup_socket(router, timeout_s)
        router.backlog = backlog
        monitor = Monitor(zmq, ctx, router)
        endpoint = f"tcp://127.0.0.1:{router.bind_to_random_port('tcp://127.0.0.1')}"
        gc.collect()
        fds_before = open_fds()
        rss_before = rss_bytes()
        started = time.monotonic()
        with contextlib.ExitStack() as stack:
            peers = [
                stack.enter_context(
                    common.PeerProcess(
                        common.BENCH_DIR / "connections.py",
                        [
                            "--role=idle-clients",
                            f"--impl={client_impl}",
                            f"--endpoint={endpoint}",
                            f"--connections={n}",
                            f"--timeout={timeout_s}",
                        ],
                    )
                )
                for n in split(connections, per_process)
            ]
            wait_for_handshakes(monitor, connections, peers, timeout_s)
            connect_s = time.monotonic() - started
            # Let the ROUTER take in its new peers (it does so when next used) and the I/O
            # side finish whatever it does after a handshake, then measure.
            router.getsockopt(zmq.EVENTS)
            settle_until = time.monotonic() + SETTLE_S
            while time.monotonic() < settle_until:
                monitor.pump(50)
            router.getsockopt(zmq.EVENTS)
            gc.collect()
            rss_after = rss_bytes()
            fds_after = open_fds()
            counts = dict(monitor.counts)
            for peer in peers:
                peer.finish(timeout_s, b"done\n")
    finally:
        router.close(linger=0)
        if monitor is not None:
            monitor.close()
        ctx.term()
    return {
        "connections": connections,
        "client_processes": len(peers),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "bytes_per_conn": (rss_after - rss_before) / connections,
        "fds_per_conn": (fds_after - fds_before) / connections,
        "connect_s": connect_s,
        "events": counts,
        "backlog": backlog,
    }


def run_idle_clients(zmq: Any, endpoint: str, connections: int, timeout_s: float) -> None:
    """One DEALER per connection; connect them all, then stay (idle) until told to leave."""
    raise_nofile(2 * connections + SPARE_FDS)
    ctx = new_context(zmq, connections)
    socks: list[Any] = []
    try:
        for _ in range(connections):
            sock = ctx.socket(zmq.DEALER)
            common.setup_socket(sock, timeout_s)
            sock.connect(endpoint)
            socks.append(sock)
        sys.stdin.readline()  # the server has measured
    finally:
        for sock in socks:
            sock.close(linger=0)
        ctx.term()


# -- CURVE handshakes -----------------------------------------------------------------------------


def measure_handshakes(
    zmq: Any, client_impl: str, handshakes: int, backlog: int, timeout_s: float
) -> dict[str, Any]:
    raise_nofile(handshakes + SPARE_FDS)
    ctx = new_context(zmq, 8)
    auth = common.start_authenticator(zmq, ctx)
    router = ctx.socket(zmq.ROUTER)
    monitor: Monitor | None = None
    try:
        common.setup_socket(router, timeout_s)
        router.backlog = backlog
        public, secret = zmq.curve_keypair()
        router.curve_server = True
        router.curve_publickey = public
        router.curve_secretkey = secret
        monitor = Monitor(zmq, ctx, router)
        endpoint = f"tcp://127.0.0.1:{router.bind_to_random_port('tcp://127.0.0.1')}"
        with common.PeerProcess(
            common.BENCH_DIR / "connections.py",
            [
                "--role=hs-clients",
                f"--impl={client_impl}",
                f"--endpoint={endpoint}",
                f"--server-key={public.decode()}",
                f"--handshakes={handshakes}",
                f"--timeout={timeout_s}",
            ],
        ) as peer:
            wait_for_handshakes(monitor, handshakes, [peer], timeout_s)
            last_ns = monitor.last_success_ns
            client = common.last_json_line(peer.finish(timeout_s, b"done\n"))
        monitor.pump(0)
        counts = dict(monitor.counts)
    finally:
        router.close(linger=0)
        if monitor is not None:
            monitor.close()
        auth.stop()
        ctx.term()
    elapsed = (last_ns - client["first_connect_ns"]) / 1e9
    if elapsed <= 0:
        raise common.BenchmarkError(f"handshakes took {elapsed} s: clocks disagree?")
    return {
        "handshakes": handshakes,
        "elapsed_s": elapsed,
        "handshakes_per_s": handshakes / elapsed,
        "connect_calls_s": client["connect_calls_s"],
        "failed": counts["failed_no_detail"] + counts["failed_protocol"] + counts["failed_auth"],
        "events": counts,
        "backlog": backlog,
    }


def run_hs_clients(
    zmq: Any, endpoint: str, server_key: bytes, handshakes: int, timeout_s: float
) -> None:
    """Make ``handshakes`` CURVE DEALERs (keys first), connect them all at once, report when
    the first connect() began, and stay until told to leave."""
    raise_nofile(2 * handshakes + SPARE_FDS)
    ctx = new_context(zmq, handshakes)
    socks: list[Any] = []
    try:
        for _ in range(handshakes):
            public, secret = zmq.curve_keypair()
            sock = ctx.socket(zmq.DEALER)
            common.setup_socket(sock, timeout_s)
            sock.curve_publickey = public
            sock.curve_secretkey = secret
            sock.curve_serverkey = server_key
            socks.append(sock)
        first_ns = time.monotonic_ns()
        for sock in socks:
            sock.connect(endpoint)
        calls_s = (time.monotonic_ns() - first_ns) / 1e9
        print(json.dumps({"first_connect_ns": first_ns, "connect_calls_s": calls_s}), flush=True)
        sys.stdin.readline()  # the server has seen every handshake
    finally:
        for sock in socks:
            sock.close(linger=0)
        ctx.term()


# -- command line ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=common.IMPLS, default="safezmq")
    parser.add_argument("--bench", choices=BENCHES, default="idle")
    parser.add_argument(
        "--client-impl",
        choices=common.IMPLS,
        help="the clients' implementation (default: --impl's; the other one isolates the server)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=DEFAULT_CONNECTIONS,
        help=f"idle: connections to open (default {DEFAULT_CONNECTIONS})",
    )
    parser.add_argument(
        "--per-process",
        type=int,
        default=DEFAULT_PER_PROCESS,
        help=f"idle: at most this many connections per client process "
        f"(default {DEFAULT_PER_PROCESS})",
    )
    parser.add_argument(
        "--handshakes",
        type=int,
        default=DEFAULT_HANDSHAKES,
        help=f"handshake: CURVE clients connecting at once (default {DEFAULT_HANDSHAKES})",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=DEFAULT_BACKLOG,
        help=f"the server's listen backlog (default {DEFAULT_BACKLOG})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds without progress (or for any one step) before the run fails",
    )
    common.add_uvloop_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--role",
        choices=("server", "idle-clients", "hs-clients"),
        default="server",
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--server-key", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client_impl is None:
        args.client_impl = args.impl
    if args.connections < 1 or args.handshakes < 1 or args.per_process < 1:
        parser.error("--connections, --handshakes and --per-process must be at least 1")
    return args


def run(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.uvloop:
        common.use_uvloop()
    zmq = common.import_impl(args.impl)
    if args.role == "idle-clients":
        run_idle_clients(zmq, args.endpoint, args.connections, args.timeout)
        return
    if args.role == "hs-clients":
        run_hs_clients(zmq, args.endpoint, args.server_key.encode(), args.handshakes, args.timeout)
        return
    if args.bench == "idle":
        result = measure_idle(
            zmq, args.client_impl, args.connections, args.per_process, args.backlog, args.timeout
        )
        human = (
            f"{args.impl} idle tcp connections x {args.connections:,}: "
            f"{result['bytes_per_conn']:,.0f} bytes of server RSS per connection "
            f"({result['rss_before'] / 2**20:,.1f} -> {result['rss_after'] / 2**20:,.1f} MiB, "
            f"{result['fds_per_conn']:.2f} fds per connection, all up in "
            f"{result['connect_s']:.2f} s from {result['client_processes']} client processes)"
        )
    else:
        result = measure_handshakes(
            zmq, args.client_impl, args.handshakes, args.backlog, args.timeout
        )
        human = (
            f"{args.impl} CURVE handshakes x {args.handshakes:,}: "
            f"{result['handshakes_per_s']:,.0f} handshakes/s ({result['elapsed_s']:.2f} s from "
            f"the first connect to the last HANDSHAKE_SUCCEEDED; {result['failed']} failed)"
        )
    if args.client_impl != args.impl:
        human += f" [clients: {args.client_impl}]"
    result.update(
        bench=f"connections-{args.bench}",
        client_impl=args.client_impl,
        io_loop=common.io_loop_name(args.impl, args.uvloop),
        info=common.impl_info(args.impl, zmq),
    )
    common.emit(result, args.json, human)


if __name__ == "__main__":
    sys.exit(common.worker_main(run))
