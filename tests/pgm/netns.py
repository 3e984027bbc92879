"""Private networks with multicast for the PGM tests: Linux network namespaces.

Multicast needs an interface with MULTICAST set and a route for 224.0.0.0/4; changing the host's
own network for that would touch everything else on the machine.  So each test module builds
its own network and removes it afterwards:

- ``loopback_namespace()``: one namespace whose ``lo`` carries multicast (safezmq to safezmq in
  one process);
- ``veth_pair()``: two namespaces joined by a veth pair, 10.77.N.1 and 10.77.N.2 (safezmq in one,
  libzmq in the other: libzmq's PGM never loops its own multicast back to its host).

Both need root (CAP_SYS_ADMIN) and a kernel with network namespaces; ``unavailable()`` says why
not when the kernel refuses, and the tests skip with that reason.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"
_serial = itertools.count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None if they can."""
    if not sys.platform.startswith("linux"):
        return "multicast tests need Linux network namespaces"
    if shutil.which("ip") is None:
        return "the 'ip' command (iproute2) is not installed"
    name = f"szprobe{os.getpid()}"
    probe = _ip("netns", "add", name, check=False)
    if probe.returncode != 0:
        return (
            "the kernel refused to create a network namespace for the multicast tests "
            f"({probe.stderr.strip() or 'ip netns add failed'}); they need root "
            "(CAP_SYS_ADMIN) and network namespaces"
        )
    _ip("netns", "del", name, check=False)
    return None


@dataclass
class Namespace:
    name: str
    address: str  # the IPv4 address of its multicast interface
    interface: str

    def command(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def scenario(self, name: str, args: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        """Run a safezmq scenario (scenarios.py) here and return its result."""
        proc = subprocess.run(
            self.command(sys.executable, str(HERE / "scenarios.py"), name, json.dumps(args)),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        return _result(proc.stdout, proc.stderr, proc.returncode)

    def start_scenario(self, name: str, args: dict[str, Any]) -> subprocess.Popen[str]:
        """Start a safezmq scenario here (one that prints READY, e.g. ``sub``)."""
        return self.start([sys.executable, str(HERE / "scenarios.py"), name, json.dumps(args)])

    def start(self, argv: list[str]) -> subprocess.Popen[str]:
        """Start a peer here; returns once it printed READY (or ended)."""
        proc = subprocess.Popen(
            self.command(*argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=HERE,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY"):
                break
        return proc


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    """The result of a peer started with ``Namespace.start``."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return _result(out, err, proc.returncode)


def stop(proc: subprocess.Popen[str]) -> None:
    """End a peer whose result is not needed (a publisher staying to answer NAKs)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def _result(out: str, err: str, code: int | None) -> dict[str, Any]:
    for line in reversed(out.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise AssertionError(f"no result (exit status {code}):\n{out[-3000:]}\n{err[-3000:]}")


def libzmq_peer(role: str, args: dict[str, Any]) -> list[str]:
    """The command line of libzmq_peer.py under the system's Python."""
    return [SYSTEM_PYTHON, str(HERE / "libzmq_peer.py"), role, json.dumps(args)]


def libzmq_with_pgm() -> str | None:
    """Why the system's libzmq cannot speak PGM here, or None if it can."""
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} is missing"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import zmq; print(zmq.zmq_version(), zmq.has('pgm'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        return (
            "the system's Python has no pyzmq: install Debian's python3-zmq (apt-get install "
            "python3-zmq; .ci/run does), whose libzmq is built with OpenPGM"
        )
    if not probe.stdout.strip().endswith("True"):
        return f"the system's libzmq ({probe.stdout.strip()}) was built without OpenPGM"
    return None


@contextmanager
def loopback_namespace() -> Iterator[Namespace]:
    name = f"szpgm{os.getpid()}x{next(_serial)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "set", "lo", "multicast", "on")
        _ip("-n", name, "route", "add", "224.0.0.0/4", "dev", "lo")
        yield Namespace(name, "127.0.0.1", "lo")
    finally:
        _ip("netns", "del", name, check=False)


@contextmanager
def veth_pair() -> Iterator[tuple[Namespace, Namespace]]:
    n = next(_serial)
    tag = f"{os.getpid() % 10000}x{n}"
    names = (f"szpgmA{tag}", f"szpgmB{tag}")
    links = (f"szA{tag}", f"szB{tag}")
    subnet = 10 + (os.getpid() + n) % 240
    addresses = (f"10.77.{subnet}.1", f"10.77.{subnet}.2")
    made: list[str] = []
    try:
        for name in names:
            _ip("netns", "add", name)
            made.append(name)
        _ip("link", "add", links[0], "type", "veth", "peer", "name", links[1])
        for name, link, address in zip(names, links, addresses, strict=True):
            _ip("link", "set", link, "netns", name)
            _ip("-n", name, "addr", "add", f"{address}/24", "dev", link)
            _ip("-n", name, "link", "set", link, "up")
            _ip("-n", name, "link", "set", "lo", "up")
            _ip("-n", name, "route", "add", "224.0.0.0/4", "dev", link)
        yield (
            Namespace(names[0], addresses[0], links[0]),
            Namespace(names[1], addresses[1], links[1]),
        )
    finally:
        for name in made:
            _ip("netns", "del", name, check=False)  # also removes the veth pair
