"""``safezmq keys list|revoke|expire|rotate`` and ``safezmq keygen --valid-for/--rotate``.

Run in-process through ``safezmq.cli.main`` (its output and exit status are what a shell sees),
plus one real subprocess to prove the command is wired into ``python -m safezmq``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq
import zmq.auth

from safezmq.auth import certs
from safezmq.auth.revocation import generate_signing_key, load_revocation_list
from safezmq.auth.rotation import load_server_keys
from safezmq.cli import main

pytestmark = pytest.mark.timeout(60)


def keys_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    os.chmod(directory, 0o700)
    return directory


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_keygen_valid_for_writes_expires_at_that_pyzmq_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = keys_dir(tmp_path)
    before = time.time()
    code, out, err = run(capsys, "keygen", "--dir", str(directory), "--valid-for", "90d", "dev")
    assert code == 0, err
    cert = certs.read_certificate(directory / "dev.key")
    assert cert.expires_at is not None
    assert before + 90 * 86400 - 2 <= cert.expires_at <= time.time() + 90 * 86400
    assert "expires at:" in err
    assert out.strip() == cert.public_key.decode()
    # The zcert format stays readable by pyzmq (czmq's reader).
    public, secret = zmq.auth.load_certificate(str(directory / "dev.key_secret"))
    assert public == cert.public_key and secret is not None


@pytest.mark.parametrize("bad", ["90x", "0d", "-3d", "soon"])
def test_keygen_valid_for_refuses_bad_durations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    code, _, err = run(capsys, "keygen", "--dir", str(tmp_path), f"--valid-for={bad}", "dev")
    assert code == 2
    assert "duration" in err
    assert not (tmp_path / "dev.key").exists()


def test_keys_list_shows_state_and_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = keys_dir(tmp_path)
    certs.create_certificates(directory, "forever")
    certs.create_certificates(
        directory, "soon", {"expires-at": certs.format_expiry(time.time() + 86400)}
    )
    code, out, err = run(capsys, "keys", "list", "--dir", str(directory))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "PUBLIC", "KEY", "EXPIRES", "AT", "STATE"]
    assert "forever" in lines[1] and "never" in lines[1] and "valid" in lines[1]
    assert "soon" in lines[2] and "expires in" in lines[2]
    for line in lines[1:]:  # no secret key, ever
        assert "secret" not in line
    certs.create_certificates(
        directory, "old", {"expires-at": certs.format_expiry(time.time() - 10)}
    )
    code, out, _ = run(capsys, "keys", "list", "--dir", str(directory))
    assert code == 1 and "EXPIRED" in out
    os.chmod(directory, 0o777)
    code, out, err = run(capsys, "keys", "list", "--dir", str(directory))
    assert code == 1 and "writable by" in err
    os.chmod(directory, 0o700)


def test_keys_revoke_moves_the_certificate_and_signs_the_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = keys_dir(tmp_path)
    certs.create_certificates(directory, "alice")
    certs.create_certificates(directory, "bob")
    alice, _ = certs.load_certificate(directory / "alice.key")
    bob, _ = certs.load_certificate(directory / "bob.key")
    verify_file, signing_file, _ = generate_signing_key(tmp_path / "signing", "ops")
    crl = tmp_path / "revoked.list"
    code, out, err = run(
        capsys,
        "keys", "revoke", "--dir", str(directory), "alice",
        "--list", str(crl), "--signing-key", signing_file,
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"revoked alice ({alice.decode()})")
    assert "revocation list" in out
    assert not (directory / "alice.key").exists()
    assert list((directory / "revoked").glob("alice.*.key"))
    first = load_revocation_list(crl, verify_file)
    assert first.keys == {alice}
    # By public key this time; the list keeps alice and gains bob, with a higher sequence.
    # ("--" first: a Z85 key may begin with "-", which argparse would take for an option.)
    code, _, err = run(
        capsys,
        "keys", "revoke", "--dir", str(directory),
        "--list", str(crl), "--signing-key", signing_file, "--", bob.decode(),
    )  # fmt: skip
    assert code == 0, err
    second = load_revocation_list(crl, verify_file)
    assert second.keys == {alice, bob} and second.sequence > first.sequence
    code, _, err = run(capsys, "keys", "revoke", "--dir", str(directory), "nobody")
    assert code == 1 and "no certificate" in err
    code, _, err = run(capsys, "keys", "revoke", "--dir", str(directory), "x", "--list", "l")
    assert code == 2


def test_keys_expire(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = keys_dir(tmp_path)
    certs.create_certificates(directory, "dev", {"role": "sensor"})
    code, _, err = run(
        capsys, "keys", "expire", "--dir", str(directory), "dev", "--at", "2030-01-02T03:04:05Z"
    )
    assert code == 0, err
    cert = certs.read_certificate(directory / "dev.key")
    assert cert.expires_at == certs.parse_expiry("2030-01-02T03:04:05Z")
    assert cert.metadata["role"] == b"sensor"  # the rest of the certificate is kept
    assert stat.S_IMODE(os.stat(directory / "dev.key").st_mode) == 0o644
    code, _, _ = run(capsys, "keys", "expire", "--dir", str(directory), "dev", "--now")
    assert code == 0
    after = certs.read_certificate(directory / "dev.key")
    assert after.expires_at is not None and after.expires_at <= time.time()
    assert zmq.auth.load_certificate(str(directory / "dev.key"))[0] == cert.public_key
    code, _, err = run(capsys, "keys", "expire", "--dir", str(directory), "dev", "--at", "later")
    assert code == 2 and "ISO 8601" in err


def test_keygen_rotate_then_keys_rotate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = keys_dir(tmp_path)
    code, _, err = run(capsys, "keygen", "--dir", str(directory), "--rotate", "server")
    assert code == 1 and "does not exist" in err
    code, current_public, _ = run(capsys, "keygen", "--dir", str(directory), "server")
    assert code == 0
    code, next_public, err = run(capsys, "keygen", "--dir", str(directory), "--rotate", "server")
    assert code == 0, err
    current, upcoming = load_server_keys(directory, "server")
    assert upcoming is not None and upcoming != current
    assert stat.S_IMODE(os.stat(directory / "server.next.key_secret").st_mode) == 0o600
    code, _, err = run(capsys, "keys", "rotate", "--dir", str(directory), "server")
    assert code == 0, err
    promoted, _ = certs.load_certificate(directory / "server.key")
    assert promoted.decode() == next_public.strip()
    assert load_server_keys(directory, "server") == (upcoming, None)
    retired = list((directory / "retired").glob("server.*.key"))
    assert len(retired) == 1
    assert certs.load_certificate(retired[0])[0].decode() == current_public.strip()
    code, _, err = run(capsys, "keys", "rotate", "--dir", str(directory), "server")
    assert code == 1 and "keygen --rotate" in err


def test_keys_command_runs_from_the_shell(tmp_path: Path) -> None:
    directory = keys_dir(tmp_path)
    certs.create_certificates(directory, "dev")
    result = subprocess.run(
        [sys.executable, "-m", "safezmq", "keys", "list", "--dir", str(directory)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "dev" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "safezmq", "keys"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
