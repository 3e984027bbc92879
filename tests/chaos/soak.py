"""The soak: mixed patterns, mechanisms and transports for a fixed number of messages.

Lanes run at once in this process, each a pair of sockets in two contexts (so each side has
its own I/O thread):

=============  ==========  =========  ===============================================
lane           transport   mechanism  rule checked
=============  ==========  =========  ===============================================
push-pull      tcp         NULL       every message once, in order
req-rep        ipc         CURVE      every request answered once, in order
dealer-router  tcp         CURVE      every request echoed once, in order (window 64)
pub-sub        inproc      NULL       in order; gaps are drops by PUB's HWM rule
pub-sub-curve  tcp         CURVE      in order; gaps are drops by PUB's HWM rule
pair           ipc         NULL       every message once, in order
=============  ==========  =========  ===============================================

Each message carries its lane's sequence number.  A reliable lane counts a message *lost* if
it was sent (accepted by ``send``) and never received once the lane drained; PUB lanes count
gaps as *dropped by rule* (PUB drops for a subscriber whose pipe is full, as in libzmq).  Every
second the soak samples RSS and the messages received so far.

By hand::

    python -m tests.chaos.soak --messages 6000000 --json soak.json --plot docs/reliability

(3,000,000 messages per lane took 920 s on the shared 2-core machine this was written on, so
the default of 6,000,000 is about 30 minutes.)  ``tests/chaos/test_soak.py`` runs the CI
version (two minutes) and the full one with ``--chaos-full``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import safezmq
from safezmq.auth import CURVE_ALLOW_ANY
from safezmq.auth.thread import ThreadAuthenticator

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))

from tests.chaos.probe import rss_bytes

BODY_PAD = 100  # bytes of payload after the sequence number
WINDOW = 64
RECV_MS = 30_000  # a liveness bound only: the machine is shared and loaded
#: PUB never blocks, so its sender is paced (a burst, then a millisecond's sleep): a thread that
#: spins in Python starves every other thread of the GIL, which measures CPython, not safezmq.
PUB_BURST = 50


@dataclass
class Lane:
    name: str
    transport: str
    mechanism: str
    sent: int = 0
    received: int = 0
    dropped_by_rule: int = 0
    lost: int = 0
    duplicated_or_reordered: int = 0
    error: str = ""


@dataclass
class Report:
    seconds: float = 0.0
    messages_per_lane: int = 0
    lanes: list[Lane] = field(default_factory=list)
    samples: list[dict[str, float]] = field(default_factory=list)  # t, rss, received

    @property
    def totals(self) -> dict[str, int]:
        keys = ("sent", "received", "dropped_by_rule", "lost", "duplicated_or_reordered")
        return {k: sum(getattr(lane, k) for lane in self.lanes) for k in keys}


class Soak:
    def __init__(self, messages: int, seconds: float | None) -> None:
        self.messages = messages
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.server_ctx = safezmq.Context()
        self.client_ctx = safezmq.Context()
        self.auth = ThreadAuthenticator(self.server_ctx)
        self.auth.start()
        self.auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
        self.server_public, self.server_secret = safezmq.curve_keypair()
        self.tmp = tempfile.mkdtemp(prefix="sz-soak-")
        self.lanes: list[Lane] = []
        self.stop_sampling = threading.Event()

    # -- sockets ------------------------------------------------------------------------------

    def _pair(self, lane: Lane, server_type: int, client_type: int) -> tuple[Any, Any]:
        server = self.server_ctx.socket(server_type)
        client_ctx = self.server_ctx if lane.transport == "inproc" else self.client_ctx
        client = client_ctx.socket(client_type)
        for s in (server, client):
            s.linger = 0
            s.rcvtimeo = RECV_MS
            s.sndtimeo = RECV_MS
        if lane.mechanism == "curve":
            server.curve_server = True
            server.curve_secretkey = self.server_secret
            client.curve_serverkey = self.server_public
            client.curve_publickey, client.curve_secretkey = safezmq.curve_keypair()
        if lane.transport == "tcp":
            server.bind("tcp://127.0.0.1:*")
        elif lane.transport == "ipc":
            server.bind(f"ipc://{self.tmp}/{lane.name}")
        else:
            server.bind(f"inproc://soak-{lane.name}")
        client.connect(server.getsockopt_string(safezmq.LAST_ENDPOINT))
        return server, client

    def _more(self, lane: Lane) -> bool:
        if lane.sent >= self.messages:
            return False
        return self.deadline is None or time.monotonic() < self.deadline

    @staticmethod
    def _msg(seq: int) -> bytes:
        return b"%d " % seq + b"x" * BODY_PAD

    @staticmethod
    def _seq(msg: bytes) -> int:
        return int(msg.split(b" ", 1)[0])

    # -- lanes --------------------------------------------------------------------------------

    def one_way(self, lane: Lane, kinds: tuple[int, int], lossy: bool) -> None:
        """sender: client; receiver: server (PUSH/PULL, PAIR) or the reverse for PUB/SUB."""
        server, client = self._pair(lane, *kinds)
        if lossy:  # server is PUB, client is SUB
            client.subscribe(b"")
            sender, receiver = server, client
            time.sleep(0.5)  # the subscription reaches the publisher
        else:
            sender, receiver = client, server
        done = threading.Event()
        expected = [0]

        def receive() -> None:
            idle_since = time.monotonic()
            while True:
                if not receiver.poll(200):
                    idle = time.monotonic() - idle_since
                    if (done.is_set() and idle > 1.0) or idle > RECV_MS / 1000:
                        return
                    continue
                idle_since = time.monotonic()
                seq = self._seq(receiver.recv())
                if seq < expected[0]:
                    lane.duplicated_or_reordered += 1
                    continue
                if seq > expected[0]:
                    if lossy:
                        lane.dropped_by_rule += seq - expected[0]
                    else:
                        lane.duplicated_or_reordered += 1
                lane.received += 1
                expected[0] = seq + 1

        t = threading.Thread(target=receive, name=f"soak-{lane.name}")
        t.start()
        while self._more(lane):
            sender.send(self._msg(lane.sent))
            lane.sent += 1
            if lossy and lane.sent % PUB_BURST == 0:
                time.sleep(0.001)
        done.set()
        t.join()
        if lossy:
            lane.dropped_by_rule += lane.sent - expected[0]  # the tail the HWM dropped
        lane.lost = lane.sent - lane.received - lane.dropped_by_rule
        server.close()
        client.close()

    def req_rep(self, lane: Lane) -> None:
        server, client = self._pair(lane, safezmq.REP, safezmq.REQ)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                if server.poll(200):
                    server.send(server.recv())

        t = threading.Thread(target=serve, name=f"soak-{lane.name}")
        t.start()
        try:
            while self._more(lane):
                client.send(self._msg(lane.sent))
                lane.sent += 1
                if self._seq(client.recv()) != lane.sent - 1:
                    lane.duplicated_or_reordered += 1
                lane.received += 1
        finally:
            stop.set()
            t.join()
        lane.lost = lane.sent - lane.received
        server.close()
        client.close()

    def dealer_router(self, lane: Lane) -> None:
        server, client = self._pair(lane, safezmq.ROUTER, safezmq.DEALER)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                if server.poll(200):
                    server.send_multipart(server.recv_multipart())

        t = threading.Thread(target=serve, name=f"soak-{lane.name}")
        t.start()
        try:
            while self._more(lane) or lane.received < lane.sent:
                while self._more(lane) and lane.sent - lane.received < WINDOW:
                    client.send(self._msg(lane.sent))
                    lane.sent += 1
                if not client.poll(RECV_MS):
                    break  # what is missing is counted as lost
                if self._seq(client.recv()) != lane.received:
                    lane.duplicated_or_reordered += 1
                lane.received += 1
        finally:
            stop.set()
            t.join()
        lane.lost = lane.sent - lane.received
        server.close()
        client.close()

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> Report:
        specs: list[tuple[Lane, Callable[[Lane], None]]] = [
            (
                Lane("push-pull", "tcp", "null"),
                lambda ln: self.one_way(ln, (safezmq.PULL, safezmq.PUSH), False),
            ),
            (Lane("req-rep", "ipc", "curve"), self.req_rep),
            (Lane("dealer-router", "tcp", "curve"), self.dealer_router),
            (
                Lane("pub-sub", "inproc", "null"),
                lambda ln: self.one_way(ln, (safezmq.PUB, safezmq.SUB), True),
            ),
            (
                Lane("pub-sub-curve", "tcp", "curve"),
                lambda ln: self.one_way(ln, (safezmq.PUB, safezmq.SUB), True),
            ),
            (
                Lane("pair", "ipc", "null"),
                lambda ln: self.one_way(ln, (safezmq.PAIR, safezmq.PAIR), False),
            ),
        ]
        report = Report(messages_per_lane=self.messages)
        start = time.monotonic()

        def sample() -> None:
            while not self.stop_sampling.wait(1.0):
                report.samples.append(
                    {
                        "t": time.monotonic() - start,
                        "rss": float(rss_bytes()),
                        "received": float(sum(lane.received for lane in self.lanes)),
                    }
                )

        def guarded(lane: Lane, fn: Callable[[Lane], None]) -> None:
            try:
                fn(lane)
            except Exception as exc:  # reported, and a soak with an error fails
                lane.error = repr(exc)
                lane.lost = lane.sent - lane.received - lane.dropped_by_rule

        sampler = threading.Thread(target=sample, name="soak-sampler", daemon=True)
        sampler.start()
        workers = []
        for lane, fn in specs:
            self.lanes.append(lane)
            w = threading.Thread(target=guarded, args=(lane, fn), name=f"soak-lane-{lane.name}")
            w.start()
            workers.append(w)
        for w in workers:
            w.join()
        self.stop_sampling.set()
        sampler.join()
        report.seconds = time.monotonic() - start
        report.lanes = self.lanes
        self.auth.stop()
        self.server_ctx.destroy(linger=0)
        self.client_ctx.destroy(linger=0)
        return report


def plot(report: Report, directory: str) -> list[str]:
    """RSS and throughput over time, as two PNGs in ``directory``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    t = [s["t"] for s in report.samples]
    rss = [s["rss"] / 2**20 for s in report.samples]
    received = [s["received"] for s in report.samples]
    rate = [0.0] + [
        (received[i] - received[i - 1]) / max(t[i] - t[i - 1], 1e-9) for i in range(1, len(t))
    ]
    paths = []
    for name, ys, label in (
        ("soak-rss.png", rss, "RSS (MiB)"),
        ("soak-throughput.png", rate, "messages received per second (all lanes)"),
    ):
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot([x / 60 for x in t], ys)
        ax.set_xlabel("minutes")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        path = os.path.join(directory, name)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def summary(report: Report) -> str:
    lines = [f"soak: {report.seconds:.0f} s, up to {report.messages_per_lane} messages per lane"]
    for lane in report.lanes:
        lines.append(
            f"  {lane.name:<14} {lane.transport:<6} {lane.mechanism:<5} sent {lane.sent:>9} "
            f"received {lane.received:>9} dropped-by-rule {lane.dropped_by_rule:>7} "
            f"lost {lane.lost} dup/reordered {lane.duplicated_or_reordered}"
            + (f" ERROR {lane.error}" if lane.error else "")
        )
    if report.samples:
        rss = [s["rss"] for s in report.samples]
        lines.append(
            f"  RSS MiB: first {rss[0] / 2**20:.1f}, max {max(rss) / 2**20:.1f}, "
            f"last {rss[-1] / 2**20:.1f}; totals {report.totals}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=6_000_000, help="per lane")
    parser.add_argument("--seconds", type=float, default=None, help="stop sending after this")
    parser.add_argument("--json", help="write the report (with samples) here")
    parser.add_argument("--plot", help="write soak-rss.png and soak-throughput.png here")
    args = parser.parse_args(argv)
    report = Soak(args.messages, args.seconds).run()
    print(summary(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**asdict(report), "totals": report.totals}, f, indent=1)
    if args.plot:
        print("plots:", *plot(report, args.plot))
    bad = report.totals["lost"] or report.totals["duplicated_or_reordered"]
    return 1 if bad or any(lane.error for lane in report.lanes) else 0


if __name__ == "__main__":
    sys.exit(main())
