"""The safezmq side of the multicast tests: ``python scenarios.py NAME JSON``, run inside a
network namespace by test_multicast.py.  The last line printed is ``RESULT {json}``.

Scenarios: ``pub`` and ``sub`` (one side, for interop with libzmq_peer.py), ``pair`` (PUB and
SUB in one process), ``malformed`` (a pair while an attacker sends hostile packets to the
group) and ``nak_storm`` (a pair while an attacker floods the publisher with NAKs).

The lossy network: ``drop`` in the arguments installs safezmq's PACKET_FILTER hook, which drops
chosen packets: ``{"dir": "out" | "in", "every": N, "offset": K, "types": [4], "sqns": [...]}``
drops data packets of those types (4 = ODATA, 5 = RDATA) whose sequence number is K modulo N,
or is listed in ``sqns``.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pgm_messages import Tally, message, report, transmit_time

import safezmq as zmq
from safezmq.engine import pgm_session
from safezmq.pgm import packet as pgm
from safezmq.utils.monitor import parse_monitor_message

dropped = {"out": 0, "in": 0}


def install_drop(spec: dict[str, Any] | None) -> None:
    if not spec:
        return
    direction = spec.get("dir", "out")
    every = spec.get("every", 0)
    offset = spec.get("offset", 0)
    types = set(spec.get("types", [pgm.ODATA]))
    sqns = set(spec.get("sqns", []))

    def keep(way: str, data: bytes) -> bool:
        if way != direction or len(data) < 24 or data[4] not in types:
            return True
        sqn = struct.unpack_from("!I", data, 16)[0]
        if sqn in sqns or (every and sqn % every == offset and sqn not in (0, 1)):
            dropped[way] += 1
            return False
        return True

    pgm_session.PACKET_FILTER = keep


def context() -> zmq.Context:
    return zmq.Context(policy=zmq.Policy(allow_multicast=True))


def configure(sock: zmq.Socket, args: dict[str, Any]) -> None:
    sock.rate = args.get("rate", 10000)
    sock.recovery_ivl = args.get("recovery_ivl", 10000)
    sock.linger = args.get("linger", 3000)
    sock.sndhwm = 0
    sock.rcvhwm = 0
    if "maxtpdu" in args:
        sock.multicast_maxtpdu = args["maxtpdu"]


def session_stats(sock: zmq.Socket) -> dict[str, int]:
    engine = sock._engine
    if engine is None:
        return {}
    stats: dict[str, int] = {}
    for session in list(engine.multicast.values()):
        for key, value in session.stats().items():
            stats[key] = stats.get(key, 0) + value
    return stats


def drain_events(monitor: zmq.Socket) -> list[dict[str, Any]]:
    events = []
    while True:
        try:
            event = parse_monitor_message(monitor.recv_multipart(zmq.NOBLOCK))
        except zmq.Again:
            return events
        events.append({"event": event["event"], "value": event["value"]})


def receive(sock: zmq.Socket, tally: Tally, count: int, idle: float) -> None:
    sock.rcvtimeo = int(idle * 1000)
    try:
        while len(tally.indices) < count:
            tally.add(sock.recv_multipart())
    except zmq.Again:
        pass


def publish(sock: zmq.Socket, start: int, stop: int, max_size: int, pace: float = 0.0) -> None:
    for index in range(start, stop):
        sock.send_multipart(message(index, max_size))
        if pace:
            time.sleep(pace)


# -- one side (interop) -------------------------------------------------------------------------


def pub(args: dict[str, Any]) -> dict[str, Any]:
    install_drop(args.get("drop"))
    ctx = context()
    sock = ctx.socket(zmq.XPUB if args.get("xpub") else zmq.PUB)
    configure(sock, args)
    sock.connect(args["endpoint"])
    time.sleep(args.get("delay", 0.5))
    publish(sock, 0, args["count"], args["max_size"])
    # Stay to answer NAKs until the last packet is out, and a little longer.
    time.sleep(transmit_time(args["count"], args["max_size"], args.get("rate", 10000)))
    time.sleep(args.get("hold", 1.5))
    stats = session_stats(sock)
    ctx.destroy(linger=0)
    return {"sent": args["count"], "stats": stats, "dropped": dropped}


def sub(args: dict[str, Any]) -> dict[str, Any]:
    install_drop(args.get("drop"))
    ctx = context()
    sock = ctx.socket(zmq.SUB)
    configure(sock, args)
    monitor = sock.get_monitor_socket()
    sock.subscribe(args.get("subscribe", "").encode())
    sock.connect(args["endpoint"])
    print("READY", flush=True)
    tally = Tally(args["max_size"])
    receive(sock, tally, args["count"], args.get("idle", 5.0))
    result = tally.summary()
    result["stats"] = session_stats(sock)
    result["events"] = drain_events(monitor)
    result["dropped"] = dropped
    ctx.destroy(linger=0)
    return result


# -- both sides in one process --------------------------------------------------------------------


def pair(args: dict[str, Any], on_start: Any = None) -> dict[str, Any]:
    """PUB/XPUB and SUB/XSUB in one process (two contexts: two I/O threads); ``on_start`` is
    called once both have joined, before the first message."""
    install_drop(args.get("drop"))
    endpoint = args["endpoint"]
    count, max_size = args["count"], args["max_size"]
    pub_ctx, sub_ctx = context(), context()
    pub_sock = pub_ctx.socket(zmq.XPUB if args.get("xpub") else zmq.PUB)
    configure(pub_sock, args.get("pub", args))
    sub_sock = sub_ctx.socket(zmq.XSUB if args.get("xsub") else zmq.SUB)
    configure(sub_sock, args.get("sub", args))
    monitor = sub_sock.get_monitor_socket()
    if args.get("xsub"):
        sub_sock.send(b"\x01")  # an XSUB subscribes by sending (PGM drops it: no upstream)
    else:
        sub_sock.subscribe(args.get("subscribe", "").encode())
    late = args.get("late_join", 0)
    getattr(pub_sock, args.get("pub_verb", "connect"))(endpoint)
    if not late:
        getattr(sub_sock, args.get("sub_verb", "connect"))(endpoint)
    time.sleep(0.3)
    if on_start is not None:
        on_start()
    tally = Tally(max_size)
    xpub_saw: list[bytes] = []
    if late:
        # The subscriber joins while the stream flows (large messages span several packets):
        # it must start at a message boundary and never deliver the tail of a message.
        publisher = threading.Thread(
            target=publish, args=(pub_sock, 0, count, max_size, args.get("pace", 0.0))
        )
        publisher.start()
        time.sleep(late)
        sub_sock.connect(endpoint)
        publisher.join()
    else:
        publish(pub_sock, 0, count, max_size, pace=args.get("pace", 0.0))
    receive(sub_sock, tally, args.get("expect", count), args.get("idle", 3.0))
    if args.get("xpub"):
        pub_sock.rcvtimeo = 0
        try:
            while True:
                xpub_saw.append(pub_sock.recv())
        except zmq.Again:
            pass
    result = tally.summary()
    time.sleep(args.get("settle", 0.0))
    result["events"] = drain_events(monitor)
    result["stats"] = session_stats(sub_sock)
    result["pub_stats"] = session_stats(pub_sock)
    result["dropped"] = dropped
    result["xpub_saw"] = [x.hex() for x in xpub_saw]
    result["audit"] = [str(f) for f in pub_ctx.audit() + sub_ctx.audit()]
    result["last_endpoint"] = [
        pub_sock.last_endpoint.decode(),
        sub_sock.last_endpoint.decode(),
    ]
    pub_ctx.destroy(linger=0)
    sub_ctx.destroy(linger=0)
    return result


def lifecycle(args: dict[str, Any]) -> dict[str, Any]:
    """bind/unbind, connect/disconnect, joining twice, and LINGER on close."""
    endpoint, size = args["endpoint"], 100
    pub_ctx, sub_ctx = context(), context()
    pub_sock = pub_ctx.socket(zmq.PUB)
    configure(pub_sock, args)
    sub_sock = sub_ctx.socket(zmq.SUB)
    configure(sub_sock, args)
    sub_sock.subscribe(b"")
    steps: dict[str, Any] = {}

    def burst(start: int, idle: float = 1.0) -> int:
        publish(pub_sock, start, start + 10, size)
        tally = Tally(size)
        receive(sub_sock, tally, 10, idle)
        assert tally.bad == 0
        return len(tally.indices)

    pub_sock.bind(endpoint)
    sub_sock.connect(endpoint)
    time.sleep(0.2)
    steps["joined"] = burst(0)
    sub_sock.disconnect(endpoint)
    time.sleep(0.2)
    steps["after_disconnect"] = burst(10, 0.5)
    sub_sock.connect(endpoint)
    time.sleep(0.2)
    steps["reconnected"] = burst(20)
    pub_sock.unbind(endpoint)
    time.sleep(0.1)
    pub_sock.bind(endpoint)  # a new source (new GSI) on the same group
    time.sleep(0.2)
    steps["new_source"] = burst(30)
    try:
        pub_sock.connect(endpoint)
    except zmq.ZMQError as exc:
        steps["joined_twice"] = exc.errno
    # LINGER: messages queued at close() are still sent (here: 2 s at 1 Mbit/s).
    slow = pub_ctx.socket(zmq.PUB)
    configure(slow, {**args, "rate": 1000, "linger": 10_000})
    slow.connect(endpoint)
    time.sleep(0.2)
    publish(slow, 100, 300, 1000)
    started = time.monotonic()
    slow.close()
    tally = Tally(1000)
    receive(sub_sock, tally, 200, 2.0)
    steps["lingered"] = len(tally.indices)
    steps["linger_seconds"] = round(time.monotonic() - started, 2)
    pub_ctx.destroy(linger=0)
    sub_ctx.destroy(linger=0)
    return steps


# -- attacks ------------------------------------------------------------------------------------


def _group_port(endpoint: str) -> tuple[str, int]:
    rest = endpoint.split(";", 1)[1]
    group, port = rest.rsplit(":", 1)
    return group, int(port)


def _learn_source(
    group: str, port: int, listening: threading.Event, timeout: float = 10.0
) -> pgm.Spm | None:
    """What an attacker on the segment does first: join the group and read an SPM (a source
    sends three as it joins; ``listening`` is set once the spy is in the group to hear them)."""
    spy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    spy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    spy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    spy.bind((group, port))
    spy.setsockopt(
        socket.IPPROTO_IP,
        socket.IP_ADD_MEMBERSHIP,
        struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("127.0.0.1")),
    )
    spy.settimeout(0.2)
    listening.set()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = spy.recv(65536)
            except TimeoutError:
                continue
            try:
                packet = pgm.parse_packet(data)
            except pgm.PgmError:
                continue
            if isinstance(packet, pgm.Spm):
                return packet
    finally:
        spy.close()
    return None


def _hostile_packets(rng: random.Random, spm: pgm.Spm | None, port: int) -> list[bytes]:
    """One round of hostile packets: garbage, broken PGM, and well-formed lies."""
    packets = [
        b"",
        b"\x00",
        rng.randbytes(15),
        rng.randbytes(rng.randrange(16, 1400)),  # random junk
        b"\xff" * 1500,
    ]
    gsi, sport = os.urandom(6), rng.randrange(1, 65535)
    good = pgm.encode_data(gsi, sport, port, 5, 0, b"\x00\x00\x05\x00abcd")
    packets.append(good[:6] + b"\x12\x34" + good[8:])  # wrong checksum
    packets.append(good[:-3])  # truncated (TSDU length disagrees)
    packets.append(good[:6] + b"\x00\x00" + good[8:])  # ODATA without checksum
    packets.append(pgm.encode_data(gsi, sport, port + 1, 5, 0, b"\x00\x00\x01\x00"))  # port
    # Options that lie about their length, too many options, a giant NAK list.
    bad_options = bytearray(pgm.encode_spm(gsi, sport, port, 1, 0, 0, "127.0.0.1"))
    bad_options[5] = pgm.OPT_PRESENT
    bad_options += bytes([0, 4, 0xFF, 0xFF])
    packets.append(bytes(bad_options))
    many = bytearray(pgm.encode_spm(gsi, sport, port, 1, 0, 0, "127.0.0.1"))
    many[5] = pgm.OPT_PRESENT
    many += bytes([0, 4, 0, 4 + 17 * 4]) + bytes([0x7F, 4, 0, 0]) * 17
    packets.append(bytes(many))
    # A made-up source with an absurd sequence number and window (bounded work at the
    # receiver: at most its window), and fresh made-up sources beyond the source limit.
    packets.append(pgm.encode_data(gsi, sport, port, 0xFFFFFF00, 0xFFFFFF00, b"\xff\xff"))
    packets.append(pgm.encode_data(gsi, sport, port, 0x7FFFFFFF, 0, b"\x00\x00\x03\x00x"))
    packets.append(pgm.encode_spm(gsi, sport, port, 7, 0, 0x7FFFFFFF, "127.0.0.1"))
    for _ in range(3):
        packets.append(
            pgm.encode_data(os.urandom(6), rng.randrange(1, 65535), port, 1, 0, b"\xff\xff")
        )
    # Framing lies inside a valid packet: an offset past the end, a zero frame length, a
    # frame claiming 2**60 octets.
    packets.append(pgm.encode_data(gsi, sport, port, 9, 0, b"\x05\x00\x01"))
    packets.append(pgm.encode_data(gsi, sport, port, 10, 0, b"\x00\x00\x00\x00\x00"))
    packets.append(
        pgm.encode_data(gsi, sport, port, 11, 0, b"\x00\x00\xff" + (1 << 60).to_bytes(8, "big"))
    )
    if spm is not None:
        # NAKs and NCFs upstream/downstream that name the real source.
        packets.append(
            pgm.encode_nak(pgm.NCF, spm.gsi, spm.sport, port, [1, 2, 3], spm.nla, "239.1.1.1")
        )
        packets.append(pgm.encode_spmr(spm.gsi, port, spm.sport))
    return packets


def malformed(args: dict[str, Any]) -> dict[str, Any]:
    """A legitimate stream while an attacker sends hostile packets to the group."""
    endpoint = args["endpoint"]
    group, port = _group_port(endpoint)
    stop = threading.Event()
    listening, striking = threading.Event(), threading.Event()
    sent = [0]

    def attack() -> None:
        spm = _learn_source(group, port, listening)
        striking.set()
        rng = random.Random(7)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        while not stop.is_set():
            for data in _hostile_packets(rng, spm, port):
                sock.sendto(data, (group, port))
                sent[0] += 1
            time.sleep(0.002)
        sock.close()

    result = _pair_with(args, attack, stop, listening, striking)
    result["attack_packets"] = sent[0]
    return result


def _pair_with(
    args: dict[str, Any],
    attack: Any,
    stop: threading.Event,
    listening: threading.Event,
    striking: threading.Event,
) -> dict[str, Any]:
    """``pair`` with ``attack`` running in a thread from the first message to the end.  The
    attacker is in the group before the publisher joins (so it hears the publisher's first
    SPMs), and the stream starts once it strikes, however long a loaded machine takes."""
    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    try:
        assert listening.wait(10), "the attacker could not join the group"
        return pair(args, lambda: striking.wait(15))
    finally:
        stop.set()
        attacker.join(5)


def nak_storm(args: dict[str, Any]) -> dict[str, Any]:
    """A legitimate stream while an attacker floods the publisher with NAKs: valid ones for
    the whole window, repeated; ones naming another address; ones for absurd sequence
    numbers.  The publisher's repairs must stay within RATE and the subscriber be served."""
    endpoint = args["endpoint"]
    group, port = _group_port(endpoint)
    stop = threading.Event()
    listening, striking = threading.Event(), threading.Event()
    sent = [0]

    def attack() -> None:
        spm = _learn_source(group, port, listening)
        striking.set()
        if spm is None:
            return  # the test then fails: no NAK reached the publisher
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rng = random.Random(3)
        target = (spm.nla, port)
        while not stop.is_set():
            lead = spm.lead if spm.lead != 0xFFFFFFFF else 0
            for _ in range(50):
                base = rng.randrange(0, max(1, lead + 200))
                sqns = [(base + i) & 0xFFFFFFFF for i in range(63)]
                sock.sendto(
                    pgm.encode_nak(pgm.NAK, spm.gsi, port, spm.sport, sqns, spm.nla, group),
                    target,
                )
                sock.sendto(
                    pgm.encode_nak(
                        pgm.NAK, spm.gsi, port, spm.sport, [rng.randrange(1 << 32)], spm.nla, group
                    ),
                    target,
                )
                sock.sendto(
                    pgm.encode_nak(pgm.NAK, spm.gsi, port, spm.sport, [1], "10.9.9.9", group),
                    target,
                )
                sock.sendto(pgm.encode_spmr(spm.gsi, port, spm.sport), target)
                sent[0] += 4
            time.sleep(0.001)
        sock.close()

    started = time.monotonic()
    result = _pair_with(args, attack, stop, listening, striking)
    result["elapsed"] = time.monotonic() - started
    result["attack_packets"] = sent[0]
    return result


if __name__ == "__main__":
    scenario = {
        "pub": pub,
        "sub": sub,
        "pair": pair,
        "lifecycle": lifecycle,
        "malformed": malformed,
        "nak_storm": nak_storm,
    }[sys.argv[1]]
    report(scenario(json.loads(sys.argv[2])))
