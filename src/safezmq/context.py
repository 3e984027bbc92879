"""Context: the container of sockets, with pyzmq's shape.

A context owns the I/O thread (started on first use by a tcp or ipc socket), the inproc
endpoint registry and the limits on sockets.  It is thread-safe; its sockets are not.
``term()`` wakes every blocked call with ETERM, waits until every socket is closed and their
pending messages are sent (LINGER), then stops the I/O thread.
"""

from __future__ import annotations

import os
import sys
import threading
import types
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .attrs import AttributeOptions
from .constants import ContextOption, Errno, SocketOption, SocketType
from .engine.iothread import IOThread, LoopRunner
from .error import ZMQError
from .policy import Policy
from .protocol.limits import DEFAULT_MAX_MESSAGE_SIZE
from .shadow import shadowed
from .transport import inproc

if TYPE_CHECKING:
    from .core import SocketCore

#: ZMQ_MAX_SOCKETS default (libzmq's) and the hard ceiling (ZMQ_SOCKET_LIMIT).
DEFAULT_MAX_SOCKETS = 1023
SOCKET_LIMIT = 65535

T = TypeVar("T", bound="Context")

#: Live contexts by ``underlying`` (what ``Context.shadow(int)`` looks up).
_LIVE: weakref.WeakValueDictionary[int, Context] = weakref.WeakValueDictionary()


