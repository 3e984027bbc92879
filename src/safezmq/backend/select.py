"""``zmq.backend.select``: pyzmq's choice between its compiled backends.

safezmq has one backend, itself: ``select_backend`` returns the names of ``safezmq.backend``
whatever module name it is given, and says so when that name is not safezmq's (code that asks
for ``"zmq.backend.cython"`` by name gets safezmq's objects, never a C layer).
"""

from __future__ import annotations

from typing import Any

#: The names a backend provides (pyzmq's list; safezmq.backend has each of them).
public_api = [
    "Context",
    "Socket",
    "Frame",
    "Message",
    "proxy",
    "proxy_steerable",
    "zmq_poll",
    "strerror",
    "zmq_errno",
    "has",
    "curve_keypair",
    "curve_public",
    "zmq_version_info",
    "IPC_PATH_MAX_LEN",
    "PYZMQ_DRAFT_API",
]


def select_backend(name: str) -> dict[str, Any]:
    """The backend's namespace: safezmq's own objects (``name`` is accepted for pyzmq's sake:
    there is no compiled backend to choose)."""
    from .. import backend

    namespace = {"monitored_queue": getattr(backend, "monitored_queue")}  # noqa: B009 (private)
    namespace.update({key: getattr(backend, key) for key in public_api})
    return namespace


__all__ = ["public_api", "select_backend"]
