"""MonitoredQueue and friends: monitored_queue run as a device."""

from __future__ import annotations

from typing import Any

from ..constants import SocketType
from .monitoredqueue import monitored_queue
from .proxydevice import ProcessProxy, Proxy, ProxyBase, ThreadProxy


class MonitoredQueueBase(ProxyBase):
    """Runs monitored_queue instead of proxy: copies on the monitor socket carry a prefix
    frame per direction, and ROUTER on both sides works."""

    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = SocketType.PUB,
        in_prefix: bytes = b"in",
        out_prefix: bytes = b"out",
        **kwargs: Any,
    ) -> None:
        super().__init__(in_type=in_type, out_type=out_type, mon_type=mon_type, **kwargs)
        self._in_prefix = in_prefix
        self._out_prefix = out_prefix

    def run_device(self) -> None:
        ins, outs, mons = self._setup_proxy_sockets()
        monitored_queue(ins, outs, mons, self._in_prefix, self._out_prefix)


class MonitoredQueue(MonitoredQueueBase, Proxy):
    """A monitored queue run in this thread by ``start()``."""


class ThreadMonitoredQueue(MonitoredQueueBase, ThreadProxy):
    """A monitored queue run in a background thread."""


class ProcessMonitoredQueue(MonitoredQueueBase, ProcessProxy):
    """A monitored queue run in a child process."""


__all__ = ["MonitoredQueue", "ProcessMonitoredQueue", "ThreadMonitoredQueue"]
