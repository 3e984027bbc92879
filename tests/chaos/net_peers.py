"""The two ends of the network chaos tests, run inside network namespaces (netns.py).

``python net_peers.py ROLE JSON-ARGS``: prints ``READY`` once bound/connected and ``RESULT
{json}`` at the end.  Messages carry sequence numbers; receivers report what they saw as
counts (received, duplicated, out of order, highest), never trusting the sender's word.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import safezmq
from safezmq.policy import Policy
from safezmq.utils.monitor import recv_monitor_message

IDLE_S = 8.0


def _sock(ctx: safezmq.Context, kind: int, args: dict[str, Any]) -> safezmq.Socket:
    s = ctx.socket(kind)
    s.linger = args.get("linger", 0)
    for name, value in args.get("options", {}).items():
        setattr(s, name, value)
    return s


class Seen:
    def __init__(self) -> None:
        self.received = 0
        self.duplicated = 0
        self.reordered = 0
        self.highest = -1
        self.got: set[int] = set()

    def add(self, seq: int) -> None:
        if seq in self.got:
            self.duplicated += 1
            return
        if seq < self.highest:
            self.reordered += 1
        self.got.add(seq)
        self.received += 1
        self.highest = max(self.highest, seq)

    def result(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "highest": self.highest,
        }


def receive_until_end(s: safezmq.Socket, multipart: bool = False) -> Seen:
    seen = Seen()
    last = time.monotonic()
    while time.monotonic() - last < IDLE_S:
        if not s.poll(100):
            continue
        last = time.monotonic()
        msg = s.recv_multipart()[-1] if multipart else s.recv()
        if msg == b"END":
            break
        seen.add(int(msg))
    return seen


def main() -> None:
    role, args = sys.argv[1], json.loads(sys.argv[2])
    # NULL over a private veth pair between two namespaces: plaintext beyond loopback is
    # refused by default, so allow it here (the link exists only for this test).
    ctx = safezmq.Context(policy=Policy(allow_plaintext_network=True))
    result: dict[str, Any] = {}
    kinds = {
        "pull": safezmq.PULL,
        "push": safezmq.PUSH,
        "rep": safezmq.REP,
        "req": safezmq.REQ,
        "router": safezmq.ROUTER,
        "dealer": safezmq.DEALER,
        # An XPUB, which sends as a PUB does, so that it can wait for the subscription itself
        # (below) instead of for a fixed time.
        "pub": safezmq.XPUB,
        "sub": safezmq.SUB,
    }
    s = _sock(ctx, kinds[role], args)
    monitor = s.get_monitor_socket()
    if "bind" in args:
        s.bind(args["bind"])
    else:
        s.connect(args["connect"])
    if role == "sub":
        s.subscribe(b"")
    print("READY", flush=True)
    n = args.get("n", 0)
    start = time.time()
    if role in ("pull", "sub"):
        result = receive_until_end(s).result()
    elif role == "rep":
        while s.poll(int(IDLE_S * 1000)):
            s.send(s.recv())
    elif role == "router":
        while s.poll(int(IDLE_S * 1000)):
            s.send_multipart(s.recv_multipart())
    elif role in ("push", "pub"):
        if role == "pub":
            # Wait until the subscription has arrived.  A fixed second was not enough: on the
            # lossy link a lost SYN is retransmitted after 1 s, and the first few hundred
            # messages then went out before anyone subscribed.
            if not s.poll(30_000):
                raise SystemExit("pub: no subscription arrived within 30 s")
            subscription = s.recv()
            if subscription != b"\x01":
                raise SystemExit(f"pub: expected to subscribe to everything: {subscription!r}")
        interval = args.get("interval", 0.0)
        for i in range(n):
            s.send(b"%d" % i)
            if interval:
                time.sleep(interval)
        for _ in range(20 if role == "pub" else 1):
            s.send(b"END")
            time.sleep(0.05)
        result = {"sent": n}
    elif role == "req":
        seen = Seen()
        s.rcvtimeo = args.get("rcvtimeo", 20_000)
        for i in range(n):
            s.send(b"%d" % i)
            try:
                seen.add(int(s.recv()))
            except safezmq.Again:
                result.setdefault("timeouts", 0)
                result["timeouts"] = result["timeouts"] + 1
        result.update(seen.result())
    elif role == "dealer":
        seen = Seen()
        window = 32
        sent = 0
        while seen.received + seen.duplicated < n:
            while sent < n and sent - seen.received < window:
                s.send(b"%d" % sent)
                sent += 1
            if not s.poll(20_000):
                break
            seen.add(int(s.recv()))
        result = seen.result()
    events = []
    while monitor.poll(0):
        ev = recv_monitor_message(monitor)
        events.append(int(ev["event"]))
    result["events"] = events
    result["seconds"] = time.time() - start
    monitor.close()
    s.close()
    ctx.term()  # with LINGER=-1 this waits until what was sent has left
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
