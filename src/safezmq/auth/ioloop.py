"""ZAP authentication on the tornado IOLoop (deprecated, as in pyzmq since 25).

tornado runs on asyncio, so this is :class:`safezmq.auth.asyncio.AsyncioAuthenticator` under
its old name; use that instead.
"""

from __future__ import annotations

import warnings
from typing import Any

from .asyncio import AsyncioAuthenticator

warnings.warn(
    "safezmq.auth.ioloop.IOLoopAuthenticator is deprecated; use "
    "safezmq.auth.asyncio.AsyncioAuthenticator (tornado runs on asyncio)",
    DeprecationWarning,
    stacklevel=2,
)


class IOLoopAuthenticator(AsyncioAuthenticator):
    """ZAP authentication on the tornado IOLoop (the running asyncio loop)."""

    def __init__(
        self,
        context: Any = None,
        encoding: str = "utf-8",
        log: Any = None,
        io_loop: Any = None,
    ) -> None:
        if io_loop is not None:
            # Ignored (the authenticator runs on the running asyncio loop, which is the
            # IOLoop's); not passed on, which would warn a second time.
            warnings.warn(
                f"{type(self).__name__}(io_loop) is deprecated and ignored: the authenticator "
                "runs on the asyncio loop under the IOLoop",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(context=context, encoding=encoding, log=log)


__all__ = ["IOLoopAuthenticator"]
