"""safezmq.ssh against a real sshd on loopback (the ``sshd`` fixture in conftest.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from multiprocessing import Process

import pytest

import safezmq as zmq
from safezmq.ssh import tunnel
from safezmq.ssh.askpass import AskPass

from .conftest import SshServer

SECRET = "pw-that-must-not-leak-7f3a"


@pytest.fixture
def rep() -> Iterator[tuple[zmq.Socket, int]]:
    """An echoing REP bound on loopback: (socket, port)."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REP)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    try:
        yield sock, port
    finally:
        sock.close(linger=0)
        ctx.term()


def round_trip(
    rep_sock: zmq.Socket, connect: str | None = None, req: zmq.Socket | None = None
) -> None:
    """One request through the tunnel, answered by rep_sock; asserts the payloads."""
    own = req is None
    ctx = zmq.Context.instance() if own else None
    if req is None:
        assert ctx is not None and connect is not None
        req = ctx.socket(zmq.REQ)
        req.connect(connect)
    try:
        req.rcvtimeo = 20_000
        rep_sock.rcvtimeo = 20_000
        req.send(b"ping through ssh")
        assert rep_sock.recv() == b"ping through ssh"
        rep_sock.send(b"pong through ssh")
        assert req.recv() == b"pong through ssh"
    finally:
        if own:
            req.close(linger=0)


def stop(process: Process) -> None:
    process.terminate()
    process.join(10)
    assert not process.is_alive()


def test_select_random_ports_are_distinct_and_free() -> None:
    for _ in range(20):
        ports = tunnel.select_random_ports(10)
        assert len(set(ports)) == 10
        for port in ports:
            with socket.socket() as sock:
                sock.bind(("", port))  # still free once returned


def test_openssh_tunnel_carries_req_rep(sshd: SshServer, rep: tuple[zmq.Socket, int]) -> None:
    rep_sock, rport = rep
    lport = tunnel.select_random_ports(1)[0]
    # password=False is what jupyter_client passes once try_passwordless_ssh said True.
    pid = tunnel.openssh_tunnel(
        lport,
        rport,
        sshd.server,
        keyfile=sshd.client_key,
        password=False,  # type: ignore[arg-type]
        timeout=5,
    )
    assert isinstance(pid, int) and pid > 0
    # Only the tunnel listens on lport: the request can reach rport through ssh alone.
    round_trip(rep_sock, f"tcp://127.0.0.1:{lport}")


def test_paramiko_tunnel_carries_req_rep(sshd: SshServer, rep: tuple[zmq.Socket, int]) -> None:
    rep_sock, rport = rep
    lport = tunnel.select_random_ports(1)[0]
    process = tunnel.paramiko_tunnel(lport, rport, sshd.server, keyfile=sshd.client_key)
    try:
        assert isinstance(process, Process)
        round_trip(rep_sock, f"tcp://127.0.0.1:{lport}")
    finally:
        stop(process)


@pytest.mark.parametrize("use_paramiko", [False, True])
def test_tunnel_connection_connects_a_safezmq_socket(
    sshd: SshServer, rep: tuple[zmq.Socket, int], use_paramiko: bool
) -> None:
    rep_sock, rport = rep
    ctx = zmq.Context.instance()
    req = ctx.socket(zmq.REQ)
    made = tunnel.tunnel_connection(
        req,
        f"tcp://127.0.0.1:{rport}",
        sshd.server,
        keyfile=sshd.client_key,
        paramiko=use_paramiko,
        timeout=5,
    )
    try:
        endpoint = req.last_endpoint.decode()
        assert endpoint.startswith("tcp://127.0.0.1:") and not endpoint.endswith(f":{rport}")
        round_trip(rep_sock, req=req)
    finally:
        req.close(linger=0)
        if isinstance(made, Process):
            stop(made)
        else:
            assert isinstance(made, int)


@pytest.mark.parametrize("use_paramiko", [False, True])
def test_try_passwordless_ssh(sshd: SshServer, no_agent: None, use_paramiko: bool) -> None:
    assert tunnel.try_passwordless_ssh(sshd.server, sshd.client_key, paramiko=use_paramiko)
    assert not tunnel.try_passwordless_ssh(sshd.server, sshd.other_key, paramiko=use_paramiko)


