"""Networks that misbehave: two network namespaces joined by a veth pair (tests/pgm/netns.py),
with loss, delay and a silent partition applied between them.

Tools: ``tc qdisc netem`` (loss, delay, reordering) when the kernel has sch_netem; otherwise
loss is made with iptables' ``statistic`` match and delay with a ``tbf`` rate limit (its
queue delays packets).  The CI machine's kernel (6.18, Firecracker, no modules) has no netem:
there the second set is used, and reordering cannot be produced -- which ZMTP never sees
anyway, since TCP hands it bytes in order.  A partition is ``iptables -j DROP`` both ways.

libzmq behaviour mirrored: over a lossy, slow link every pattern delivers in order, exactly
once (TCP retransmits); a silent partition is noticed by ZMTP heartbeats within
HEARTBEAT_TIMEOUT (DISCONNECTED), the connecting side reconnects after healing, and messages
still in the pipe (which survives a reconnect for a connect()ed endpoint without IMMEDIATE)
are delivered afterwards, in order, never twice; what was on the dead connection is lost, as
in libzmq.  Needs root; in CI (CI set) it fails when namespaces cannot be made.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safezmq.constants import Event
from tests.pgm import netns

from . import probe

HERE = Path(__file__).resolve().parent
PEER = str(HERE / "net_peers.py")
PORT = 5999

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def _namespaces_possible() -> None:
    why = netns.unavailable()
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"chaos network tests cannot run: {why}")
    pytest.skip(why)


def _run(ns: netns.Namespace, *argv: str) -> None:
    subprocess.run(ns.command(*argv), check=True, capture_output=True, timeout=30)


def _has_netem(ns: netns.Namespace) -> bool:
    probe_ = subprocess.run(
        ns.command("tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"),
        capture_output=True,
        timeout=30,
    )
    if probe_.returncode == 0:
        subprocess.run(ns.command("tc", "qdisc", "del", "dev", "lo", "root"), timeout=30)
    return probe_.returncode == 0


def degrade(ns: netns.Namespace) -> str:
    """Make ``ns``'s link lossy and slow; returns what was applied."""
    if _has_netem(ns):
        _run(
            ns,
            "tc",
            "qdisc",
            "add",
            "dev",
            ns.interface,
            "root",
            "netem",
            "loss",
            "5%",
            "delay",
            "20ms",
            "10ms",
            "reorder",
            "10%",
            "50%",
        )
        return "netem loss 5% delay 20ms±10ms reorder 10%"
    _run(
        ns,
        "iptables",
        "-A",
        "INPUT",
        "-m",
        "statistic",
        "--mode",
        "random",
        "--probability",
        "0.05",
        "-j",
        "DROP",
    )
    _run(
        ns,
        "tc",
        "qdisc",
        "add",
        "dev",
        ns.interface,
        "root",
        "tbf",
        "rate",
        "8mbit",
        "burst",
        "32kbit",
        "latency",
        "100ms",
    )
    return "iptables statistic 5% loss + tbf 8 Mbit/s (no sch_netem in this kernel)"


def partition(ns: netns.Namespace) -> None:
    _run(ns, "iptables", "-I", "INPUT", "-j", "DROP")
    _run(ns, "iptables", "-I", "OUTPUT", "-j", "DROP")


def heal(ns: netns.Namespace) -> None:
    _run(ns, "iptables", "-D", "INPUT", "-j", "DROP")
    _run(ns, "iptables", "-D", "OUTPUT", "-j", "DROP")


@pytest.fixture
def pair() -> Iterator[tuple[netns.Namespace, netns.Namespace]]:
    with netns.veth_pair() as namespaces:
        yield namespaces


def _start(ns: netns.Namespace, role: str, args: dict[str, Any]) -> subprocess.Popen[str]:
    import json

    return ns.start([sys.executable, PEER, role, json.dumps(args)])


# The patterns: (server role, client role, client is the sender?)
PATTERNS = {
    "push-pull": ("pull", "push"),
    "req-rep": ("rep", "req"),
    "dealer-router": ("router", "dealer"),
    "pub-sub": ("pub", "sub"),
}


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_lossy_slow_link_delivers_in_order_exactly_once(
    pattern: str, pair: tuple[netns.Namespace, netns.Namespace], figures: probe.FigureSink
) -> None:
    a, b = pair
    applied = degrade(b)
    server_role, client_role = PATTERNS[pattern]
    n = 300 if pattern == "req-rep" else 2000
    bind = {"bind": f"tcp://{a.address}:{PORT}", "options": {}}
    connect = {"connect": f"tcp://{a.address}:{PORT}", "options": {}}
    if pattern == "pub-sub":
        # A reliable rate for PUB: well under the link's, so the HWM never drops here.
        bind.update(n=n, interval=0.001)
        server = _start(a, server_role, bind)
        client = _start(b, client_role, connect)
        got = netns.finish(client, 90)
        netns.finish(server, 90)
    else:
        connect.update(n=n, linger=-1)
        server = _start(a, server_role, bind)
        client = _start(b, client_role, connect)
        sent = netns.finish(client, 90)
        got = sent if client_role in ("req", "dealer") else netns.finish(server, 90)
        netns.stop(server)
    assert got["duplicated"] == 0 and got["reordered"] == 0, got
    assert got["received"] == n and got["highest"] == n - 1, got
    figures.add("link", applied)
    figures.add(f"{pattern} delivered", f"{got['received']}/{n} in {got['seconds']:.1f} s")


def test_heartbeat_detects_partition_and_reconnects_after_healing(
    pair: tuple[netns.Namespace, netns.Namespace], figures: probe.FigureSink
) -> None:
    a, b = pair
    n = 600
    server = _start(a, "pull", {"bind": f"tcp://{a.address}:{PORT}"})
    client = _start(
        b,
        "push",
        {
            "connect": f"tcp://{a.address}:{PORT}",
            "n": n,
            "interval": 0.01,  # 6 s of sending
            "linger": -1,
            "options": {
                "heartbeat_ivl": 200,
                "heartbeat_timeout": 1000,
                "reconnect_ivl": 100,
                "reconnect_ivl_max": 500,
            },
        },
    )
    time.sleep(1.5)
    partition(b)
    time.sleep(3.0)  # more than HEARTBEAT_TIMEOUT: the client must notice
    heal(b)
    sent = netns.finish(client, 90)
    got = netns.finish(server, 90)
    events = sent["events"]
    assert Event.DISCONNECTED in events, events
    # Reconnected after healing: a second handshake after the disconnect.
    after = events[events.index(Event.DISCONNECTED) :]
    assert Event.HANDSHAKE_SUCCEEDED in after, events
    assert got["duplicated"] == 0 and got["reordered"] == 0, got
    # What was queued after the partition was noticed is delivered: the last message arrives.
    assert got["highest"] == n - 1, got
    figures.add(
        "delivered of sent (the rest died with the partitioned connection)",
        f"{got['received']}/{n}",
    )
