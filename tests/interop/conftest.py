from __future__ import annotations

from collections.abc import Iterator

import pytest
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator


@pytest.fixture
def zctx() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def authenticator(zctx: zmq.Context) -> Iterator[ThreadAuthenticator]:
    """pyzmq's own ZAP handler on the libzmq side."""
    auth = ThreadAuthenticator(zctx)
    auth.start()
    yield auth
    auth.stop()
