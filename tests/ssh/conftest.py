"""A real OpenSSH server on loopback for the tunnel tests.

The ``sshd`` fixture runs /usr/sbin/sshd (Debian's openssh-server, installed by
.ci/system-prereqs.sh) in the foreground on a free 127.0.0.1 port with its own host key, pid file
and configuration: public-key login only, for the current user, with one generated client key;
forwarding only to loopback.  The server's host key is added to the user's known_hosts for the
session (ssh and paramiko check host keys as usual) and removed afterwards.

When sshd cannot be started the tests fail if the CI variable is set, and skip otherwise.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere: a missing sshd must never pass unnoticed in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


@dataclass(frozen=True)
class SshServer:
    user: str
    port: int
    client_key: str
    other_key: str  # a key that is not authorized
    directory: Path

    @property
    def server(self) -> str:
        """The server as the tunnel functions take it: user@127.0.0.1:port."""
        return f"{self.user}@127.0.0.1:{self.port}"


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "safezmq-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(directory: Path, port: int, user: str) -> str:
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {directory / 'host_key'}",
            f"PidFile {directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {directory / 'authorized_keys'}",
            f"AllowUsers {user}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            # The key files live under the temporary directory, whose parents (/tmp) are
            # world-writable: StrictModes would refuse them.
            "StrictModes no",
            "UsePAM no",
            "AllowTcpForwarding local",
            "PermitOpen 127.0.0.1:*",
            "X11Forwarding no",
            "AllowAgentForwarding no",
            "LogLevel VERBOSE",
            "",
        ]
    )


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            unavailable(f"sshd exited with status {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                if conn.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    unavailable(f"sshd did not listen on 127.0.0.1:{port} within 15 s: {log.read_text()[-2000:]}")


class _KnownHost:
    """One line added to the user's known_hosts, removed again by remove()."""

    def __init__(self, port: int, host_pub: Path) -> None:
        home = Path(pwd.getpwuid(os.getuid()).pw_dir)
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        self.path = ssh_dir / "known_hosts"
        key_type, key = host_pub.read_text().split()[:2]
        self.line = f"[127.0.0.1]:{port} {key_type} {key}\n"
        with self.path.open("a") as known:
            known.write(self.line)

    def remove(self) -> None:
        lines = self.path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if line != self.line]
        if kept:
            self.path.write_text("".join(kept))
        else:
            self.path.unlink()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    if (
        not os.path.exists(SSHD)
        or shutil.which("ssh") is None
        or shutil.which("ssh-keygen") is None
    ):
        unavailable("OpenSSH is not installed: run .ci/system-prereqs.sh (Debian's openssh-server)")
    directory = tmp_path_factory.mktemp("sshd")
    directory.chmod(0o700)
    user = pwd.getpwuid(os.getuid()).pw_name
    _keygen(directory / "host_key")
    _keygen(directory / "client_key")
    _keygen(directory / "other_key")
    (directory / "authorized_keys").write_text((directory / "client_key.pub").read_text())
    port = _free_port()
    config = directory / "sshd_config"
    config.write_text(_config(directory, port, user))
    if os.geteuid() == 0:
        # sshd's privilege separation needs this directory (systemd creates it for the service).
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    log = directory / "sshd.log"
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        unavailable(f"sshd rejected its test configuration: {check.stderr.strip()}")
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL, stderr=log_file
        )
    known = None
    try:
        _wait_listening(proc, port, log)
        known = _KnownHost(port, directory / "host_key.pub")
        yield SshServer(
            user=user,
            port=port,
            client_key=str(directory / "client_key"),
            other_key=str(directory / "other_key"),
            directory=directory,
        )
    finally:
        if known is not None:
            known.remove()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def no_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the keys a test names may log in: no keys from an ssh agent."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
