"""Peer processes for the chaos tests: each prints READY (and what it needs to say) and then
waits to be killed with SIGKILL, so that the survivor sees a real process die."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
from typing import Any

from safezmq.utils.monitor import recv_monitor_message

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def greeting() -> bytes:
    """A ZMTP 3.0 greeting for the NULL mechanism, as a client (RFC 23)."""
    return b"\xff" + bytes(8) + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + bytes(32)


def ready(socket_type: bytes) -> bytes:
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    return bytes([0x04, len(body)]) + body


def frame(body: bytes, more: bool = False) -> bytes:
    return bytes([0x01 if more else 0x00, len(body)]) + body


def raw_push(host: str, port: int, stage: str) -> None:
    """A hand-made ZMTP PUSH peer: stops at ``stage`` ('greeting': mid-handshake; 'message':
    after one whole message, in the middle of a multipart message, inside a frame)."""
    s = socket.create_connection((host, port))
    s.sendall(greeting())
    if stage == "message":
        s.sendall(ready(b"PUSH"))
        s.sendall(frame(b"whole"))
        # A two-part message: the first part whole, the second declared 200 bytes, 10 sent.
        s.sendall(frame(b"part-1", more=True) + bytes([0x00, 200]) + b"0123456789")
    print("READY", flush=True)
    time.sleep(3600)


PULL_PEER = """
import sys, safezmq
ctx = safezmq.Context()
s = ctx.socket(safezmq.PULL)
s.bind(sys.argv[1])
print("READY", s.getsockopt_string(safezmq.LAST_ENDPOINT), flush=True)
while True:
    s.recv()
"""

CURVE_DEALER_PEER = """
import sys, time, safezmq
ctx = safezmq.Context()
s = ctx.socket(safezmq.DEALER)
s.curve_serverkey = sys.argv[2].encode()
s.curve_publickey, s.curve_secretkey = safezmq.curve_keypair()
s.connect(sys.argv[1])
print("READY", flush=True)
time.sleep(3600)
"""


def start_raw(host: str, port: int, stage: str) -> subprocess.Popen[str]:
    return start([os.path.join(HERE, "peers.py"), host, str(port), stage])


def start_code(code: str, *args: str) -> subprocess.Popen[str]:
    return start(["-c", code, *args])


def start(argv: list[str]) -> subprocess.Popen[str]:
    """``python argv`` (a script or -c); returns once it printed READY (the rest of that line
    is in ``proc.ready_line``)."""
    proc = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"peer did not start: {line!r} {err[-2000:]}")
    proc.ready_line = line.split()[1:]  # type: ignore[attr-defined]
    return proc


def kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def events_until(monitor: Any, wanted: int, timeout: float) -> list[dict[str, Any]]:
    """Monitor events up to and including the first ``wanted`` one (AssertionError if none)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if monitor.poll(50):
            ev = recv_monitor_message(monitor)
            seen.append(ev)
            if ev["event"] == wanted:
                return seen
    raise AssertionError(f"no event {wanted} within {timeout} s; saw {seen}")


if __name__ == "__main__":
    raw_push(sys.argv[1], int(sys.argv[2]), sys.argv[3])