class Context(AttributeOptions):
    """A safezmq context (pyzmq's ``zmq.Context``).

    ``Context(other)`` or ``Context.shadow(other.underlying)`` is another handle on an existing
    context (a *shadow*: the same context, whose collection does not terminate it)."""

    # A shadow shares the __dict__ (all state) of the context it shadows.
    __slots__ = ("_shadow_obj",)

    _instance: ClassVar[Context | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()
    _instance_pid: ClassVar[int | None] = None
    _socket_class: ClassVar[Callable[..., Any] | None] = None
    sockopts: dict[int, Any]
    _policy: Policy

    def __init__(
        self,
        io_threads: int | Context = 1,
        policy: Policy | None = None,
        *,
        shadow: Context | int = 0,
        **kwargs: Any,
    ) -> None:
        if isinstance(io_threads, Context) and not shadow:
            shadow, io_threads = io_threads, 1
        if shadow:
            target = _shadowed(shadow)
            object.__setattr__(self, "_shadow_obj", shadow)
            self.__dict__ = target.__dict__
            return
        object.__setattr__(self, "_shadow_obj", None)
        if not isinstance(io_threads, int) or isinstance(io_threads, bool) or io_threads < 0:
            raise ZMQError(
                Errno.EINVAL, f"io_threads must be a non-negative int, not {io_threads!r}"
            )
        # Rule: no thread waits for another while holding _lock.  The garbage collector runs
        # Socket.__del__ (which takes _lock to report the close) on whichever thread allocates,
        # the I/O thread included; a thread holding _lock while waiting for the I/O thread
        # would then deadlock with it.  Starting the I/O thread waits for it, so that has a
        # lock of its own, which no finalizer takes.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._runner_lock = threading.RLock()
        self._sockets: weakref.WeakSet[SocketCore] = weakref.WeakSet()
        self._open_engines: set[int] = set()
        self._runner_instance: LoopRunner | None = None
        self._zap: Any = None
        self._closed = False
        self._options: dict[int, int] = {
            ContextOption.IO_THREADS: io_threads,
            ContextOption.MAX_SOCKETS: DEFAULT_MAX_SOCKETS,
        }
        self.sockopts = {}
        self._policy = policy if policy is not None else Policy.from_environment()
        self._inproc = inproc.Registry(self)
        _LIVE[id(self.__dict__)] = self
        for name, value in kwargs.items():
            setattr(self, name, value)

    # -- pyzmq API ----------------------------------------------------------------------------

    @classmethod
    def instance(cls: type[T], io_threads: int = 1) -> T:
        """The process-wide context (a fresh one after the previous was terminated).

        As in pyzmq, a subclass shares its parent's instance unless it declares its own
        ``_instance = None``."""
        inst = cls._instance
        if inst is None or inst.closed or cls._instance_pid != os.getpid():
            with cls._instance_lock:
                inst = cls._instance
                if inst is None or inst.closed or cls._instance_pid != os.getpid():
                    inst = cls._instance = cls(io_threads=io_threads)
                    cls._instance_pid = os.getpid()
        return inst  # type: ignore[return-value]

    @classmethod
    def shadow(cls: type[T], address: Context | int) -> T:
        """Another handle on an existing context: a safezmq Context, or its ``underlying``."""
        return cls(shadow=address)

    @classmethod
    def shadow_pyczmq(cls: type[T], ctx: Any) -> T:
        """pyzmq shadows a pyczmq (czmq) context here; safezmq has no C objects to share."""
        raise ZMQError(
            Errno.ENOTSUP,
            "safezmq has no C objects, so it cannot shadow a pyczmq/czmq context; "
            "use a safezmq Context",
        )

    @property
    def underlying(self) -> int:
        """An int naming this context (pyzmq: the libzmq context's address), for shadow()."""
        return id(self.__dict__)

    @property
    def _shadow(self) -> bool:
        return self._shadow_obj is not None

    def __copy__(self: T, memo: Any = None) -> T:
        """A copy of a context is a shadow of it (as in pyzmq)."""
        return type(self).shadow(self.underlying)

    __deepcopy__ = __copy__

    def __reduce__(self) -> Any:
        raise TypeError(
            "a safezmq Context cannot be pickled: it owns threads and sockets of this process"
        )

    def __class_getitem__(cls, item: Any) -> Any:
        """``Context[Socket]``: pyzmq's contexts are generic in their socket class."""
        return types.GenericAlias(cls, item)

    def __dir__(self) -> list[str]:
        """Attributes and, as in pyzmq, the context option names (``ctx.IO_THREADS``)."""
        return sorted({*super().__dir__(), *ContextOption.__members__})

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def policy(self) -> Policy:
        """The secure defaults this context applies (see safezmq.Policy)."""
        return self._policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        if not isinstance(policy, Policy):
            raise TypeError("policy must be a safezmq.Policy")
        self._policy = policy

    @property
    def allow_pickle(self) -> bool:
        """Whether recv_pyobj() may unpickle (a policy item; setting it relaxes the policy)."""
        return self._policy.allow_pickle

    @allow_pickle.setter
    def allow_pickle(self, value: bool) -> None:
        self._policy = self._policy.relax(allow_pickle=bool(value))

    def audit(self) -> list[Any]:
        """Findings about this context's policy and sockets (see safezmq.audit)."""
        from .audit import audit_context

        return audit_context(self)

    def socket(
        self, socket_type: int, socket_class: Callable[..., Any] | None = None, **kwargs: Any
    ) -> Any:
        """A new socket of ``socket_type`` (PUSH, PULL, PAIR, ...); keyword arguments go to
        the socket class (safezmq's sets them as options: ``ctx.socket(PUSH, linger=0)``)."""
        if self._closed:
            # pyzmq's errnos: ENOTSUP from a terminated context, EFAULT from a shadow of one.
            raise ZMQError(
                Errno.EFAULT if self._shadow else Errno.ENOTSUP,
                "the context is terminated; create a new one",
            )
        with self._lock:
            limit = self._options[ContextOption.MAX_SOCKETS]
            # Closed sockets may linger in the WeakSet until the cyclic collector runs: only
            # open ones count, as libzmq frees a closed socket's slot once it is reaped.  They
            # are counted one by one only when the set is that large (creating n sockets was
            # O(n^2) when every creation walked the set).
            sockets = self._sockets
            if len(sockets) >= limit and sum(1 for s in list(sockets) if not s._closed) >= limit:
                raise ZMQError(
                    Errno.EMFILE,
                    f"too many sockets: this context allows {limit} (set MAX_SOCKETS to raise it)",
                )
        if socket_class is None:
            socket_class = self._default_socket_class()
        sock = socket_class(self, socket_type, **kwargs)
        if self._policy.max_message_size != DEFAULT_MAX_MESSAGE_SIZE:
            sock.setsockopt(SocketOption.MAXMSGSIZE, self._policy.max_message_size)
        for opt, value in self.sockopts.items():
            try:
                sock.setsockopt(opt, value)
            except ZMQError:
                pass  # defaults that do not apply to this socket type (pyzmq's behaviour)
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _default_socket_class(self) -> Callable[..., Any]:
        """The class socket() makes: ``_socket_class`` when a subclass sets it (as in pyzmq),
        else safezmq.Socket."""
        if self._socket_class is not None:
            return self._socket_class
        from .socket import Socket

        return Socket

    def term(self) -> None:
        """Terminate: blocked calls raise ETERM; returns once every socket is closed and its
        queued messages are sent (or LINGER expired)."""
        self._terminate_sockets()
        with self._changed:
            while self._open_engines:
                self._changed.wait(0.1)
        runner = self._runner_instance
        if runner is not None:
            runner.stop()
            self._runner_instance = None

    def _terminate_sockets(self) -> None:
        """Mark the context terminated and tell each socket (the first time); return once
        every socket is closed."""
        with self._lock:
            first = not self._closed
            self._closed = True
            sockets = list(self._sockets)
        if first:
            for sock in sockets:
                sock.mailbox.post(sock._context_terminated, None)
        with self._changed:
            while any(not s._closed for s in list(self._sockets)):
                self._changed.wait(0.1)

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket (with ``linger`` if given), then terminate."""
        self._closed = True
        for sock in list(self._sockets):
            if not sock._closed:
                sock._close(linger)
        self.term()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        # As pyzmq: leaving the block destroys the context, warning about each socket that
        # was left open (it is closed now, without lingering past its LINGER).
        for sock in list(self._sockets):
            if not sock._closed:
                warnings.warn(
                    f"destroying context with unclosed socket {sock!r}",
                    ResourceWarning,
                    stacklevel=2,
                    source=sock,
                )
        self.destroy()

    def __del__(self) -> None:
        # The garbage collector runs this on whichever thread it happens to run on, possibly
        # this context's own I/O thread: never wait here (term() would wait for the engines to
        # close on a loop that cannot run, or join its own thread).  Close the sockets without
        # lingering and let the I/O thread stop once it has run what that posted.
        if getattr(self, "_shadow_obj", 1) is not None or getattr(self, "_closed", True):
            return
        if not sys.is_finalizing():
            try:
                warnings.warn(
                    f"unclosed context {self!r}", ResourceWarning, stacklevel=2, source=self
                )
            except Exception:
                pass
        if not getattr(self, "_runner_instance", None):
            self._closed = True
            return
        try:
            self._closed = True
            for sock in list(self._sockets):
                if not sock._closed:
                    sock._close(0)
            runner, self._runner_instance = self._runner_instance, None
            if runner is not None:
                runner.post(runner.stop)
        except Exception:
            pass

    def __repr__(self) -> str:
        from .message import _repr_name

        count = sum(1 for sock in list(self._sockets) if not sock._closed)
        sockets = "" if not count else f"{count} socket{'s' if count > 1 else ''}"
        closed = " closed" if self._closed else ""
        return f"<{_repr_name(self)}({sockets}) at {id(self):#x}{closed}>"

    # -- options ------------------------------------------------------------------------------

    def set(self, option: int, value: int) -> None:
        try:
            opt = ContextOption(option)
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"unknown context option {option!r}") from None
        if opt == ContextOption.MAX_SOCKETS:
            if not isinstance(value, int) or not 1 <= value <= SOCKET_LIMIT:
                raise ZMQError(Errno.EINVAL, f"MAX_SOCKETS must be 1 to {SOCKET_LIMIT}")
        elif opt == ContextOption.IO_THREADS:
            if not isinstance(value, int) or value < 0:
                raise ZMQError(Errno.EINVAL, "IO_THREADS must be a non-negative int")
            if self._runner_instance is not None:
                raise ZMQError(Errno.EINVAL, "IO_THREADS cannot change once sockets use I/O")
        else:
            raise ZMQError(Errno.EINVAL, f"context option {opt.name} is not supported by safezmq")
        self._options[opt] = value

    def get(self, option: int) -> int:
        try:
            opt = ContextOption(option)
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"unknown context option {option!r}") from None
        if opt == ContextOption.SOCKET_LIMIT:
            return SOCKET_LIMIT
        if opt in self._options:
            return self._options[opt]
        raise ZMQError(Errno.EINVAL, f"context option {opt.name} is not supported by safezmq")

    def setsockopt(self, opt: int, value: Any) -> None:
        """A default option for sockets this context creates from now on."""
        self.sockopts[opt] = value

    def getsockopt(self, opt: int) -> Any:
        return self.sockopts[opt]

    def _set_attr_opt(self, name: str, value: Any) -> None:
        if name in ContextOption.__members__:
            self.set(ContextOption[name], value)
        elif name in SocketOption.__members__:
            self.sockopts[SocketOption[name]] = value
        else:
            raise AttributeError(f"no such context or socket option: {name}")

    def _get_attr_opt(self, name: str) -> Any:
        if name in ContextOption.__members__:
            return self.get(ContextOption[name])
        if name in SocketOption.__members__ and SocketOption[name] in self.sockopts:
            return self.sockopts[SocketOption[name]]
        raise AttributeError(name)

    # -- for sockets --------------------------------------------------------------------------

    def _runner(self) -> LoopRunner:
        runner = self._runner_instance
        if runner is None:
            with self._runner_lock:
                runner = self._runner_instance
                if runner is None:
                    runner = self._runner_instance = self._make_runner()
        return runner

    def _make_runner(self) -> LoopRunner:
        return IOThread()

    def _zap_client(self) -> Any:
        """The client sessions use to ask this context's ZAP handler (created on first use)."""
        client = self._zap
        if client is None:
            runner = self._runner()  # not under _lock: it may start the I/O thread
            with self._lock:
                client = self._zap
                if client is None:
                    from .engine.zap import ZapClient

                    client = self._zap = ZapClient(self, runner)
        return client

    def _socket_closed(self, sock: SocketCore, has_engine: bool) -> None:
        with self._changed:
            self._changed.notify_all()

    def _engines_closing(self) -> bool:
        """Whether sockets of this context were closed and their I/O side is still shutting
        down (their listeners may hold addresses a moment longer)."""
        return bool(self._open_engines)

    def _engine_closing(self, sock: SocketCore) -> None:
        with self._lock:
            self._open_engines.add(id(sock))

    def _engine_closed(self, sock: SocketCore) -> None:
        with self._changed:
            self._open_engines.discard(id(sock))
            self._changed.notify_all()

    def _inproc_bind(self, name: str, sock: SocketCore) -> None:
        self._inproc.bind(name, sock)

    def _inproc_connect(self, name: str, sock: SocketCore) -> None:
        self._inproc.connect(name, sock)

    def _inproc_unbind(self, name: str, sock: SocketCore) -> None:
        self._inproc.unbind(name, sock)

    def _inproc_forget(self, sock: SocketCore) -> None:
        self._inproc.forget(sock)


def _shadowed(shadow: Context | int) -> Context:
    """The context a shadow is made of: a Context, or the ``underlying`` of a live one."""
    return shadowed(shadow, Context, _LIVE, "context")


#: pyzmq's name for a context making sockets whose recv returns bytes.
SyncContext = Context

__all__ = ["Context", "SocketType", "SyncContext"]
