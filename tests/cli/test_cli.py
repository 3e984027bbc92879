"""The ``safezmq`` command, every subcommand run as a subprocess (``python -m safezmq ...``).

Each test checks exit codes and output: one clear line on stderr for errors (never a
traceback), the demo's refusals, keygen's file modes, scan's verdicts on libzmq and safezmq
servers, and messages crossing between two CLI processes and between the CLI and pyzmq (real
libzmq), with and without CURVE.  Every process and socket wait has a timeout.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq
import zmq.auth

import safezmq
from safezmq.auth.certs import create_certificates, load_certificate
from safezmq.auth.thread import ThreadAuthenticator
from safezmq.cli import main

#: Seconds a CLI run may take before the test fails (each run is far quicker).
RUN_TIMEOUT = 30
#: scan --timeout: how long the stalled-handshake probe watches (the scan's duration).
SCAN_TIMEOUT = "0.8"
#: --timeout given to the CLI's own waits.
CLI_TIMEOUT = "10"
#: Socket waits in the test itself (ms).
WAIT_MS = 10_000
Z85_KEY = re.compile(r"^[0-9a-zA-Z.:+=^!/*?&<>()\[\]{}@%$#-]{40}$")

pytestmark = pytest.mark.timeout(60)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "safezmq", *args]


def run(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args),
        input=input.decode() if input is not None else None,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=env,
    )


def one_line_error(result: subprocess.CompletedProcess[str], prog: str) -> str:
    """The stderr of a failed run: exactly one line, naming the command, no traceback."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Background:
    """CLI processes started for a test, killed (and their output kept) at its end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            cli(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            # A shell runs background jobs with SIGINT ignored, and children inherit that: the
            # Ctrl-C tests need the disposition a terminal gives a program.
            preexec_fn=default_sigint,
        )
        self.procs.append(proc)
        return proc

    def start_bound(
        self, command: str, *args: str, env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], str]:
        """Start ``command`` bound to ``tcp://127.0.0.1:*``; return it and the endpoint it says
        it bound (a port found free beforehand may be taken by another connection before the
        process binds it)."""
        proc = self.start(command, "tcp://127.0.0.1:*", *args, env=env)
        said = read_stderr_until(proc, "bound to tcp://")
        if "\n" not in said.partition("bound to tcp://")[2]:
            said += read_stderr_until(proc, "\n")  # the rest of the line
        found = re.search(r"bound to (tcp://127\.0\.0\.1:\d+)\n", said)
        assert found is not None, said
        return proc, found.group(1)

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=RUN_TIMEOUT)


@pytest.fixture
def background() -> Iterator[Background]:
    procs = Background()
    yield procs
    procs.kill_all()


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=RUN_TIMEOUT)
    return proc.returncode, out.decode(), err.decode()


def read_stderr_until(proc: subprocess.Popen[bytes], text: str, timeout: float = 10) -> str:
    """What ``proc`` wrote on stderr up to and including ``text`` (or all of it at the
    deadline: the caller's assertion then fails)."""
    assert proc.stderr is not None
    got = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in got:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([proc.stderr], [], [], remaining)[0]:
            break
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        got += chunk
    return got.decode()


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Path]:
    """server, client and stranger key pairs from 'safezmq keygen'; allowed/ holds the
    client's public certificate only."""
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in ("server", "client", "stranger"):
        create_certificates(keys, name)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "client.key").write_bytes((keys / "client.key").read_bytes())
    return {
        "server": keys / "server.key_secret",
        "server_public": keys / "server.key",
        "client": keys / "client.key_secret",
        "stranger": keys / "stranger.key_secret",
        "allowed": allowed,
    }


@pytest.fixture
def zctx() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.destroy(linger=0)


def libzmq_socket(
    zctx: zmq.Context[zmq.Socket[bytes]], kind: int, **options: object
) -> zmq.Socket[bytes]:
    sock = zctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = WAIT_MS
    sock.sndtimeo = WAIT_MS
    for name, value in options.items():
        setattr(sock, name, value)
    return sock


# -- the command itself -------------------------------------------------------------------------


