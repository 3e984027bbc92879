"""Green devices and proxies: ``zmq.green.device`` and friends block only the calling greenlet.

safezmq's proxy never blocks on a send or receive; it waits only in a Poller, and it takes the
Poller its frontend socket names (``_poller_class``).  A green socket names the green Poller,
so safezmq's own device, proxy and proxy_steerable, given green sockets, wait in the gevent hub
and keep their full behaviour (capture socket, steering, held messages, ETERM).
"""

from __future__ import annotations

from ..proxy import device, proxy, proxy_steerable

__all__ = ["device", "proxy", "proxy_steerable"]
