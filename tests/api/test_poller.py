"""Poller over safezmq sockets and raw descriptors, as pyzmq's: registration, readiness,
timeouts, wake-ups from other threads, and ETERM."""

from __future__ import annotations

import os
import socket as pysocket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import safezmq
from tests.api.compat import PROMPT, inproc_pair, socket, tcp_pipeline


@pytest.fixture
def raw_fds() -> Iterator[tuple[pysocket.socket, pysocket.socket, int, int]]:
    """(left, right) of a socketpair and (read_fd, write_fd) of a pipe."""
    left, right = pysocket.socketpair()
    read_fd, write_fd = os.pipe()
    yield left, right, read_fd, write_fd
    left.close()
    right.close()
    os.close(read_fd)
    os.close(write_fd)


def test_register_modify_unregister(lib: Any, lib_ctx: Any) -> None:
    a = socket(lib_ctx, lib.PULL)
    b = socket(lib_ctx, lib.PUSH)
    poller = lib.Poller()
    poller.register(a, lib.POLLIN)
    poller.register(b)  # default: POLLIN | POLLOUT
    assert poller.sockets == [(a, lib.POLLIN), (b, lib.POLLIN | lib.POLLOUT)]
    poller.register(a, lib.POLLIN | lib.POLLOUT)  # registering again modifies
    poller.modify(b, lib.POLLOUT)
    assert poller.sockets == [(a, lib.POLLIN | lib.POLLOUT), (b, lib.POLLOUT)]
    poller.unregister(a)
    assert poller.sockets == [(b, lib.POLLOUT)]
    poller.register(b, 0)  # flags 0 unregisters
    assert poller.sockets == []
    poller.register(b, 0)  # ...and is harmless for something not registered
    poller.modify(a, 0)
    with pytest.raises(KeyError):
        poller.unregister(a)
    poller.register(a, lib.POLLIN)
    assert poller.sockets == [(a, lib.POLLIN)]  # registration still works after all that


def test_poll_several_sockets(lib: Any, lib_ctx: Any) -> None:
    push1, pull1 = tcp_pipeline(lib, lib_ctx)
    a, b = inproc_pair(lib, lib_ctx, "poller-several")
    lone_push = socket(lib_ctx, lib.PUSH)  # no peer: never writable
    poller = lib.Poller()
    poller.register(pull1, lib.POLLIN)
    poller.register(b, lib.POLLIN)
    poller.register(lone_push, lib.POLLOUT)
    assert poller.poll(0) == []
    push1.send(b"one")
    a.send(b"two")
    ready: dict[Any, int] = {}
    deadline = time.monotonic() + PROMPT
    while len(ready) < 2 and time.monotonic() < deadline:
        ready.update(poller.poll(100))
    assert ready == {pull1: lib.POLLIN, b: lib.POLLIN}
    assert pull1.recv() == b"one" and b.recv() == b"two"
    poller.register(a, lib.POLLOUT)
    assert dict(poller.poll(0)) == {a: lib.POLLOUT}


def test_only_the_registered_events_are_reported(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "poller-events")
    a.send(b"x")
    poller = lib.Poller()
    poller.register(b, lib.POLLOUT)
    assert dict(poller.poll(0)) == {b: lib.POLLOUT}  # readable too, but not asked
    poller.modify(b, lib.POLLIN)
    assert dict(poller.poll(0)) == {b: lib.POLLIN}
    poller.modify(b, lib.POLLIN | lib.POLLOUT)
    assert dict(poller.poll(0)) == {b: lib.POLLIN | lib.POLLOUT}


def test_raw_descriptors(lib: Any, lib_ctx: Any, raw_fds: Any) -> None:
    left, right, read_fd, write_fd = raw_fds
    poller = lib.Poller()
    poller.register(left, lib.POLLIN)  # an object with fileno()
    poller.register(read_fd, lib.POLLIN)  # an int fd
    assert poller.poll(0) == []
    poller.register(write_fd, lib.POLLOUT)
    assert poller.poll(0) == [(write_fd, lib.POLLOUT)]
    right.send(b"!")
    os.write(write_fd, b"?")
    ready = dict(poller.poll(PROMPT * 1000))
    # As pyzmq: raw descriptors are reported by fd number, even when an object was registered.
    assert ready == {left.fileno(): lib.POLLIN, read_fd: lib.POLLIN, write_fd: lib.POLLOUT}


