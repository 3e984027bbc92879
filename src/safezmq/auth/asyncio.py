"""A ZAP handler on the running asyncio loop (pyzmq's ``zmq.auth.asyncio.AsyncioAuthenticator``).

Its socket is a ``safezmq.asyncio`` REP socket; a task on the loop awaits each request and
answers it.  Credentials providers may be coroutines.  ``start()`` and ``stop()`` must be called
from the loop (``start()`` needs it running, to create the task).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from typing import Any

from ..context import Context
from ..error import ContextTerminated, ZMQError
from .base import Authenticator


class AsyncioAuthenticator(Authenticator):
    """ZAP authentication for use in the asyncio event loop."""

    def __init__(
        self,
        context: Context | None = None,
        loop: Any = None,
        encoding: str = "utf-8",
        log: Any = None,
    ) -> None:
        super().__init__(context, encoding, log)
        if loop is not None:
            warnings.warn(
                f"{type(self).__name__}(loop) is deprecated and ignored",
                DeprecationWarning,
                stacklevel=2,
            )
        self._task: asyncio.Task[None] | None = None

    def _socket_class(self) -> Callable[..., Any]:
        from ..asyncio import Socket

        return Socket

    def start(self) -> None:
        """Bind the ZAP socket and start answering it on the running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "AsyncioAuthenticator.start() must be called from a running event loop"
            ) from None
        if self._task is not None and not self._task.done():
            raise RuntimeError("this authenticator is already running; stop() it first")
        super().start()
        self._task = loop.create_task(self._serve(self.zap_socket))

    async def _serve(self, sock: Any) -> None:
        while True:
            try:
                msg = await sock.recv_multipart()
            except ContextTerminated:
                sock.close()  # so that term() can finish
                return
            except ZMQError as exc:
                if not sock.closed:
                    self.log.error("ZAP handler stopped: %s", exc)
                return
            await self.handle_zap_message(msg)

    def stop(self) -> None:
        """Stop answering and close the ZAP socket."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        super().stop()


__all__ = ["AsyncioAuthenticator"]
