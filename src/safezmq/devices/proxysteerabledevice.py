"""ProxySteerable and friends: a Proxy with a control socket (PAUSE/RESUME/TERMINATE/
STATISTICS, see ``safezmq.proxy_steerable``)."""

from __future__ import annotations

from typing import Any

from ..constants import SocketType
from ..proxy import proxy_steerable
from .basedevice import SocketPlan
from .proxydevice import ProcessProxy, Proxy, ProxyBase, ThreadProxy


class ProxySteerableBase(ProxyBase):
    """Adds the control socket (``*_ctrl`` methods).  With ``ctrl_type`` None there is no
    control socket and the device behaves exactly like a Proxy."""

    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = SocketType.PUB,
        ctrl_type: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(in_type=in_type, out_type=out_type, mon_type=mon_type, **kwargs)
        self.ctrl_type = ctrl_type
        self._plans["ctrl"] = SocketPlan()

    def bind_ctrl(self, addr: str) -> None:
        """Bind the control socket to ``addr`` once it exists."""
        self._plans["ctrl"].binds.append(addr)

    def connect_ctrl(self, addr: str) -> None:
        """Connect the control socket to ``addr`` once it exists."""
        self._plans["ctrl"].connects.append(addr)

    def setsockopt_ctrl(self, opt: int, value: Any) -> None:
        """Set an option on the control socket once it exists (before any bind or connect)."""
        self._plans["ctrl"].sockopts.append((opt, value))

    def bind_ctrl_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a free port on ``addr`` (``tcp://host``) for the control socket."""
        return self._bind_random("ctrl", addr, *args, **kwargs)

    def run_device(self) -> None:
        ins, outs, mons = self._setup_proxy_sockets()
        ctrls = None if self.ctrl_type is None else self._new_socket("ctrl", self.ctrl_type)
        proxy_steerable(ins, outs, mons, ctrls)


class ProxySteerable(ProxySteerableBase, Proxy):
    """A steerable proxy run in this thread by ``start()``; ends on TERMINATE."""


class ThreadProxySteerable(ProxySteerableBase, ThreadProxy):
    """A ProxySteerable run in a background thread."""


class ProcessProxySteerable(ProxySteerableBase, ProcessProxy):
    """A ProxySteerable run in a child process."""


__all__ = ["ProcessProxySteerable", "ProxySteerable", "ThreadProxySteerable"]
