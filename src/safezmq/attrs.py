"""Options as attributes (``sock.linger = 0``), as pyzmq offers them."""

from __future__ import annotations

from typing import Any


class AttributeOptions:
    """``obj.name = value`` sets the option NAME unless ``name`` is a real attribute."""

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_") or key in self.__dict__ or _class_has(type(self), key):
            object.__setattr__(self, key, value)
            return
        self._set_attr_opt(key.upper(), value)

    def __getattr__(self, key: str) -> Any:
        # Only called when normal lookup fails: treat it as an option name.
        if key.startswith("_"):
            raise AttributeError(key)
        from .constants import Errno
        from .error import ZMQError

        try:
            return self._get_attr_opt(key.upper())
        except ZMQError as exc:
            # As pyzmq: an option that cannot be read (write-only, or not for this socket)
            # is a missing attribute, so getattr(obj, name, default) and hasattr() work.
            if exc.errno in (Errno.EINVAL, Errno.EFAULT):
                raise AttributeError(f"{key}: {exc.strerror}") from None
            raise

    def _set_attr_opt(self, name: str, value: Any) -> None:
        raise AttributeError(name)

    def _get_attr_opt(self, name: str) -> Any:
        raise AttributeError(name)


def _class_has(cls: type, key: str) -> bool:
    for klass in cls.__mro__:
        if key in klass.__dict__ or key in getattr(klass, "__annotations__", {}):
            return True
    return False
