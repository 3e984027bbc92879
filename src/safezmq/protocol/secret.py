"""A container for secrets that never shows its content.

CURVE secret keys and PLAIN passwords live in a ``Secret``: its repr and str are redacted, it
cannot be pickled by accident, and equality is constant-time.  Code that needs the bytes asks
for them explicitly with ``reveal()``, which makes every use of a secret easy to audit.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")


class Secret:
    """Secret bytes (a key or a password), redacted in repr/str."""

    __slots__ = ("_derived", "_value", "kind")

    def __init__(self, value: bytes, kind: str = "secret") -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"a {kind} must be bytes, not {type(value).__name__}")
        self._value = bytes(value)
        self.kind = kind
        self._derived: dict[Callable[[bytes], Any], Any] | None = None

    def reveal(self) -> bytes:
        """The secret bytes.  Call this only where the secret is used, never to display it."""
        return self._value

    def derive(self, fn: Callable[[bytes], T]) -> T:
        """``fn(secret bytes)``, computed on the first call for each ``fn`` and kept: for what
        may be kept and costs to compute, such as the public key of a secret key (a socket's
        key serves every connection).  Never for anything that would itself be secret."""
        derived = self._derived
        if derived is None:
            derived = self._derived = {}
        if fn not in derived:
            derived[fn] = fn(self._value)
        result: T = derived[fn]
        return result

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value, other._value)
        if isinstance(other, (bytes, bytearray)):
            return hmac.compare_digest(self._value, bytes(other))
        return NotImplemented

    def __hash__(self) -> int:
        raise TypeError("secrets are not hashable")

    def __repr__(self) -> str:
        return f"<{self.kind}: redacted>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("secrets cannot be pickled")
