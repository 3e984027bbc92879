"""SSH tunnels for ZeroMQ tcp connections, with pyzmq 27's ``zmq.ssh.tunnel`` interface.

Differences from pyzmq, all on the side of safety:

* the ssh command runs from an argument list (never a shell), with ``--`` before the server so
  a server string cannot be read as an option, and a ``user@host:port`` string is validated;
* pexpect is not needed: a password given as an argument reaches ssh through a one-shot askpass
  pipe (see :mod:`safezmq.ssh.askpass`), never argv, the environment, a log or an exception;
  without one, ssh asks on the terminal itself, as it would for the user;
* host keys are checked as ssh checks them by default.  An unknown host raises SSHException (ssh
  asks on a terminal, where there is one).  paramiko tunnels refuse unknown hosts too, unless
  PYZMQ_PARAMIKO_HOST_KEY_POLICY names another paramiko policy (pyzmq's tunnel process accepted
  any host key with a warning, which gives a password to whoever answers);
* try_passwordless_ssh returns False for every failure to log in, not only a password prompt.
"""

from __future__ import annotations

import atexit
import importlib
import os
import re
import socket as _socket
import subprocess
import sys
import tempfile
from getpass import getpass, getuser
from multiprocessing import Process
from typing import TYPE_CHECKING, Any, Final

from ..constants import Errno
from ..error import ZMQError
from .askpass import AskPass

if TYPE_CHECKING:
    from ..socket import Socket

# How long ssh may take to log in and start forwarding (a person may be typing a password).
_LOGIN_DEADLINE: Final = 120.0
# ssh's own diagnostics are bounded before they go into an exception.
_STDERR_LIMIT: Final = 2000
_HOST_KEY_FAILURES: Final = (b"Host key verification failed", b"authenticity of host")
_HOST_KEY_POLICIES: Final = ("AutoAdd", "Reject", "Warning")
_FORWARD_PID = re.compile(rb"\(pid=(\d+)\)")


class MaxRetryExceeded(Exception):
    """ssh did not finish logging in within the deadline."""


class _FallbackSSHException(Exception):
    """Raised for ssh failures (paramiko's SSHException when paramiko is installed)."""


def _ssh_exception() -> type[Exception]:
    try:
        paramiko = importlib.import_module("paramiko")
    except ImportError:
        return _FallbackSSHException
    found: type[Exception] = paramiko.SSHException
    return found


