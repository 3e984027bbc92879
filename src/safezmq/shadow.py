"""What a shadow Context or Socket is made of (pyzmq's ``shadow=`` and ``.underlying``).

pyzmq shadows a libzmq object by its C address.  safezmq has no C objects: ``underlying`` is a
key into a table of live objects, and shadowing means sharing the live object's state.
"""

from __future__ import annotations

import weakref
from typing import TypeVar

from .constants import Errno
from .error import ZMQError

T = TypeVar("T")


def shadowed(
    shadow: object, kind: type[T], live: weakref.WeakValueDictionary[int, T], noun: str
) -> T:
    """The ``kind`` object ``shadow`` stands for: the object itself, or the live object whose
    ``underlying`` it is (``noun`` names the kind in messages: "context", "socket")."""
    if isinstance(shadow, kind):
        return shadow
    if isinstance(shadow, int) and not isinstance(shadow, bool):
        target = live.get(shadow)
        if target is not None:
            return target
        raise ZMQError(
            Errno.EFAULT,
            f"cannot shadow {shadow:#x}: it is not the `underlying` of a live safezmq {noun}. "
            f"safezmq has no C objects, so it cannot shadow a libzmq {noun} by address; pass a "
            f"safezmq {kind.__name__} (or its .underlying)",
        )
    raise TypeError(
        f"shadow must be a safezmq {kind.__name__} or an int, not {type(shadow).__name__}"
    )