def test_sockets_and_descriptors_together(lib: Any, lib_ctx: Any, raw_fds: Any) -> None:
    left, right, _, _ = raw_fds
    push, pull = tcp_pipeline(lib, lib_ctx)
    poller = lib.Poller()
    poller.register(pull, lib.POLLIN)
    poller.register(left, lib.POLLIN)
    right.send(b"!")
    assert dict(poller.poll(PROMPT * 1000)) == {left.fileno(): lib.POLLIN}
    left.recv(1)
    push.send(b"zmq")
    assert dict(poller.poll(PROMPT * 1000)) == {pull: lib.POLLIN}


def test_a_descriptor_wakes_a_blocked_poll(lib: Any, lib_ctx: Any, raw_fds: Any) -> None:
    _, _, read_fd, write_fd = raw_fds
    pull = socket(lib_ctx, lib.PULL)
    poller = lib.Poller()
    poller.register(pull, lib.POLLIN)
    poller.register(read_fd, lib.POLLIN)
    timer = threading.Timer(0.1, os.write, args=(write_fd, b"x"))
    timer.start()
    try:
        assert poller.poll(None) == [(read_fd, lib.POLLIN)]
    finally:
        timer.join()


def test_unpollable_objects_are_type_errors(lib: Any) -> None:
    poller = lib.Poller()
    poller.register("not a socket", lib.POLLIN)
    with pytest.raises(TypeError):
        poller.poll(0)


@pytest.mark.parametrize("timeout", [0, 50])
def test_timeouts_expire_empty(lib: Any, lib_ctx: Any, timeout: int) -> None:
    _, b = inproc_pair(lib, lib_ctx, f"poller-timeout-{timeout}")
    poller = lib.Poller()
    poller.register(b, lib.POLLIN)
    started = time.monotonic()
    assert poller.poll(timeout) == []
    assert time.monotonic() - started >= timeout / 1000 * 0.8


@pytest.mark.parametrize("timeout", [None, -1, 5000])
def test_readiness_after_a_message_from_another_thread(
    lib: Any, lib_ctx: Any, timeout: int | None
) -> None:
    push, pull = tcp_pipeline(lib, lib_ctx)
    poller = lib.Poller()
    poller.register(pull, lib.POLLIN)
    timer = threading.Timer(0.1, push.send, args=(b"from a thread",))
    timer.start()
    try:
        started = time.monotonic()
        assert poller.poll(timeout) == [(pull, lib.POLLIN)]
        assert time.monotonic() - started < PROMPT
    finally:
        timer.join()
    assert pull.recv(lib.NOBLOCK) == b"from a thread"
    assert poller.poll(0) == []


def test_inproc_message_from_another_thread(lib: Any, lib_ctx: Any) -> None:
    a, b = inproc_pair(lib, lib_ctx, "poller-inproc-thread")
    poller = lib.Poller()
    poller.register(b, lib.POLLIN)

    def sender() -> None:
        time.sleep(0.05)
        a.send(b"hello")

    thread = threading.Thread(target=sender)
    thread.start()
    received = poller.poll(PROMPT * 1000)
    thread.join()
    assert received == [(b, lib.POLLIN)]


def test_poller_on_a_terminated_context_raises_eterm(lib: Any) -> None:
    ctx = lib.Context()
    pull = ctx.socket(lib.PULL)
    pull.bind("inproc://poller-eterm")
    outcome: list[Any] = []

    def blocked() -> None:
        poller = lib.Poller()
        poller.register(pull, lib.POLLIN)
        try:
            outcome.append(poller.poll(None))
        except lib.ContextTerminated as exc:
            outcome.append(exc.errno)
        try:
            pull.poll(0)
        except lib.ContextTerminated as exc:
            outcome.append(exc.errno)
        pull.close(linger=0)

    thread = threading.Thread(target=blocked)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    ctx.term()  # returns once the blocked thread has seen ETERM and closed its socket
    thread.join(PROMPT)
    assert outcome == [lib.ETERM, lib.ETERM]
    assert time.monotonic() - started < PROMPT


def test_polling_a_closed_socket_is_enotsock(ctx: safezmq.Context) -> None:
    sock = socket(ctx, safezmq.PULL)
    poller = safezmq.Poller()
    poller.register(sock, safezmq.POLLIN)
    sock.close()
    with pytest.raises(safezmq.ZMQError) as info:
        poller.poll(0)
    assert info.value.errno == safezmq.ENOTSOCK
