"""A logging handler that publishes records on a PUB socket (pyzmq's ``zmq.log.handlers``).

Each record goes out as two frames, ``[topic, text]``.  The topic is
``root_topic.LEVELNAME.subtopic`` (empty parts left out), where a message of the form
``"sub.topic::text"`` supplies the subtopic; subscribers filter on its prefix.

The handler adds nothing of its own to a record: what it publishes is what the record's formatter
makes of it, so safezmq's secrets stay as redacted as in safezmq's own log lines.  Publishing
never raises into the code that logged: a socket that cannot send goes to ``handleError``, the
logging module's own way to report a failing handler, and a record logged while the handler is
already publishing on the same thread (safezmq logging about the very send) is dropped rather
than recursing.
"""

from __future__ import annotations

import logging
import sys
import threading
from copy import copy
from typing import Any, Final

from ..constants import SocketType
from ..context import Context
from ..error import ZMQError
from ..socket import Socket

TOPIC_DELIM: Final = "::"
"""Separates a subtopic from the message text: ``log.info("db.query::took %d ms", ms)``."""

_DETAILED: Final = "%(levelname)s %(filename)s:%(lineno)d - %(message)s\n"


class PUBHandler(logging.Handler):
    """Publish log records on a PUB socket.

    ``interface_or_socket`` is either a PUB socket (already bound or connected) or an endpoint
    to bind a new PUB socket to, made in ``context`` (or in a new Context when None).
    """

    formatters: dict[int, logging.Formatter | None]
    ctx: Context
    socket: Socket

    def __init__(
        self,
        interface_or_socket: str | Socket,
        context: Context | None = None,
        root_topic: str = "",
    ) -> None:
        super().__init__()
        self.root_topic = root_topic
        self.formatters = {
            logging.DEBUG: logging.Formatter(_DETAILED),
            logging.INFO: logging.Formatter("%(message)s\n"),
            logging.WARNING: logging.Formatter(_DETAILED),
            logging.ERROR: logging.Formatter(
                "%(levelname)s %(filename)s:%(lineno)d - %(message)s - %(exc_info)s\n"
            ),
            logging.CRITICAL: logging.Formatter(_DETAILED),
        }
        self._publishing = threading.local()
        if isinstance(interface_or_socket, Socket):
            self.socket = interface_or_socket
            self.ctx = self.socket.context
        else:
            self.ctx = context if context is not None else Context()
            self.socket = self.ctx.socket(SocketType.PUB)
            try:
                self.socket.bind(interface_or_socket)
            except BaseException:
                self.socket.close(linger=0)
                raise

    @property
    def root_topic(self) -> str:
        """The first part of every topic published; '' leaves it out."""
        return self._root_topic

    @root_topic.setter
    def root_topic(self, value: str | bytes) -> None:
        self.setRootTopic(value)

    def setRootTopic(self, root_topic: str | bytes) -> None:
        """Set the first part of every topic (bytes are decoded as UTF-8)."""
        if isinstance(root_topic, bytes):
            root_topic = root_topic.decode("utf8")
        self._root_topic = root_topic

    def setFormatter(self, fmt: logging.Formatter | None, level: int = logging.NOTSET) -> None:
        """Use ``fmt`` for records of ``level``, or for every level when level is NOTSET."""
        if level == logging.NOTSET:
            for known in self.formatters:
                self.formatters[known] = fmt
        else:
            self.formatters[level] = fmt

    def format(self, record: logging.LogRecord) -> str:
        """Format with the formatter of the record's level (the handler's default if none)."""
        fmt = self.formatters.get(record.levelno)
        if fmt is None:
            # A level without a formatter of its own (a custom level, or one set to None)
            # falls back to logging's default, as Handler.format does.
            return super().format(record)
        return fmt.format(record)

    def emit(self, record: logging.LogRecord) -> None:
        """Publish ``[topic, formatted record]``."""
        if getattr(self._publishing, "active", False):
            return
        self._publishing.active = True
        try:
            self._publish(record)
        finally:
            self._publishing.active = False

    def _publish(self, record: logging.LogRecord) -> None:
        # The message may be any object whose str() is the text (as LogRecord.getMessage allows).
        subtopic, sep, text = str(record.msg).partition(TOPIC_DELIM)
        if sep:
            # A copy: other handlers of the same logger must still see the original message.
            record = copy(record)
            record.msg = text
        else:
            subtopic = ""
        try:
            body = self.format(record).encode("utf8")
        except Exception:
            self.handleError(record)
            return
        parts = [p for p in (self.root_topic, record.levelname, subtopic) if p]
        topic = ".".join(parts).encode("utf8", "replace")
        try:
            self.socket.send_multipart([topic, body])
        except (ZMQError, OSError):
            # A closed or terminated socket: report it as logging reports a failing handler
            # (to stderr when logging.raiseExceptions), never into the caller's log call.
            self.handleError(record)


# How many of this module's frames stand between the caller and ``Logger._log``, counted as
# ``findCaller`` counts them.  From 3.11 it skips logging's own frames before it applies
# ``stacklevel`` and so sees both ``_topic_log`` and the public method; 3.10 starts its count at a
# fixed depth that already lies past ``_topic_log``, so only the public method is left to skip.
_OWN_FRAMES: Final = 2 if sys.version_info >= (3, 11) else 1


class TopicLogger(logging.Logger):
    """A Logger whose methods take a topic before the message: ``log.info("db", "slow: %s", q)``.

    The topic becomes the subtopic of a ``PUBHandler``'s topic.
    """

    def _topic_log(
        self, level: int, topic: str, msg: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if self.isEnabledFor(level):
            # The record names the caller's line, not this helper's or the public method's.
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + _OWN_FRAMES
            self._log(level, f"{topic}{TOPIC_DELIM}{msg}", args, **kwargs)

    def log(  # type: ignore[override]
        self, level: int, topic: str, msg: str, *args: Any, **kwargs: Any
    ) -> None:
        """Log ``msg % args`` at ``level`` under ``topic``."""
        self._topic_log(level, topic, msg, args, kwargs)

    def debug(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.DEBUG, topic, msg, args, kwargs)

    def info(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.INFO, topic, msg, args, kwargs)

    def warning(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.WARNING, topic, msg, args, kwargs)

    warn = warning  # type: ignore[assignment]

    def error(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.ERROR, topic, msg, args, kwargs)

    def exception(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs.setdefault("exc_info", True)
        self._topic_log(logging.ERROR, topic, msg, args, kwargs)

    def critical(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.CRITICAL, topic, msg, args, kwargs)

    fatal = critical  # type: ignore[assignment]


__all__ = ["TOPIC_DELIM", "PUBHandler", "TopicLogger"]
