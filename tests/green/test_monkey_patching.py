"""safezmq.green with and without gevent's monkey-patching, each in a fresh interpreter (the
patching must not leak into the other tests).

Patched, ``threading``, ``socket``, ``select`` and ``selectors`` are gevent's: a patched
Thread is a greenlet, so the context's I/O loop must still get a native thread (asyncio allows
one running loop per OS thread, so two contexts would otherwise fail), with an unpatched
selector and an executor whose getaddrinfo (tcp://localhost) is not a greenlet that never runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = r"""
import sys
PATCHED = sys.argv[1] == "patched"
if PATCHED:
    from gevent import monkey
    monkey.patch_all()

import os, socket, tempfile, threading, time
import gevent
from gevent.monkey import get_original, is_module_patched
import safezmq.green as zmq

assert is_module_patched("threading") == PATCHED
assert is_module_patched("socket") == PATCHED
native_ident = get_original("_thread", "get_ident")

ticks = [0]
def tick():
    while True:
        gevent.sleep(0.001)
        ticks[0] += 1
ticker = gevent.spawn(tick)
gevent.sleep(0)

# Two contexts, each with its I/O loop in a native thread of its own.
contexts = [zmq.Context(), zmq.Context()]
runners = [c._runner() for c in contexts]
assert runners[0] is not runners[1]
for runner in runners:
    assert not runner.in_loop_thread()
    assert runner.call(native_ident) != native_ident()
    assert runner.call(runner.in_loop_thread) is True
assert runners[0].call(native_ident) != runners[1].call(native_ident)

ipc_dir = tempfile.mkdtemp()

def round_trips(ctx, server_addr, client_addr, n_greenlets, n_trips):
    def server(rep):
        for _ in range(n_greenlets * n_trips):
            ident, empty, body = rep.recv_multipart()
            rep.send_multipart([ident, empty, body + b"!"])
    def client(i):
        req = ctx.socket(zmq.REQ)
        req.linger = 0
        req.connect(client_addr)
        for j in range(n_trips):
            req.send(b"%d.%d" % (i, j))
            assert req.recv() == b"%d.%d!" % (i, j)
        req.close()
    rep = ctx.socket(zmq.ROUTER)
    rep.linger = 0
    rep.bind(server_addr)
    addr = rep.getsockopt_string(zmq.LAST_ENDPOINT)
    if client_addr is None:
        client_addr = addr
    elif client_addr == "tcp://localhost":
        client_addr += ":" + addr.rsplit(":", 1)[1]
    srv = gevent.spawn(server, rep)
    gevent.joinall([gevent.spawn(client, i) for i in range(n_greenlets)], timeout=30,
                   raise_error=True)
    srv.get(timeout=10)
    rep.close()

before = ticks[0]
ctx_a, ctx_b = contexts
round_trips(ctx_a, "tcp://127.0.0.1:*", None, 100, 5)
round_trips(ctx_b, "tcp://127.0.0.1:*", "tcp://localhost", 20, 2)  # getaddrinfo on the loop
round_trips(ctx_a, f"ipc://{ipc_dir}/s", None, 50, 3)
round_trips(ctx_b, "inproc://rt", None, 100, 5)
assert ticks[0] > before

# Across contexts (each its own I/O thread) over tcp.
pull = ctx_a.socket(zmq.PULL); pull.linger = 0
pull.bind("tcp://127.0.0.1:*")
push = ctx_b.socket(zmq.PUSH); push.linger = 0
push.connect(pull.getsockopt_string(zmq.LAST_ENDPOINT))
gevent.spawn_later(0.05, push.send, b"across")
assert pull.recv() == b"across"

# RCVTIMEO honoured, the hub running meanwhile.
import warnings
warnings.simplefilter("ignore", UserWarning)
pull.rcvtimeo = 100
before, start = ticks[0], time.monotonic()
try:
    pull.recv()
    raise AssertionError("no timeout")
except zmq.Again:
    pass
assert time.monotonic() - start >= 0.09 and ticks[0] > before