@pytest.mark.parametrize("use_paramiko", [False, True])
def test_unknown_host_key_is_refused(sshd: SshServer, use_paramiko: bool) -> None:
    # known_hosts holds the key for [127.0.0.1]:port only, so "localhost" is an unknown host.
    unknown = f"{sshd.user}@localhost:{sshd.port}"
    with pytest.raises(tunnel.SSHException):
        tunnel.try_passwordless_ssh(unknown, sshd.client_key, paramiko=use_paramiko)


def test_openssh_tunnel_refused_login_does_not_leak_password(
    sshd: SshServer, no_agent: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[list[str], dict[str, str]]] = []
    real_popen = subprocess.Popen

    def recording_popen(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        env = kwargs.get("env")
        assert isinstance(env, dict)
        started.append((list(argv), dict(env)))
        return real_popen(argv, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    lport = tunnel.select_random_ports(1)[0]
    with pytest.raises(RuntimeError) as failure:
        tunnel.openssh_tunnel(
            lport, 1, sshd.server, keyfile=sshd.other_key, password=SECRET, timeout=5
        )
    assert "Permission denied" in str(failure.value)
    assert SECRET not in str(failure.value) and SECRET not in repr(failure.value)
    for argv, env in started:
        assert not any(SECRET in arg for arg in argv)
        assert not any(SECRET in value for value in env.values())
    # The tunnel itself (not the ControlMaster probe) was offered the password through askpass,
    # whose directory is gone once the call returns.
    (env,) = [env for argv, env in started if "-f" in argv]
    assert env["SSH_ASKPASS_REQUIRE"] == "force"
    assert not os.path.exists(env["SSH_ASKPASS"])


def test_askpass_answers_once() -> None:
    with AskPass(SECRET) as askpass:
        env = {**os.environ, **askpass.env()}
        assert SECRET not in repr(askpass) and SECRET not in str(askpass.env())
        first = subprocess.run([env["SSH_ASKPASS"], "Password:"], env=env, capture_output=True)
        assert first.stdout == (SECRET + "\n").encode()
        # A second prompt (a retry or another question) gets nothing.
        second = subprocess.run(
            [env["SSH_ASKPASS"], "Password:"], env=env, capture_output=True, timeout=10
        )
        assert second.stdout == b""


def test_askpass_unused_is_cleaned_up() -> None:
    askpass = AskPass(SECRET)
    script = askpass.env()["SSH_ASKPASS"]
    askpass.close()
    assert not os.path.exists(os.path.dirname(script))


@pytest.mark.parametrize(
    "server",
    ["-oProxyCommand=touch /tmp/owned", "user@-oProxyCommand=x", "host:notaport", "a b@host"],
)
def test_server_strings_that_could_be_options_are_refused(server: str) -> None:
    with pytest.raises(zmq.ZMQError) as refused:
        tunnel.try_passwordless_ssh(server, None, paramiko=False)
    assert refused.value.errno == zmq.EINVAL


def test_only_tcp_addresses_can_be_tunneled() -> None:
    with pytest.raises(zmq.ZMQError, match="tcp only"):
        tunnel.open_tunnel("ipc:///tmp/x", "user@host")


def test_paramiko_is_imported_lazily() -> None:
    code = "import sys, safezmq.ssh; assert 'paramiko' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ssh_config_keeps_user_and_port_unless_given() -> None:
    argv, destination = tunnel._ssh_base("gateway", None)
    assert argv == ["ssh"] and destination == "gateway"
    argv, destination = tunnel._ssh_base("me@gateway:2222", "/k")
    assert argv == ["ssh", "-i", "/k", "-p", "2222"] and destination == "me@gateway"


def test_pyzmq_module_attributes() -> None:
    import paramiko

    assert tunnel.paramiko is paramiko
    assert tunnel.SSHException is paramiko.SSHException
    assert tunnel.ssh_tunnel is tunnel.openssh_tunnel
