"""Resource limits for a small device: a tight Policy, MAXMSGSIZE, HWMs, and what breaks them.

It shows:
1. a Policy sized for a device with little memory, and what audit() says about it;
2. MAXMSGSIZE: a message one byte over the limit makes the receiver drop the connection (the
   monitor shows DISCONNECTED); a message at the limit passes;
3. the pipe limits: SNDHWM/RCVHWM in messages, and the policy's byte budget per pipe, which
   stops a sender first when messages are large;
4. a subscriber that asks a publisher to remember too much (over 8 MiB of subscriptions) is
   disconnected with safezmq's EVENT_LIMIT_EXCEEDED.

Run: ``python examples/embedded_limits.py``
"""

from __future__ import annotations

import sys
import time

import safezmq as zmq
from safezmq.utils.monitor import recv_monitor_message

KIB = 1024

#: A device that handles small telemetry messages.
POLICY = zmq.Policy(
    max_message_size=16 * KIB,  # the default MAXMSGSIZE of every socket of the context
    pipe_max_bytes=64 * KIB,  # bytes queued per pipe direction (default 32 MiB)
    max_connections=8,  # connections per bound endpoint (default 10,000)
    max_pending_handshakes=4,  # handshakes in progress per bound endpoint (default 256)
)


def event_names(monitor: zmq.Socket, until: int, timeout: float = 5.0) -> list[str]:
    """Monitor events (by name) up to and including ``until``."""
    names: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if monitor.poll(50):
            event = recv_monitor_message(monitor)
            names.append(zmq.Event(event["event"]).name)
            if event["event"] == until:
                return names
    raise TimeoutError(f"no {zmq.Event(until).name} event; saw {names}")


def pair_over_tcp(ctx: zmq.Context) -> tuple[zmq.Socket, zmq.Socket]:
    receiver = ctx.socket(zmq.PULL)
    receiver.linger = 0
    receiver.rcvtimeo = 2000
    receiver.bind("tcp://127.0.0.1:*")
    sender = ctx.socket(zmq.PUSH)
    sender.linger = 0
    sender.connect(receiver.last_endpoint.decode())
    sender.send(b"hello")  # wait until the connection is up
    receiver.recv()
    return sender, receiver


def show_maxmsgsize(ctx: zmq.Context) -> bool:
    print("2. MAXMSGSIZE")
    sender, receiver = pair_over_tcp(ctx)
    limit = receiver.maxmsgsize
    print(f"   every socket of this context starts with MAXMSGSIZE {limit} (from the policy)")
    sender.send(bytes(limit))
    print(f"   a message of {limit} B arrives: {len(receiver.recv())} B")
    monitor = receiver.get_monitor_socket()
    sender.send(bytes(limit + 1))
    names = event_names(monitor, zmq.EVENT_DISCONNECTED)
    print(f"   a message of {limit + 1} B: the receiver hangs up ({' -> '.join(names)})")
    if receiver.poll(300):
        print("   UNEXPECTED: the oversized message was delivered")
        return False
    print("   nothing was delivered; the sender reconnects on its own")
    sender.close()
    receiver.close()
    return True


def fill(sender: zmq.Socket, size: int) -> int:
    """Messages of ``size`` bytes sent (DONTWAIT) until the pipe is full."""
    sent = 0
    while True:
        try:
            sender.send(bytes(size), zmq.DONTWAIT)
        except zmq.Again:
            return sent
        sent += 1


def show_pipe_limits(ctx: zmq.Context) -> bool:
    print("3. pipe limits (inproc, nobody reading)")
    ok = True
    for name, hwm, size in (("small", 10, 100), ("large", 1000, 8 * KIB)):
        receiver = ctx.socket(zmq.PULL)
        sender = ctx.socket(zmq.PUSH)
        for sock in (receiver, sender):
            sock.linger = 0
            sock.sndhwm = hwm
            sock.rcvhwm = hwm
        receiver.bind(f"inproc://limits-{name}")
        sender.connect(f"inproc://limits-{name}")
        sent = fill(sender, size)
        # An inproc pipe holds SNDHWM + RCVHWM messages, as in libzmq ...
        # ... and at most the policy's byte budget, whatever the HWM.
        bound = min(2 * hwm, -(-POLICY.pipe_max_bytes // size))
        print(
            f"   HWM {hwm}, {size} B messages: {sent} queued before send() raised Again "
            f"(the {'message HWM' if sent == 2 * hwm else f'{POLICY.pipe_max_bytes} B budget'})"
        )
        ok = ok and sent == bound
        sender.close()
        receiver.close()
    return ok


def show_subscription_cap(ctx: zmq.Context) -> bool:
    print("4. a subscriber that asks the publisher to remember too much")
    publisher = ctx.socket(zmq.PUB)
    publisher.linger = 0
    monitor = publisher.get_monitor_socket(zmq.EVENT_LIMIT_EXCEEDED)
    publisher.bind("tcp://127.0.0.1:*")
    flooder = ctx.socket(zmq.SUB)
    flooder.linger = 0
    flooder.reconnect_ivl = -1
    flooder.connect(publisher.last_endpoint.decode())
    # Each subscription must fit the publisher's MAXMSGSIZE (16 KiB here: a bigger one just
    # gets the connection dropped); 600 of 15 KB are more than the 8 MiB a subscriber may hold.
    for i in range(600):
        flooder.subscribe(b"%05d" % i + bytes(15_000))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        publisher.send(b"tick")  # a PUB handles subscriptions during its own calls
        if monitor.poll(50):
            event = recv_monitor_message(monitor)
            print(
                f"   publisher monitor: LIMIT_EXCEEDED, value {event['value']} (2: subscription "
                "bytes; 1: subscription count) -> the subscriber is disconnected"
            )
            return event["value"] == 2
    print("   UNEXPECTED: no LIMIT_EXCEEDED event")
    return False


def main() -> int:
    ctx = zmq.Context(policy=POLICY)
    ctx.max_sockets = 16  # sockets per context (libzmq's ZMQ_MAX_SOCKETS, default 1023)
    try:
        print("1. the policy")
        for name, value, default in POLICY.relaxations():
            print(f"   {name} = {value} (default {default})")
        print("   audit() lists changed limits too, as low-severity findings:")
        for finding in ctx.audit():
            print(f"     {finding}")
        ok = show_maxmsgsize(ctx) and show_pipe_limits(ctx) and show_subscription_cap(ctx)
        print("embedded limits OK" if ok else "embedded limits FAILED")
        return 0 if ok else 1
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main())
