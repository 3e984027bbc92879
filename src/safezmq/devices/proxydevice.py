"""Proxy, ThreadProxy, ProcessProxy: a device with a third, monitor socket (capture)."""

from __future__ import annotations

from typing import Any

from ..constants import SocketType
from ..proxy import proxy
from ..socket import Socket
from .basedevice import Device, ProcessDevice, SocketPlan, ThreadDevice


class ProxyBase(Device):
    """Adds the monitor socket (``*_mon`` methods) to a Device: every message forwarded
    either way is also sent to it (PUB is the natural choice; any type that sends will do)."""

    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = SocketType.PUB,
        **kwargs: Any,
    ) -> None:
        super().__init__(in_type=in_type, out_type=out_type, **kwargs)
        self.mon_type = mon_type
        self._plans["mon"] = SocketPlan()

    def bind_mon(self, addr: str) -> None:
        """Bind the monitor socket to ``addr`` once it exists."""
        self._plans["mon"].binds.append(addr)

    def connect_mon(self, addr: str) -> None:
        """Connect the monitor socket to ``addr`` once it exists."""
        self._plans["mon"].connects.append(addr)

    def setsockopt_mon(self, opt: int, value: Any) -> None:
        """Set an option on the monitor socket once it exists (before any bind or connect)."""
        self._plans["mon"].sockopts.append((opt, value))

    def bind_mon_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a free port on ``addr`` (``tcp://host``) for the monitor socket."""
        return self._bind_random("mon", addr, *args, **kwargs)

    def _setup_proxy_sockets(self) -> tuple[Socket, Socket, Socket]:
        ins, outs = self._setup_sockets()
        return ins, outs, self._new_socket("mon", self.mon_type)

    def run_device(self) -> None:
        ins, outs, mons = self._setup_proxy_sockets()
        proxy(ins, outs, mons)


class Proxy(ProxyBase, Device):
    """A proxy with a monitor socket, run in this thread by ``start()``."""


class ThreadProxy(ProxyBase, ThreadDevice):
    """A Proxy run in a background thread."""


class ProcessProxy(ProxyBase, ProcessDevice):
    """A Proxy run in a child process."""


__all__ = ["ProcessProxy", "Proxy", "ThreadProxy"]
