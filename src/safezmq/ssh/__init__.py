"""SSH tunnels for ZeroMQ connections (pyzmq's ``zmq.ssh``).

``tunnel_connection(socket, "tcp://10.0.0.5:5555", "user@gateway")`` connects a socket to an
address reachable only from an ssh server, through ``ssh -L``.  openssh_tunnel runs the ssh
command; paramiko_tunnel needs the optional ``ssh`` extra (paramiko), imported only when used.
"""

from .tunnel import (
    MaxRetryExceeded,
    open_tunnel,
    openssh_tunnel,
    paramiko_tunnel,
    select_random_ports,
    ssh_tunnel,
    try_passwordless_ssh,
    tunnel_connection,
)

__all__ = [
    "MaxRetryExceeded",
    "open_tunnel",
    "openssh_tunnel",
    "paramiko_tunnel",
    "select_random_ports",
    "ssh_tunnel",
    "try_passwordless_ssh",
    "tunnel_connection",
]
