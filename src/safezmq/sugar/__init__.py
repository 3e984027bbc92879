"""pyzmq's ``zmq.sugar`` layout, as aliases of safezmq's own classes (``zmq.sugar.context.
Context is zmq.Context``), for code and tests that import from there."""

from __future__ import annotations

from .. import error
from ..error import *  # noqa: F403
from ..proxy import device
from . import attrsettr, context, frame, poll, socket, stopwatch, tracker, version  # noqa: F401
from .context import *  # noqa: F403
from .frame import *  # noqa: F403
from .poll import *  # noqa: F403
from .socket import *  # noqa: F403
from .stopwatch import Stopwatch
from .tracker import *  # noqa: F403
from .version import *  # noqa: F403

__all__: list[str] = [
    "device",
    *error.__all__,
    *context.__all__,
    *frame.__all__,
    *poll.__all__,
    *socket.__all__,
    *tracker.__all__,
    *version.__all__,
    "Stopwatch",
]
