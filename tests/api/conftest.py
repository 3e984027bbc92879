"""Fixtures of the pyzmq-compatibility tests: ``lib`` is pyzmq or safezmq (see compat.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.compat import LIBS


@pytest.fixture(params=LIBS)
def lib(request: pytest.FixtureRequest) -> Any:
    """The module under test: ``zmq`` (pyzmq, the reference) or ``safezmq``."""
    return request.param


@pytest.fixture
def lib_ctx(lib: Any) -> Iterator[Any]:
    """A context of ``lib``, destroyed with LINGER 0 after the test."""
    context = lib.Context()
    yield context
    context.destroy(linger=0)
