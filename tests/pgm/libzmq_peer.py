"""The libzmq side of the interop tests, run by the system's Python (Debian's python3-zmq, whose
libzmq is built with OpenPGM): ``/usr/bin/python3 libzmq_peer.py pub|sub JSON``.

It must not import safezmq.  The last line it prints is ``RESULT {json}``.
"""

from __future__ import annotations

import json
import sys
import time

import zmq  # the system's pyzmq: libzmq with OpenPGM
from pgm_messages import Tally, message, report, transmit_time


def pub(args: dict) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    sock.setsockopt(zmq.RATE, args.get("rate", 10000))
    sock.setsockopt(zmq.RECOVERY_IVL, args.get("recovery_ivl", 10000))
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.LINGER, 5000)
    sock.connect(args["endpoint"])
    print("READY", flush=True)
    time.sleep(args.get("delay", 0.5))
    for index in range(args["count"]):
        sock.send_multipart(message(index, args["max_size"]))
    # Stay to answer NAKs: libzmq's session (and its PGM socket) ends with the last message.
    time.sleep(transmit_time(args["count"], args["max_size"], args.get("rate", 10000)))
    time.sleep(args.get("hold", 1.5))
    sock.close()
    ctx.term()
    report({"sent": args["count"]})


def sub(args: dict) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RATE, args.get("rate", 10000))
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.SUBSCRIBE, args.get("subscribe", "").encode())
    sock.setsockopt(zmq.RCVTIMEO, int(args.get("idle", 5.0) * 1000))
    sock.connect(args["endpoint"])
    time.sleep(0.5)  # libzmq joins the group in its I/O thread
    print("READY", flush=True)
    tally = Tally(args["max_size"])
    try:
        while len(tally.indices) < args["count"]:
            tally.add(sock.recv_multipart())
    except zmq.Again:
        pass
    sock.close(linger=0)
    ctx.term()
    report(tally.summary())


if __name__ == "__main__":
    {"pub": pub, "sub": sub}[sys.argv[1]](json.loads(sys.argv[2]))