def test_help_everywhere_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    result = run("--help")  # one real process; the subcommands' help in this one
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: safezmq")
    for command in ("demo", "keygen", "scan", "bench", "send", "recv", "pub", "sub", "req", "rep"):
        assert main([command, "--help"]) == 0, command
        out = capsys.readouterr().out
        assert out.startswith(f"usage: safezmq {command}"), (command, out[:80])
    assert main(["rep", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--bind", "--connect", "--count", "--curve-server", "--allow-key-dir"):
        assert option in out


USAGE_ERRORS = [
    (["frobnicate"], "safezmq", "invalid choice"),
    (["scan"], "safezmq scan", "required: ENDPOINT"),
    (["send", "tcp://127.0.0.1:5555", "--count", "0"], "safezmq send", "must be at least 1"),
    (["scan", "localhost:5555"], "safezmq scan", "transport://address"),
    (["scan", "inproc://x"], "safezmq scan", "inproc"),
    (["recv", "tcp://127.0.0.1:*", "--curve-server"], "safezmq recv", "--cert"),
    (["send", "tcp://127.0.0.1:5555", "--cert", "nofile"], "safezmq send", "--cert needs"),
    (["keygen", "a/b"], "safezmq keygen", "not a plain file name"),
]


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    result = run("send", "tcp://127.0.0.1:5555", "--bind", "--connect")
    assert result.returncode == 2
    assert "not allowed with argument" in one_line_error(result, "safezmq send")
    for args, prog, fragment in USAGE_ERRORS:
        assert main(args) == 2, args
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{prog}: "), (args, captured.err)
        assert fragment in lines[0], (args, lines[0])
        assert captured.out == ""


def test_console_script_is_declared() -> None:
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert re.search(r'(?m)^\[project\.scripts\]\nsafezmq = "safezmq\.cli:main"$', text)
    assert main(["--version"]) == 0


# -- demo ---------------------------------------------------------------------------------------


def test_demo_shows_the_refusals_and_the_audit() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "got b'hello, alice' back" in out
    assert "the server saw the request's User-Id: alice's public key" in out
    assert "HANDSHAKE_FAILED_AUTH      value=400: the ZAP handler does not know" in out
    assert "-> mallory was refused" in out
    assert "value=ZMTP_MECHANISM_MISMATCH" in out
    assert "-> the NULL client was refused" in out
    assert "-> the ZMTP 1.0 peer was refused" in out
    assert "-> the ZMTP 2.0 peer was refused" in out
    assert "and alice is still served: yes" in out
    assert "no weakened setting" in out
    assert "[high] REP socket: CURVE server accepts any client key" in out
    assert "All done." in out


# -- keygen -------------------------------------------------------------------------------------


def test_keygen_writes_a_pair_with_safe_modes(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "keys"
    result = run("keygen", "--dir", str(directory), "alice", "--metadata", "role=test")
    assert result.returncode == 0, result.stderr
    public = result.stdout.strip()
    assert Z85_KEY.match(public), public
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    public_file, secret_file = directory / "alice.key", directory / "alice.key_secret"
    assert stat.S_IMODE(public_file.stat().st_mode) == 0o644
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    loaded_public, loaded_secret = load_certificate(secret_file)
    assert loaded_public.decode() == public
    assert loaded_secret is not None
    assert loaded_secret.decode() not in result.stdout + result.stderr  # never printed
    assert 'role = "test"' in public_file.read_text()
    # pyzmq (libzmq's tools) reads what we wrote.
    assert zmq.auth.load_certificate(str(secret_file))[0] == loaded_public

    again = run("keygen", "--dir", str(directory), "alice")
    assert again.returncode == 1
    assert "use --force" in one_line_error(again, "safezmq keygen")
    assert load_certificate(public_file)[0] == loaded_public  # kept
    forced = run("keygen", "--dir", str(directory), "alice", "--force")
    assert forced.returncode == 0
    assert forced.stdout.strip() != public


# -- scan ---------------------------------------------------------------------------------------


def scan(*args: str) -> tuple[int, dict[str, object], str]:
    result = run("scan", *args, "--json", "--timeout", SCAN_TIMEOUT)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def test_scan_libzmq_null_server(zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    server = libzmq_socket(zctx, zmq.REP)
    server.setsockopt(zmq.METADATA, b"X-Service:billing")
    port = server.bind_to_random_port("tcp://127.0.0.1")
    code, report, _ = scan(f"tcp://127.0.0.1:{port}")
    assert code == 1  # weaknesses found
    assert report["mechanism"] == "NULL"
    assert report["zmtp_version"] == "3.1"
    assert report["as_server"] is False
    assert report["socket_type"] == "REP"
    assert report["null_peer"]["status"] == "accepted"  # type: ignore[index]
    assert report["metadata"] == {"Socket-Type": "REP", "X-Service": "billing"}
    assert report["zmtp_2_0"]["status"] == "accepted"  # type: ignore[index]
    assert report["zmtp_1_0"]["status"] == "accepted"  # type: ignore[index]
    whats = " | ".join(f["what"] for f in report["findings"])  # type: ignore[attr-defined]
    assert "accepts NULL peers" in whats and "in clear" in whats
    assert "X-Service" in whats


def test_scan_libzmq_curve_server_without_zap_accepts_any_key(
    zctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    public, secret = zmq.curve_keypair()
    server = libzmq_socket(zctx, zmq.ROUTER, curve_server=True, curve_secretkey=secret)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"

    code, report, _ = scan(endpoint, f"--curve-serverkey={public.decode()}")
    assert code == 1
    assert report["mechanism"] == "CURVE"
    assert report["as_server"] is False  # libzmq never sets it
    assert report["null_peer"]["status"] == "refused"  # type: ignore[index]
    auth = report["client_authentication"]
    assert auth["status"] == "accepted", auth  # type: ignore[index]
    assert "accepts any client key" in auth["detail"]  # type: ignore[index]
    assert report["socket_type"] == "ROUTER"
    assert report["zmtp_2_0"]["status"] == "refused"  # type: ignore[index]
    assert report["zmtp_1_0"]["status"] == "refused"  # type: ignore[index]
    assert any("accepts any client key" in f["what"] for f in report["findings"])  # type: ignore[attr-defined]

    text = run("scan", endpoint, f"--curve-serverkey={public.decode()}", "--timeout", SCAN_TIMEOUT)
    assert text.returncode == 1
    assert re.search(r"(?m)^  client auth +ACCEPTED: accepts any client key", text.stdout)
    assert "mechanism CURVE" in text.stdout
    assert "weakness(es) found" in text.stdout
    assert "as-server 0 (libzmq never sets it)" in text.stdout

    untested = run("scan", endpoint, "--timeout", SCAN_TIMEOUT)
    assert untested.returncode == 0  # nothing weak seen, but it says what it could not test
    assert "could not be tested" in untested.stdout
    assert "--curve-serverkey" in untested.stdout


def test_scan_safezmq_server_with_defaults_is_clean(tmp_path: Path) -> None:
    ctx = safezmq.Context()
    auth = ThreadAuthenticator(ctx)
    try:
        auth.start()
        auth.configure_curve(location=str(tmp_path))  # nobody allowed
        public, secret = safezmq.curve_keypair()
        server = ctx.socket(safezmq.REP)
        server.linger = 0
        server.curve_server = True
        server.curve_secretkey = secret
        server.bind("tcp://127.0.0.1:*")
        endpoint = server.last_endpoint.decode()
        code, report, _ = scan(endpoint, f"--curve-serverkey={public.decode()}")
        assert report["findings"] == [], report["findings"]
        assert code == 0
        assert report["weak"] is False
        assert report["mechanism"] == "CURVE"
        assert report["as_server"] is True
        assert report["null_peer"]["status"] == "refused"  # type: ignore[index]
        auth_check = report["client_authentication"]
        assert auth_check["status"] == "refused", auth_check  # type: ignore[index]
        assert "400" in auth_check["detail"]  # type: ignore[index]
        assert report["zmtp_2_0"]["status"] == "refused"  # type: ignore[index]
        assert report["zmtp_1_0"]["status"] == "refused"  # type: ignore[index]
        assert report["metadata"] == {}
        text = run(
            "scan", endpoint, f"--curve-serverkey={public.decode()}", "--timeout", SCAN_TIMEOUT
        )
        assert text.returncode == 0
        assert "verdict: nothing weak found" in text.stdout
    finally:
        auth.stop()
        ctx.destroy(linger=0)


def test_scan_measures_a_short_handshake_deadline(zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    server = libzmq_socket(zctx, zmq.PULL, handshake_ivl=300)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    code, report, _ = scan(f"tcp://127.0.0.1:{port}")
    assert code == 1  # a NULL server
    assert report["stalled_handshake"]["status"] == "closed"  # type: ignore[index]
    closed_after = report["stalled_closed_after"]
    assert isinstance(closed_after, float) and 0.2 <= closed_after < 1.0, closed_after
    assert report["socket_type"] == "PULL"


def test_scan_closed_port_is_a_clear_error() -> None:
    port = free_port()
    result = run("scan", f"tcp://127.0.0.1:{port}", "--timeout", "1")
    assert result.returncode == 1
    line = one_line_error(result, "safezmq scan")
    assert f"cannot connect to tcp://127.0.0.1:{port}: connection refused" in line
    assert result.stdout == ""


def test_scan_of_something_that_is_not_zmtp() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run("scan", f"tcp://127.0.0.1:{port}", "--timeout", "0.5")
    assert result.returncode == 1
    assert "no ZMTP greeting" in one_line_error(result, "safezmq scan")


# -- send / recv ---------------------------------------------------------------------------------


def test_send_recv_between_two_cli_processes(background: Background, tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/pipe"
    receiver = background.start("recv", endpoint, "--count", "3", "--timeout", CLI_TIMEOUT)
    sent = run("send", endpoint, "--timeout", CLI_TIMEOUT, input=b"one\ntwo words\nthree\n")
    assert sent.returncode == 0, sent.stderr
    assert sent.stderr == ""  # no progress when stderr is not a terminal
    code, out, err = finish(receiver)
    assert code == 0, err
    assert out == "one\ntwo words\nthree\n"


def test_send_recv_files_with_curve_and_progress(
    background: Background, certs: dict[str, Path], tmp_path: Path
) -> None:
    payload = os.urandom(200_000) + b"\n\x00end"
    source, target = tmp_path / "in.bin", tmp_path / "out.bin"
    source.write_bytes(payload)
    server = [
        *("--curve-server", "--cert", str(certs["server"])),
        *("--allow-key-dir", str(certs["allowed"])),
    ]
    receiver, endpoint = background.start_bound(
        "recv", "--file", str(target), "--timeout", CLI_TIMEOUT, *server
    )
    client = ["--curve-serverkey", str(certs["server_public"]), "--cert", str(certs["client"])]
    sent = run(
        "send", endpoint, "--file", str(source), "--timeout", CLI_TIMEOUT, "--progress", *client
    )
    assert sent.returncode == 0, sent.stderr
    assert "sent 1 messages" in sent.stderr
    code, out, err = finish(receiver)
    assert code == 0, err
    assert out == ""
    assert target.read_bytes() == payload


def test_curve_client_with_an_unknown_key_is_refused(
    background: Background, certs: dict[str, Path]
) -> None:
    server = [
        *("--curve-server", "--cert", str(certs["server"])),
        *("--allow-key-dir", str(certs["allowed"])),
    ]
    receiver, endpoint = background.start_bound("recv", "--timeout", CLI_TIMEOUT, *server)
    refused = run(
        "send",
        endpoint,
        "-m",
        "let me in",
        "--timeout",
        CLI_TIMEOUT,
        "--curve-serverkey",
        str(certs["server_public"]),
        "--cert",
        str(certs["stranger"]),
    )
    assert refused.returncode == 1
    assert "refused our credentials (ZAP 400)" in one_line_error(refused, "safezmq send")
    # A server goes on after refusing a client, saying so on stderr.
    err = read_stderr_until(receiver, "a peer's handshake failed: refused a client (ZAP 400)")
    receiver.terminate()
    _, out, rest = finish(receiver)
    assert out == ""
    assert "refused a client (ZAP 400)" in err + rest


def test_send_to_pyzmq_and_recv_from_pyzmq_with_curve(
    zctx: zmq.Context[zmq.Socket[bytes]], background: Background, certs: dict[str, Path]
) -> None:
    # CLI send (CURVE client) -> libzmq PULL (CURVE server; libzmq accepts any key).
    server_public, server_secret = load_certificate(certs["server"])
    pull = libzmq_socket(zctx, zmq.PULL, curve_server=True, curve_secretkey=server_secret)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    sent = run(
        "send",
        f"tcp://127.0.0.1:{port}",
        *("-m", "hello libzmq", "--count", "3", "--timeout", CLI_TIMEOUT),
        f"--curve-serverkey={server_public.decode()}",  # a Z85 key may begin with "-"
    )
    assert sent.returncode == 0, sent.stderr
    assert [pull.recv() for _ in range(3)] == [b"hello libzmq"] * 3

    # libzmq PUSH (NULL) -> CLI recv.
    receiver, endpoint = background.start_bound("recv", "--count", "2", "--timeout", CLI_TIMEOUT)
    push = libzmq_socket(zctx, zmq.PUSH)
    push.connect(endpoint)
    push.send_multipart([b"multi", b"part"])
    push.send(b"single")
    code, out, err = finish(receiver)
    assert code == 0, err
    assert out == "multi part\nsingle\n"


def test_plaintext_beyond_loopback_is_refused_unless_asked() -> None:
    refused = run("send", "tcp://192.0.2.1:5555", "-m", "x", "--timeout", "1")
    assert refused.returncode == 1
    line = one_line_error(refused, "safezmq send")
    assert "refusing to connect tcp://192.0.2.1:5555 without encryption" in line
    assert "--insecure-allow-plaintext" in line

    allowed = run(
        "send", "tcp://192.0.2.1:5555", "-m", "x", "--timeout", "0.5", "--insecure-allow-plaintext"
    )
    assert allowed.returncode == 1  # nobody there: but the policy let it try
    assert "refusing" not in allowed.stderr
    assert "no peer completed a handshake within 0.5 s" in allowed.stderr
    assert "--insecure-allow-plaintext: NULL and PLAIN allowed beyond loopback" in allowed.stderr


def test_ctrl_c_ends_a_receiver_with_one_line(background: Background) -> None:
    receiver = background.start("recv", "tcp://127.0.0.1:*")
    assert "bound to tcp://127.0.0.1:" in read_stderr_until(receiver, "bound to tcp://")
    receiver.send_signal(signal.SIGINT)
    code, out, err = finish(receiver)
    assert code == 130
    assert err.strip() == "safezmq recv: interrupted"
    assert out == ""


# -- pub / sub ----------------------------------------------------------------------------------


def test_pub_sub_between_two_cli_processes(background: Background) -> None:
    # The subscriber connects first and the publisher binds: a port found free beforehand.
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    subscriber = background.start(
        "sub", endpoint, "--topic", "news", "--count", "2", "--timeout", CLI_TIMEOUT
    )
    published = run(
        "pub",
        endpoint,
        *("--topic", "news", "-m", "first", "-m", "second"),
        *("--timeout", CLI_TIMEOUT),
    )
    assert published.returncode == 0, published.stderr
    code, out, err = finish(subscriber)
    assert code == 0, err
    assert out == "news first\nnews second\n"


def test_pub_sub_with_pyzmq_both_ways(
    zctx: zmq.Context[zmq.Socket[bytes]], background: Background, certs: dict[str, Path]
) -> None:
    # CLI pub (CURVE server with an allow-list) -> libzmq SUB (CURVE client with client's key).
    publisher, endpoint = background.start_bound(
        "pub",
        *("-m", "tick", "--count", "3", "--timeout", CLI_TIMEOUT),
        *("--curve-server", "--cert", str(certs["server"])),
        *("--allow-key-dir", str(certs["allowed"])),
    )
    server_public, _ = load_certificate(certs["server_public"])
    client_public, client_secret = load_certificate(certs["client"])
    sub = libzmq_socket(
        zctx,
        zmq.SUB,
        curve_serverkey=server_public,
        curve_publickey=client_public,
        curve_secretkey=client_secret,
    )
    sub.subscribe(b"")
    sub.connect(endpoint)
    assert [sub.recv() for _ in range(3)] == [b"tick"] * 3
    code, _, err = finish(publisher)
    assert code == 0, err

    # libzmq PUB (NULL) -> CLI sub.
    pub = libzmq_socket(zctx, zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    subscriber = background.start(
        "sub", f"tcp://127.0.0.1:{port}", "--topic", "a", "--count", "1", "--timeout", "5"
    )
    deadline = time.monotonic() + 5
    while subscriber.poll() is None and time.monotonic() < deadline:
        pub.send_multipart([b"b", b"not this"])
        pub.send_multipart([b"a", b"this"])
        time.sleep(0.05)
    code, out, err = finish(subscriber)
    assert code == 0, err
    assert out == "a this\n"


# -- req / rep ----------------------------------------------------------------------------------


def test_req_rep_between_two_cli_processes_with_curve(
    background: Background, certs: dict[str, Path]
) -> None:
    replier, endpoint = background.start_bound(
        "rep",
        *("--count", "2", "--reply", "ok", "--timeout", CLI_TIMEOUT),
        *("--curve-server", "--cert", str(certs["server"])),
        *("--allow-key-dir", str(certs["allowed"])),
    )
    requested = run(
        "req",
        endpoint,
        *("--timeout", CLI_TIMEOUT),
        *("--curve-serverkey", str(certs["server_public"]), "--cert", str(certs["client"])),
        input=b"first\nsecond\n",
    )
    assert requested.returncode == 0, requested.stderr
    assert requested.stdout == "ok\nok\n"
    code, out, err = finish(replier)
    assert code == 0, err
    assert out == "first\nsecond\n"


def test_req_rep_with_pyzmq_both_ways(
    zctx: zmq.Context[zmq.Socket[bytes]], background: Background
) -> None:
    # CLI req -> libzmq REP (echo).
    rep = libzmq_socket(zctx, zmq.REP)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    requester = background.start(
        "req", f"tcp://127.0.0.1:{port}", "-m", "ping", "--count", "2", "--timeout", CLI_TIMEOUT
    )
    for _ in range(2):
        rep.send(b"pong:" + rep.recv())
    code, out, err = finish(requester)
    assert code == 0, err
    assert out == "pong:ping\npong:ping\n"

    # libzmq REQ -> CLI rep (echo by default).
    replier, endpoint = background.start_bound("rep", "--count", "1", "--timeout", CLI_TIMEOUT)
    req = libzmq_socket(zctx, zmq.REQ)
    req.connect(endpoint)
    req.send(b"echo me")
    assert req.recv() == b"echo me"
    code, out, err = finish(replier)
    assert code == 0, err
    assert out == "echo me\n"


def test_plain_password_comes_from_the_environment_and_is_never_shown(
    background: Background,
) -> None:
    password = "correct horse battery staple"
    env = {**os.environ, "SAFEZMQ_PLAIN_PASSWORD": password}
    replier, endpoint = background.start_bound(
        "rep",
        *("--count", "1", "--timeout", CLI_TIMEOUT, "--plain-server", "--plain-user", "bob"),
        env=env,
    )
    requested = run(
        "req", endpoint, "-m", "hi", "--timeout", CLI_TIMEOUT, "--plain-user", "bob", env=env
    )
    assert requested.returncode == 0, requested.stderr
    assert requested.stdout == "hi\n"
    code, out, err = finish(replier)
    assert code == 0, err
    wrong = {**os.environ, "SAFEZMQ_PLAIN_PASSWORD": "wrong"}
    replier = background.start(
        "rep", endpoint, "--timeout", CLI_TIMEOUT, "--plain-server", "--plain-user", "bob", env=env
    )
    refused = run("req", endpoint, "-m", "hi", "--timeout", "5", "--plain-user", "bob", env=wrong)
    assert refused.returncode == 1
    assert "ZAP 400" in one_line_error(refused, "safezmq req")
    replier.terminate()
    _, _, err2 = finish(replier)
    for text in (requested.stdout, requested.stderr, out, err, refused.stderr, err2):
        assert password not in text


# -- bench --------------------------------------------------------------------------------------


def test_bench_prints_the_table_and_draws_the_chart(tmp_path: Path) -> None:
    chart = tmp_path / "ratios.png"
    result = subprocess.run(
        cli(
            "bench",
            "--quick",
            "--repeat",
            "1",
            "--cases",
            "thr-1k",
            "--chart",
            str(chart),
            "--progress",
        ),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=tmp_path,  # found relative to the package, not the working directory
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("machine: ")
    header = next(line for line in lines if line.startswith("case "))
    columns = ["case", "safezmq", "pyzmq", "ratio", "goal", "met"]
    assert [cell.strip() for cell in header.split("|")] == columns
    row = next(line for line in lines if line.startswith("throughput 1 KiB"))
    # both measured, a ratio, the goal and whether the ratio meets it
    assert re.search(r"msg/s .* \| +\d+\.\d{3} \| >= 0\.9 \| +(met|missed)$", row), row
    assert "[1/1] thr-1k" in result.stderr  # run.py's progress, shown with --progress
    assert "chart of 1 ratios written" in result.stderr
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_bench_without_the_benchmarks_is_a_clear_error(tmp_path: Path) -> None:
    result = run("bench", "--benchmarks", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "not a benchmarks directory" in one_line_error(result, "safezmq bench")
