"""Signed revocation lists: CURVE public keys that must no longer be allowed, anywhere.

A revocation list is a small text file, signed with an Ed25519 key (PyNaCl's
``nacl.signing``) that has nothing to do with any CURVE key, so the lists can be made on one
machine and copied to every server, whose authenticators load and follow them
(``Authenticator.configure_revocation_list``)::

    # safezmq revocation list
    safezmq-revocation-list 1
    sequence 7
    issued-at 2026-12-04T19:00:00Z
    revoke rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
    signature <80 Z85 characters: the Ed25519 signature of every octet above this line>

What is checked before a list is believed: the signature (with the verify key the
authenticator was given, never one named in the file), the format of every line, every key,
and that the file is at most ``MAX_LIST_SIZE`` octets.  A list whose ``sequence`` is lower than
the one already in force is a rollback and is refused.  A refused list leaves the previous one
in force: what was revoked stays revoked.

Signing keys are stored as ``NAME.sign`` (the verify key, shareable) and ``NAME.sign_secret``
(the signing seed, mode 0600 from its creation; refused if group or others may read it).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing

from ..protocol import z85
from ..protocol.keys import KEY_SIZE, decode_key
from .certs import (
    SECRET_MODE,
    UNSAFE_SECRET_BITS,
    KeyFilePermissionError,
    PathLike,
    _check_name,
    _read_file,
    _write_file,
    format_expiry,
    parse_expiry,
)

MAGIC = b"safezmq-revocation-list 1"
#: 25,000 keys or so; a bigger file is not read.
MAX_LIST_SIZE = 1024 * 1024
VERIFY_SUFFIX = ".sign"
SIGNING_SUFFIX = ".sign_secret"
_SIGNATURE = b"signature "
_SIGNATURE_SIZE = 64


class RevocationListError(ValueError):
    """A revocation list that is not believed: malformed, badly signed, or a rollback."""


@dataclass(frozen=True)
class RevocationList:
    """A verified list: the revoked CURVE public keys (40-character Z85 bytes)."""

    sequence: int
    issued_at: float
    keys: frozenset[bytes] = field(default_factory=frozenset)

    def __repr__(self) -> str:
        return f"<RevocationList sequence={self.sequence} keys={len(self.keys)}>"


def _z85_key(value: bytes, what: str) -> bytes:
    """A 32-byte key as 40 Z85 characters, whatever form it came in."""
    return z85.encode(decode_key(value, what))


def generate_signing_key(directory: PathLike, name: str) -> tuple[str, str, bytes]:
    """Create an Ed25519 key pair for signing revocation lists: ``NAME.sign`` (the verify key,
    mode 0644) and ``NAME.sign_secret`` (the seed, mode 0600).  Returns the two paths and the
    verify key (Z85)."""
    _check_name(name)
    path = os.fspath(directory)
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700)
    signing = nacl.signing.SigningKey.generate()
    verify = z85.encode(bytes(signing.verify_key))
    secret_file = os.path.join(path, name + SIGNING_SUFFIX)
    public_file = os.path.join(path, name + VERIFY_SUFFIX)
    banner = b"# safezmq revocation-list signing key: DO NOT SHARE this file.\n"
    _write_file(
        secret_file, banner + b"signing-key " + z85.encode(bytes(signing)) + b"\n", SECRET_MODE
    )
    _write_file(
        public_file, b"# safezmq revocation-list verify key\nverify-key " + verify + b"\n", 0o644
    )
    return public_file, secret_file, verify


def _key_line(path: str, label: bytes) -> bytes:
    data, mode = _read_file(path)
    if label == b"signing-key" and mode & UNSAFE_SECRET_BITS:
        raise KeyFilePermissionError(path, mode)
    for line in data.splitlines():
        if line.startswith(label + b" "):
            return line[len(label) + 1 :].strip()
    raise ValueError(f"{path!r} holds no {label.decode()}")


def load_verify_key(source: PathLike | bytes) -> bytes:
    """A verify key (raw 32 bytes) from a ``NAME.sign`` file, or given as 40 Z85 characters or
    32 raw bytes."""
    if isinstance(source, bytes):
        return decode_key(source, "revocation-list verify key")
    return decode_key(_key_line(os.fspath(source), b"verify-key"), "revocation-list verify key")


def _signing_key(path: PathLike) -> nacl.signing.SigningKey:
    raw = decode_key(_key_line(os.fspath(path), b"signing-key"), "revocation-list signing key")
    return nacl.signing.SigningKey(raw)


def write_revocation_list(
    path: PathLike,
    keys: Iterable[bytes],
    signing_key_file: PathLike,
    sequence: int | None = None,
) -> RevocationList:
    """Write a list of revoked CURVE public keys (Z85 or raw), signed with the key in
    ``signing_key_file``.  ``sequence`` defaults to the current time in seconds, so a newer
    list always outranks an older one."""
    signing = _signing_key(signing_key_file)
    revoked = sorted({_z85_key(k, "a revoked key") for k in keys})
    issued = time.time()
    number = int(issued) if sequence is None else int(sequence)
    if number < 0:
        raise ValueError("the sequence of a revocation list cannot be negative")
    lines = [
        b"# safezmq revocation list: these CURVE public keys are no longer allowed",
        MAGIC,
        b"sequence %d" % number,
        b"issued-at " + format_expiry(issued).encode(),
        *(b"revoke " + key for key in revoked),
    ]
    body = b"\n".join(lines) + b"\n"
    signature = signing.sign(body).signature
    _write_file(os.fspath(path), body + _SIGNATURE + z85.encode(signature) + b"\n", 0o644)
    return RevocationList(number, issued, frozenset(revoked))


def parse_revocation_list(data: bytes, verify_key: bytes, origin: str = "") -> RevocationList:
    """Verify and read a revocation list's octets (see the module docstring)."""
    where = f" in {origin!r}" if origin else ""
    if len(data) > MAX_LIST_SIZE:
        raise RevocationListError(f"the revocation list{where} is larger than {MAX_LIST_SIZE}")
    start = data.rfind(b"\n" + _SIGNATURE)
    if start < 0:
        raise RevocationListError(f"the revocation list{where} is not signed")
    body, signature_line = data[: start + 1], data[start + 1 :]
    encoded = signature_line[len(_SIGNATURE) :].strip()
    try:
        signature = z85.decode(encoded)
    except z85.Z85Error:
        signature = b""
    if len(signature) != _SIGNATURE_SIZE or signature_line.rstrip(b"\n").count(b"\n"):
        raise RevocationListError(f"the signature line of the revocation list{where} is malformed")
    try:
        nacl.signing.VerifyKey(verify_key).verify(body, signature)
    except nacl.exceptions.BadSignatureError:
        raise RevocationListError(
            f"the revocation list{where} does not verify with the configured key "
            "(tampered with, or signed with another key)"
        ) from None
    sequence: int | None = None
    issued: float | None = None
    keys: set[bytes] = set()
    lines = [line for line in body.splitlines() if line.strip() and not line.startswith(b"#")]
    if not lines or lines[0] != MAGIC:
        raise RevocationListError(f"the file{where} is not a safezmq revocation list")
    for line in lines[1:]:
        name, _, value = line.partition(b" ")
        try:
            if name == b"sequence" and sequence is None:
                sequence = int(value)
            elif name == b"issued-at" and issued is None:
                issued = parse_expiry(value)
            elif name == b"revoke" and len(value) == 40:
                keys.add(_z85_key(value, "a revoked key"))
            else:
                raise ValueError("unexpected line")
        except ValueError:
            shown = repr(line[:60])[2:-1]
            raise RevocationListError(f"bad line in the revocation list{where}: {shown}") from None
    if sequence is None or issued is None:
        raise RevocationListError(f"the revocation list{where} has no sequence or issued-at")
    return RevocationList(sequence, issued, frozenset(keys))


def load_revocation_list(path: PathLike, verify_key: PathLike | bytes) -> RevocationList:
    """Read and verify a revocation list file (``verify_key``: see load_verify_key)."""
    key = load_verify_key(verify_key)
    if len(key) != KEY_SIZE:
        raise ValueError("a verify key is 32 bytes")
    file = os.fspath(path)
    # The signature, not the file's mode, is what makes a list believable: it may travel by any
    # means.  Read at most one octet more than a list may hold.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(file, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RevocationListError(f"{file!r} is not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_LIST_SIZE:
            chunk = os.read(fd, MAX_LIST_SIZE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return parse_revocation_list(b"".join(chunks), key, file)


__all__ = [
    "RevocationList",
    "RevocationListError",
    "generate_signing_key",
    "load_revocation_list",
    "load_verify_key",
    "parse_revocation_list",
    "write_revocation_list",
]
