"""Fixtures of the tornado-integration tests: ``lib`` is pyzmq or safezmq (tests/api/compat.py),
each with its ``eventloop`` package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq.asyncio  # noqa: F401  (lib.asyncio)

import safezmq.asyncio  # noqa: F401  (lib.asyncio)
from tests.api.compat import LIBS


@pytest.fixture(params=LIBS)
def lib(request: pytest.FixtureRequest) -> Any:
    """The module under test: ``zmq`` (pyzmq, the reference) or ``safezmq``."""
    return request.param


@pytest.fixture
def zmqstream(lib: Any) -> Any:
    """``lib.eventloop.zmqstream``."""
    module = __import__(f"{lib.__name__}.eventloop.zmqstream", fromlist=["ZMQStream"])
    return module


@pytest.fixture
def lib_ctx(lib: Any) -> Iterator[Any]:
    context = lib.Context()
    yield context
    context.destroy(linger=0)