# Poller over a zmq socket and a (patched, when patched) socketpair.
left, right = socket.socketpair()
poller = zmq.Poller()
poller.register(pull, zmq.POLLIN)
poller.register(left, zmq.POLLIN)
assert poller.poll(30) == []
gevent.spawn_later(0.05, right.send, b"raw")
assert poller.poll(5000) == [(left.fileno(), zmq.POLLIN)]
left.recv(3)
gevent.spawn_later(0.05, push.send, b"zmq")
assert poller.poll(5000) == [(pull, zmq.POLLIN)]
assert pull.recv() == b"zmq"

# A device in a greenlet.
front = ctx_a.socket(zmq.ROUTER); front.linger = 0; front.bind("inproc://front")
back = ctx_a.socket(zmq.DEALER); back.linger = 0; back.bind("inproc://back")
device = gevent.spawn(zmq.device, zmq.QUEUE, front, back)
def worker():
    rep = ctx_a.socket(zmq.REP); rep.linger = 0; rep.connect("inproc://back")
    rep.send(rep.recv() * 2)
    rep.close()
w = gevent.spawn(worker)
req = ctx_a.socket(zmq.REQ); req.linger = 0; req.connect("inproc://front")
req.send(b"ab")
assert req.recv() == b"abab"
w.get(timeout=5)
device.kill()

# term() with a greenlet blocked in recv: it gets ETERM and closes; term returns.
for sock in (pull, push, left, right, front, back, req):
    sock.close()
def blocked(ctx):
    s = ctx.socket(zmq.PULL); s.bind("inproc://blocked")
    try:
        s.recv()
    except zmq.ContextTerminated:
        return "ETERM"
    finally:
        s.close()
waiter = gevent.spawn(blocked, ctx_b)
gevent.sleep(0.02)
with gevent.Timeout(10):
    ctx_b.term()
    ctx_a.term()
assert waiter.get(timeout=5) == "ETERM"
ticker.kill()
print("OK", ticks[0])
"""


#: Contexts come and go: each leaves no thread and no descriptor behind (patched, a tcp
#: connect resolves its address and an accept makes a gevent socket in the I/O thread: neither
#: may leave a hub or a resolver thread pool there).
RELEASE = r"""
import os, sys
if sys.argv[1] == "patched":
    from gevent import monkey
    monkey.patch_all()
import gevent
import safezmq.green as zmq

def threads():
    return len(os.listdir("/proc/self/task"))

def fds():
    return len(os.listdir("/proc/self/fd"))

for i in range(25):
    ctx = zmq.Context()
    a = ctx.socket(zmq.PAIR); a.linger = 0; a.bind("tcp://127.0.0.1:*")
    b = ctx.socket(zmq.PAIR); b.linger = 0; b.connect(a.LAST_ENDPOINT.decode())
    b.send(b"x")
    assert a.recv() == b"x"
    a.close(); b.close(); ctx.term()
    if i == 4:
        base = threads(), fds()
gevent.sleep(0.05)
# Nothing accumulates over the next 20 contexts (a thread or two may still be finishing when
# the base is counted).
assert threads() <= base[0], (base, threads())
assert fds() <= base[1] + 2, (base, fds())
print("OK", base, threads(), fds())
"""


def run(script: str, mode: str) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", script, mode],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.startswith("OK "), result.stdout + result.stderr[-4000:]


@pytest.mark.parametrize("mode", ["patched", "unpatched"])
def test_scenario(mode: str) -> None:
    run(SCENARIO, mode)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts /proc/self entries")
@pytest.mark.parametrize("mode", ["patched", "unpatched"])
def test_contexts_release_threads_and_descriptors(mode: str) -> None:
    run(RELEASE, mode)


def test_the_green_tests_pass_monkey_patched() -> None:
    """Every other test of this directory, again with everything monkey-patched first."""
    code = (
        "from gevent import monkey\n"
        "monkey.patch_all()\n"
        "import sys, pytest\n"
        "sys.exit(pytest.main(['tests/green', '-q', '-p', 'no:cacheprovider',\n"
        "                      '-k', 'not monkey_patching', '--timeout', '120']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
