"""Local port forwarding over a paramiko transport (what ``ssh -L`` does), for paramiko_tunnel.

``forward_tunnel(local_port, remote_host, remote_port, transport)`` listens on
127.0.0.1:local_port and relays each accepted connection through a ``direct-tcpip`` channel to
remote_host:remote_port as seen from the ssh server.  It serves until its process ends.
"""

from __future__ import annotations

import logging
import select
import socketserver
from typing import Any

logger = logging.getLogger("safezmq.ssh")

_CHUNK = 16384


class ForwardServer(socketserver.ThreadingTCPServer):
    """Accepts local connections, one relay thread each."""

    daemon_threads = True
    allow_reuse_address = True


class Handler(socketserver.BaseRequestHandler):
    """Relays one local connection through one ssh channel, both ways, until either side ends."""

    ssh_transport: Any  # a paramiko.Transport (paramiko is optional and untyped)
    chain_host: str
    chain_port: int

    def handle(self) -> None:
        target = (self.chain_host, self.chain_port)
        try:
            chan = self.ssh_transport.open_channel(
                "direct-tcpip", target, self.request.getpeername()
            )
        except Exception as exc:
            logger.debug("forwarding to %s:%d failed: %r", *target, exc)
            return
        if chan is None:
            logger.debug("the ssh server refused forwarding to %s:%d", *target)
            return
        try:
            self._relay(chan)
        finally:
            chan.close()
            self.request.close()

    def _relay(self, chan: Any) -> None:
        local = self.request
        while True:
            readable, _, _ = select.select([local, chan], [], [])
            if local in readable:
                data = local.recv(_CHUNK)
                if not data:
                    return
                chan.sendall(data)
            if chan in readable:
                data = chan.recv(_CHUNK)
                if not data:
                    return
                local.sendall(data)


def forward_tunnel(
    local_port: int,
    remote_host: str,
    remote_port: int,
    transport: Any,
) -> None:
    """Serve 127.0.0.1:local_port, forwarding to remote_host:remote_port through transport."""

    # socketserver builds the handler itself, so the target travels as class attributes.
    class _Handler(Handler):
        chain_host = remote_host
        chain_port = remote_port
        ssh_transport = transport

    with ForwardServer(("127.0.0.1", local_port), _Handler) as server:
        server.serve_forever()


__all__ = ["forward_tunnel"]
