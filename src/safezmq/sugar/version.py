"""Version information with pyzmq's names (``zmq.sugar.version``).

``pyzmq_version()`` is safezmq's own version; ``zmq_version()`` the libzmq version whose wire
behaviour safezmq reproduces."""

from __future__ import annotations

import re

from .. import LIBZMQ_COMPAT_VERSION, __version__

_parts = re.match(r"(\d+)\.(\d+)\.(\d+)(.*)", __version__)
assert _parts is not None, f"unparsable version {__version__!r}"

#: safezmq's own version, split as pyzmq splits its own.
VERSION_MAJOR = int(_parts.group(1))
VERSION_MINOR = int(_parts.group(2))
VERSION_PATCH = int(_parts.group(3))
VERSION_EXTRA = _parts.group(4).lstrip(".")

version_info: tuple[int, int, int] | tuple[int, int, int, float] = (
    (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH, float("inf"))
    if VERSION_EXTRA
    else (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH)
)

#: pyzmq appends a git revision here in development builds; safezmq never does.
__revision__: str = ""


def pyzmq_version() -> str:
    """safezmq's version (pyzmq code asks this name)."""
    return f"{__version__}@{__revision__}" if __revision__ else __version__


def pyzmq_version_info() -> tuple[int, int, int] | tuple[int, int, int, float]:
    """safezmq's version as a tuple; a pre-release or dev version ends with ``inf``."""
    return version_info


def zmq_version_info() -> tuple[int, int, int]:
    """The libzmq version safezmq is compatible with."""
    return LIBZMQ_COMPAT_VERSION


def zmq_version() -> str:
    """The libzmq version safezmq is compatible with, as a string."""
    return ".".join(map(str, LIBZMQ_COMPAT_VERSION))


__all__ = [
    "__revision__",
    "__version__",
    "pyzmq_version",
    "pyzmq_version_info",
    "zmq_version",
    "zmq_version_info",
]