def __getattr__(name: str) -> Any:
    # SSHException is paramiko's when paramiko is there, as in pyzmq, and the module attribute
    # paramiko is paramiko or None; neither imports paramiko when this module is imported.
    if name == "SSHException":
        return _ssh_exception()
    if name == "paramiko":  # pyzmq's module attribute: paramiko, or None when not installed
        try:
            return importlib.import_module("paramiko")
        except ImportError:
            return None
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def select_random_ports(n: int) -> list[int]:
    """Return n distinct tcp ports that were free when asked (each held until all are picked)."""
    sockets: list[_socket.socket] = []
    try:
        for _ in range(n):
            sock = _socket.socket()
            sockets.append(sock)
            sock.bind(("", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _split_server(server: str) -> tuple[str, str, int]:
    """``[user@]host[:port]`` → (user, host, port); the current user and port 22 by default."""
    username, at, host = server.rpartition("@")
    if not at:
        username = getuser()
    port = 22
    if ":" in host:
        host, _, port_text = host.partition(":")
        port = _parse_port(port_text, server)
    _check_name(host, "host", server)
    _check_name(username, "user", server)
    return username, host, port


def _parse_port(text: str, server: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ZMQError(
            Errno.EINVAL,
            f"ssh server {server!r}: the port must be a number from 1 to 65535, "
            "as in 'user@host:2222'",
        )
    return int(text)


def _check_name(name: str, what: str, server: str) -> None:
    if not name or name.startswith("-") or any(c.isspace() or ord(c) < 32 for c in name):
        raise ZMQError(
            Errno.EINVAL,
            f"ssh server {server!r}: the {what} is empty, starts with '-' or contains "
            "whitespace; give 'user@host' or 'user@host:port'",
        )


def _ssh_base(server: str, keyfile: str | None) -> tuple[list[str], str]:
    """The ssh command's leading options and its destination for ``server``."""
    username, host, port = _split_server(server)
    argv = ["ssh"]
    if keyfile:
        argv += ["-i", os.fspath(keyfile)]
    if ":" in server.rpartition("@")[2]:
        # Only an explicit port: otherwise the port (like the user) comes from ssh's config.
        argv += ["-p", str(port)]
    # Keep the user out of the destination when the caller gave none, as ssh would.
    destination = f"{username}@{host}" if "@" in server else host
    return argv, destination


def _ssh_env() -> dict[str, str]:
    env = os.environ.copy()
    # As pyzmq: a desktop askpass must not pop up for a tunnel opened by a program.
    env.pop("SSH_ASKPASS", None)
    env.pop("SSH_ASKPASS_REQUIRE", None)
    return env


def _tail(data: bytes) -> str:
    return data[-_STDERR_LIMIT:].decode("utf8", "replace").strip()


def _raise_for_host_key(stderr: bytes) -> None:
    if any(marker in stderr for marker in _HOST_KEY_FAILURES):
        raise _ssh_exception()(
            "The authenticity of the host can't be established: its key is not in "
            "known_hosts (connect once with ssh to check and accept it)."
        )


def try_passwordless_ssh(server: str, keyfile: str | None, paramiko: bool | None = None) -> bool:
    """Whether ``server`` accepts a login without a password (a key or an agent).

    paramiko=None uses paramiko on Windows and the ssh command elsewhere.  An unknown host key
    raises SSHException.
    """
    if paramiko is None:
        paramiko = sys.platform == "win32"
    if paramiko:
        return _try_passwordless_paramiko(server, keyfile)
    return _try_passwordless_openssh(server, keyfile)


def _try_passwordless_openssh(server: str, keyfile: str | None) -> bool:
    argv, destination = _ssh_base(server, keyfile)
    # BatchMode: never prompt (for a password or a host key); fail instead.
    argv += ["-o", "BatchMode=yes", "--", destination, "exit"]
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_ssh_env(),
            timeout=_LOGIN_DEADLINE,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MaxRetryExceeded(f"ssh to {destination} did not finish logging in") from exc
    if done.returncode == 0:
        return True
    _raise_for_host_key(done.stderr)
    return False


def _paramiko_module() -> Any:
    try:
        return importlib.import_module("paramiko")
    except ImportError as exc:
        raise ImportError(
            "paramiko is not installed: install safezmq's 'ssh' extra "
            "(pip install 'safezmq[ssh]'), or use openssh_tunnel"
        ) from exc


def _paramiko_client(paramiko: Any) -> Any:
    client = paramiko.SSHClient()
    client.load_system_host_keys()
    policy_name = os.environ.get("PYZMQ_PARAMIKO_HOST_KEY_POLICY")
    if policy_name:
        if policy_name not in _HOST_KEY_POLICIES:
            raise ZMQError(
                Errno.EINVAL,
                f"PYZMQ_PARAMIKO_HOST_KEY_POLICY={policy_name!r}: use one of "
                + ", ".join(_HOST_KEY_POLICIES),
            )
        client.set_missing_host_key_policy(getattr(paramiko, f"{policy_name}Policy")())
    else:
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def _try_passwordless_paramiko(server: str, keyfile: str | None) -> bool:
    paramiko = _paramiko_module()
    username, host, port = _split_server(server)
    client = _paramiko_client(paramiko)
    try:
        client.connect(
            host, port, username=username, key_filename=keyfile, look_for_keys=True, timeout=30
        )
    except paramiko.AuthenticationException:
        return False
    finally:
        client.close()
    return True


def tunnel_connection(
    socket: Socket,
    addr: str,
    server: str,
    keyfile: str | None = None,
    password: str | None = None,
    paramiko: bool | None = None,
    timeout: int = 60,
) -> Process | int:
    """Connect ``socket`` to ``addr`` (reachable from ``server``) through an ssh tunnel.

    Returns the tunnel: the ssh command's pid, or paramiko's Process.
    """
    new_url, tunnel = open_tunnel(
        addr, server, keyfile=keyfile, password=password, paramiko=paramiko, timeout=timeout
    )
    socket.connect(new_url)
    return tunnel


def open_tunnel(
    addr: str,
    server: str,
    keyfile: str | None = None,
    password: str | None = None,
    paramiko: bool | None = None,
    timeout: int = 60,
) -> tuple[str, Process | int]:
    """Tunnel a random local port to the tcp ``addr`` as seen from ``server``.

    Returns ``("tcp://127.0.0.1:LPORT", tunnel)``.
    """
    transport, sep, rest = addr.partition("://")
    ip, colon, port_text = rest.rpartition(":")
    if transport != "tcp" or not sep or not colon or not ip or not port_text.isdigit():
        raise ZMQError(
            Errno.EINVAL,
            f"cannot tunnel {addr!r}: ssh tunnels carry tcp only; give 'tcp://host:port'",
        )
    lport = select_random_ports(1)[0]
    if paramiko is None:
        paramiko = sys.platform == "win32"
    tunnelf = paramiko_tunnel if paramiko else openssh_tunnel
    tunnel = tunnelf(
        lport,
        int(port_text),
        server,
        remoteip=ip,
        keyfile=keyfile,
        password=password,
        timeout=timeout,
    )
    return f"tcp://127.0.0.1:{lport}", tunnel


def _forward_spec(lport: int, remoteip: str, rport: int) -> str:
    if any(c.isspace() for c in remoteip) or remoteip.startswith("-"):
        raise ZMQError(Errno.EINVAL, f"remote ip {remoteip!r} is not a host name or address")
    return f"127.0.0.1:{int(lport)}:{remoteip}:{int(rport)}"


def _try_control_master(argv: list[str], destination: str, spec: str) -> int | None:
    """Add the forward to a running ControlMaster for the server, as pyzmq does; its pid or None."""
    try:
        check = subprocess.run(
            [*argv, "-O", "check", "--", destination],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_ssh_env(),
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = _FORWARD_PID.search(check.stdout + check.stderr)
    if check.returncode != 0 or found is None:
        return None
    forward = [*argv, "-O", "forward", "-L", spec, "--", destination]
    try:
        added = subprocess.run(
            forward,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_ssh_env(),
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if added.returncode != 0:
        return None
    cancel = [*argv, "-O", "cancel", "-L", spec, "--", destination]
    atexit.register(_stop_tunnel, cancel)
    return int(found.group(1))


def _stop_tunnel(argv: list[str]) -> None:
    subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)


def openssh_tunnel(
    lport: int,
    rport: int,
    server: str,
    remoteip: str = "127.0.0.1",
    keyfile: str | None = None,
    password: str | None = None,
    timeout: int = 60,
) -> int:
    """Forward 127.0.0.1:lport here to remoteip:rport as seen from server, with the ssh command.

    ``server`` is ``[user@]host[:port]``.  The tunnel stays up for ``timeout`` seconds
    waiting for its first connection and then as long as connections use it.  Returns the pid
    of the ssh command started (or of the ControlMaster that now carries the forward).
    """
    argv, destination = _ssh_base(server, keyfile)
    spec = _forward_spec(lport, remoteip, rport)
    master = _try_control_master(argv, destination, spec)
    if master is not None:
        return master
    argv += [
        "-f",  # background once logged in and forwarding
        "-S",
        "none",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        spec,
        "--",
        destination,
        "sleep",
        str(int(timeout)),
    ]
    env = _ssh_env()
    # jupyter_client passes password=False after try_passwordless_ssh succeeded: nothing to offer.
    askpass = AskPass(password) if isinstance(password, str) else None
    if askpass is not None:
        env.update(askpass.env())
        # One prompt: a wrong password fails at once instead of being retried.
        argv[1:1] = ["-o", "NumberOfPasswordPrompts=1"]
    # ssh's diagnostics go to a file: a pipe would be held open by the backgrounded ssh.
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env)
            try:
                status = proc.wait(_LOGIN_DEADLINE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise MaxRetryExceeded(
                    f"ssh to {destination} did not log in within {_LOGIN_DEADLINE:.0f} s"
                ) from None
        finally:
            if askpass is not None:
                askpass.close()
        errors.seek(0)
        stderr = errors.read()
    if status != 0:
        _raise_for_host_key(stderr)
        raise RuntimeError(
            f"ssh tunnel {spec} via {destination} failed to start (exit status {status}): "
            f"{_tail(stderr)}"
        )
    return proc.pid


def paramiko_tunnel(
    lport: int,
    rport: int,
    server: str,
    remoteip: str = "127.0.0.1",
    keyfile: str | None = None,
    password: str | None = None,
    timeout: int = 60,
) -> Process:
    """Forward 127.0.0.1:lport to remoteip:rport as seen from server, in a paramiko subprocess.

    Needs paramiko (safezmq's ``ssh`` extra).  Without a password, a key or agent login is
    tried first and the password is asked for on the terminal only if that fails.  ``timeout``
    is accepted for pyzmq compatibility: the process serves until it is terminated.
    """
    _paramiko_module()
    if password is None and not _try_passwordless_paramiko(server, keyfile):
        password = getpass(f"{server}'s password: ")
    process = Process(
        target=_paramiko_tunnel,
        args=(lport, rport, server, remoteip),
        kwargs={"keyfile": keyfile, "password": password},
        daemon=True,
    )
    process.start()
    return process


def _paramiko_tunnel(
    lport: int,
    rport: int,
    server: str,
    remoteip: str,
    keyfile: str | None = None,
    password: str | None = None,
) -> None:
    """The body of paramiko_tunnel's process: log in, then forward until terminated."""
    import signal

    from .forward import forward_tunnel

    paramiko = _paramiko_module()
    username, host, port = _split_server(server)
    client = _paramiko_client(paramiko)
    try:
        client.connect(
            host,
            port,
            username=username,
            key_filename=keyfile,
            look_for_keys=True,
            password=password,
            timeout=30,
        )
    except Exception as exc:
        # The exception's type and text come from paramiko, which never includes the password.
        print(f"*** Failed to connect to {host}:{port}: {exc!r}", file=sys.stderr)
        sys.exit(1)
    finally:
        password = None
    # Ctrl-C in the parent's terminal must not kill the tunnel under it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forward_tunnel(lport, remoteip, rport, client.get_transport())
    except Exception as exc:
        print(f"Port forwarding stopped uncleanly: {exc}", file=sys.stderr)
        sys.exit(255)


ssh_tunnel = paramiko_tunnel if sys.platform == "win32" else openssh_tunnel

__all__ = [
    "openssh_tunnel",
    "paramiko_tunnel",
    "ssh_tunnel",
    "try_passwordless_ssh",
    "tunnel_connection",
]
