"""Fixtures shared by the runtime tests."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable, Iterator

import pytest

import safezmq

_counter = itertools.count()


@pytest.fixture
def ctx() -> Iterator[safezmq.Context]:
    context = safezmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def ipc_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="sz-test-") as directory:
        yield directory


EndpointFactory = Callable[[], str]


@pytest.fixture
def endpoints(ipc_dir: str) -> Callable[[str], str]:
    """endpoints(transport) -> a fresh bindable address for that transport."""

    def make(transport: str) -> str:
        n = next(_counter)
        if transport == "tcp":
            return "tcp://127.0.0.1:*"
        if transport == "ipc":
            return f"ipc://{os.path.join(ipc_dir, f's{n}')}"
        return f"inproc://test-{os.getpid()}-{n}"

    return make


def bind(sock: safezmq.Socket, address: str) -> str:
    """Bind and return the connectable endpoint (the real port for tcp://...:*)."""
    sock.bind(address)
    return sock.getsockopt_string(safezmq.LAST_ENDPOINT)
