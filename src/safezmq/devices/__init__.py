"""Devices: proxies and monitored queues run in the background (pyzmq's ``zmq.devices``).

A device is given socket *types*, not sockets, and creates its sockets in the thread (or
process) that runs it, because sockets are not thread-safe.  ``bind_in``/``connect_out``/
``setsockopt_mon``... record what to do to each socket once it exists.
"""

from __future__ import annotations

from ..constants import DeviceType
from ..proxy import proxy
from .basedevice import Device, ProcessDevice, ThreadDevice
from .monitoredqueue import monitored_queue
from .monitoredqueuedevice import MonitoredQueue, ProcessMonitoredQueue, ThreadMonitoredQueue
from .proxydevice import ProcessProxy, Proxy, ThreadProxy
from .proxysteerabledevice import ProcessProxySteerable, ProxySteerable, ThreadProxySteerable

# pyzmq's names here; its *Base and BackgroundDevice classes live in the submodules only.
__all__ = [
    "Device",
    "DeviceType",
    "MonitoredQueue",
    "ProcessDevice",
    "ProcessMonitoredQueue",
    "ProcessProxy",
    "ProcessProxySteerable",
    "Proxy",
    "ProxySteerable",
    "ThreadDevice",
    "ThreadMonitoredQueue",
    "ThreadProxy",
    "ThreadProxySteerable",
    "monitored_queue",
    "proxy",
]
