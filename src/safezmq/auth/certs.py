"""CURVE certificates on disk, in the zcert text format of czmq, libzmq's tools and pyzmq.

A certificate pair is two files: ``NAME.key`` holds the public key (share it) and
``NAME.key_secret`` the public and the secret key (never share it)::

    #   ****  Generated on 2025-01-01 12:00:00 by safezmq  ****
    #   ZeroMQ CURVE **Secret** Certificate
    #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

    metadata
        name = "value"
    curve
        public-key = "40 Z85 characters"
        secret-key = "40 Z85 characters"

What safezmq adds to pyzmq's ``zmq.auth.certs`` (whose files it reads and which reads its files):

- A secret file is created with mode 0600 from its first byte (``os.open`` with that mode, never
  chmod after the fact) and then renamed into place, so it is never readable by others, not
  even for a moment, and an existing file is replaced whole.  Public files get mode 0644.
- Loading a file that holds a secret key which group or others may read (or write) is refused
  with :class:`KeyFilePermissionError`, which says how to fix it (``chmod 600 FILE``): a secret
  that others could read must not be trusted silently.  Every secret-key file loaded or refused
  is recorded (see :func:`_loaded_key_files`) for ``audit()`` to report.
- Keys are checked (40 Z85 characters naming 32 bytes, and a secret key must match its public
  key); errors never quote a key.  Metadata that would break the file format is refused rather
  than written.
- Expiry: a certificate may carry ``expires-at = "2027-03-01T00:00:00Z"`` (UTC, ISO 8601) in
  its metadata, an ordinary zcert metadata property that czmq and pyzmq read and keep.
  :func:`read_certificate` returns it; authenticators refuse an expired key and close its live
  sessions when it expires.  A malformed ``expires-at`` makes the certificate invalid.
- :func:`scan_directory` reads an allow-list directory certificate by certificate: one that is
  malformed, or writable by group or others, is refused and reported while the others stay
  valid, and a directory writable by group or others is refused whole (anyone could add a key).
"""

from __future__ import annotations

import datetime
import glob
import os
import re
import shlex
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

from ..constants import Errno
from ..error import ZMQError
from ..protocol import z85
from ..protocol.keys import KEY_SIZE, Z85_KEY_SIZE, curve_keypair, public_from_secret

PathLike = Union[str, "os.PathLike[str]"]

#: Suffixes czmq and pyzmq use: ``NAME.key`` is public, ``NAME.key_secret`` secret.
PUBLIC_SUFFIX = ".key"
SECRET_SUFFIX = ".key_secret"
#: Modes of the files we write.  The secret file is created with its mode (not chmod-ed later).
PUBLIC_MODE = 0o644
SECRET_MODE = 0o600
#: Permission bits that must be clear on a file holding a secret key: any access by group or
#: others (read leaks the key; write lets someone swap it).
UNSAFE_SECRET_BITS = 0o077
#: A certificate is a few hundred bytes; a bigger file is not one (and is not read whole).
MAX_CERT_FILE_SIZE = 64 * 1024
#: Records of secret-key files kept for audit() (one per path; older ones dropped beyond this).
MAX_RECORDS = 4096

_NAME_CHARS = re.compile(r"[A-Za-z0-9$\-_@.&+/]+\Z")
#: The metadata property holding a certificate's expiry.
EXPIRES_AT = "expires-at"
#: Permission bits that must be clear on an allow-list directory and its public certificates:
#: whoever may write there may add a key.
UNSAFE_WRITE_BITS = 0o022

_SECRET_BANNER = """#   ****  Generated on {0} by safezmq  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

"""

_PUBLIC_BANNER = """#   ****  Generated on {0} by safezmq  ****
#   ZeroMQ CURVE Public Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.

"""


class KeyFilePermissionError(ZMQError, PermissionError):  # type: ignore[misc]
    """A file holding a CURVE secret key is accessible to group or others: refused.

    Both a ``ZMQError`` (errno EACCES) and a ``PermissionError``.  The message names the file and
    the command that fixes it; it never contains the key.
    """

    def __init__(self, path: str, mode: int) -> None:
        who = " and ".join(
            name for name, bits in (("its group", 0o070), ("other users", 0o007)) if mode & bits
        )
        msg = (
            f"refusing to load the CURVE secret key in {path!r}: the file is accessible to "
            f"{who} (mode {stat.S_IMODE(mode):04o}), so anyone who read it can impersonate its "
            f"owner. Fix the permissions with: chmod 600 {shlex.quote(path)} (and consider "
            "creating a new key pair if others may have read it)"
        )
        super().__init__(Errno.EACCES, msg)
        self.filename = path


@dataclass(frozen=True)
class KeyFileRecord:
    """A secret-key file safezmq loaded or refused (for ``audit()``)."""

    path: str
    mode: int  # the permission bits when it was read
    refused: bool

    @property
    def exposed(self) -> bool:
        """Whether group or others could access the file."""
        return bool(self.mode & UNSAFE_SECRET_BITS)


_records: dict[str, KeyFileRecord] = {}
_records_lock = threading.Lock()


def _record(path: str, mode: int, refused: bool) -> None:
    record = KeyFileRecord(os.path.abspath(path), stat.S_IMODE(mode), refused)
    with _records_lock:
        _records.pop(record.path, None)
        _records[record.path] = record
        while len(_records) > MAX_RECORDS:
            del _records[next(iter(_records))]


def _loaded_key_files() -> list[str]:
    """The (absolute) paths of every secret-key file loaded or refused so far, newest last:
    ``audit()`` checks their current modes."""
    with _records_lock:
        return list(_records)


def _key_file_records() -> list[KeyFileRecord]:
    """What was seen of each secret-key file when it was read (mode, refused), newest last."""
    with _records_lock:
        return list(_records.values())


# -- writing ----------------------------------------------------------------------------------


def _text(value: str | bytes, what: str, encoding: str = "utf-8") -> str:
    if isinstance(value, bytes):
        try:
            return value.decode(encoding)
        except UnicodeDecodeError:
            raise ValueError(f"{what} is not valid {encoding}") from None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")
    return value


def _metadata_lines(metadata: Mapping[str, str] | Mapping[bytes, bytes] | None) -> list[str]:
    """``    name = "value"`` lines, refusing what would break the format (or inject lines)."""
    lines: list[str] = []
    for key, value in (metadata or {}).items():
        name = _text(key, "a metadata name")
        text = _text(value, f"the value of metadata {name!r}")
        if not _NAME_CHARS.match(name):
            raise ValueError(
                f"metadata name {name!r} is not allowed: use letters, digits and $-_@.&+/"
            )
        if '"' in text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
            raise ValueError(
                f"the value of metadata {name!r} may not contain '\"' or control characters"
            )
        lines.append(f'    {name} = "{text}"\n')
    return lines


def _cert_text(
    banner: str,
    public_key: bytes,
    secret_key: bytes | None,
    metadata: Mapping[str, str] | Mapping[bytes, bytes] | None,
) -> bytes:
    now = datetime.datetime.now().replace(microsecond=0)
    parts = [banner.format(now), "metadata\n", *_metadata_lines(metadata), "curve\n"]
    parts.append(f'    public-key = "{public_key.decode("ascii")}"\n')
    if secret_key is not None:
        parts.append(f'    secret-key = "{secret_key.decode("ascii")}"\n')
    return "".join(parts).encode("utf-8")


def _write_file(path: str, data: bytes, mode: int) -> None:
    """Write ``path`` atomically: a new file created with ``mode`` (so it is never more open
    than that), then renamed over any old one."""
    directory = os.path.dirname(path) or "."
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, flags, mode)
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise FileExistsError(f"cannot create a temporary file next to {path!r}")
    try:
        try:
            # The umask may have cleared bits of ``mode`` (never added any); set it exactly.
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"a certificate name must be str, not {type(name).__name__}")
    bad = [sep for sep in (os.sep, os.altsep, "\0") if sep and sep in name]
    if not name or name in (".", "..") or bad:
        raise ValueError(f"certificate name {name!r} is not a plain file name (no path separators)")


def create_certificates(
    key_dir: PathLike,
    name: str,
    metadata: Mapping[str, str] | Mapping[bytes, bytes] | None = None,
) -> tuple[str, str]:
    """Create a new CURVE key pair as ``key_dir/name.key`` (public, mode 0644) and
    ``key_dir/name.key_secret`` (public and secret, mode 0600).

    Returns the paths of the public and the secret file.  Existing files of those names are
    replaced.  ``metadata`` (names and values) is written into both files.
    """
    _check_name(name)
    directory = os.fspath(key_dir)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"certificate directory {directory!r} does not exist")
    public_key, secret_key = curve_keypair()
    base = os.path.join(directory, name)
    public_file = base + PUBLIC_SUFFIX
    secret_file = base + SECRET_SUFFIX
    # The secret first: a public file never names a key pair whose secret was not stored.
    _write_file(
        secret_file, _cert_text(_SECRET_BANNER, public_key, secret_key, metadata), SECRET_MODE
    )
    _write_file(public_file, _cert_text(_PUBLIC_BANNER, public_key, None, metadata), PUBLIC_MODE)
    return public_file, secret_file


# -- reading ----------------------------------------------------------------------------------


def _read_file(path: str) -> tuple[bytes, int]:
    """The content and mode of a (small, regular) file, both from one open descriptor."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)  # O_NONBLOCK: a FIFO planted here cannot hang us
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path!r} is not a regular file, so not a certificate")
        if info.st_size > MAX_CERT_FILE_SIZE:
            raise ValueError(
                f"{path!r} is {info.st_size} bytes: too big for a certificate "
                f"(at most {MAX_CERT_FILE_SIZE})"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_CERT_FILE_SIZE:
            chunk = os.read(fd, MAX_CERT_FILE_SIZE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_CERT_FILE_SIZE:
            raise ValueError(f"{path!r} is too big for a certificate")
        return b"".join(chunks), info.st_mode
    finally:
        os.close(fd)


def _value(raw: bytes) -> bytes:
    """A ZPL value: quoted ("..." or '...') or the rest of the line."""
    raw = raw.strip()
    if raw[:1] in (b'"', b"'"):
        end = raw.find(raw[:1], 1)
        return raw[1:end] if end > 0 else raw[1:]
    return raw


def _parse_all(data: bytes, path: str) -> tuple[bytes | None, bytes | None, dict[str, bytes]]:
    """The (public, secret) Z85 keys of the ``curve`` section, unchecked, and the properties of
    the ``metadata`` section."""
    public: bytes | None = None
    secret: bytes | None = None
    metadata: dict[str, bytes] = {}
    section = b""
    for line in data.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        if line[:1] not in (b" ", b"\t"):
            section = stripped.split(b"=", 1)[0].strip()
            continue
        if b"=" not in stripped:
            continue
        if section == b"metadata":
            key, raw = stripped.split(b"=", 1)
            metadata[key.strip().decode("utf-8", "replace")] = _value(raw)
            continue
        if section != b"curve":
            continue
        name, raw = stripped.split(b"=", 1)
        name = name.strip()
        if name == b"public-key":
            if public is not None:
                raise ValueError(f"{path!r} has more than one public-key")
            public = _value(raw)
        elif name == b"secret-key":
            if secret is not None:
                raise ValueError(f"{path!r} has more than one secret-key")
            secret = _value(raw)
    return public, secret, metadata


def _check_key(key: bytes, what: str, path: str) -> bytes:
    """The raw key of a Z85 ``key``; the error never quotes the key."""
    if len(key) == Z85_KEY_SIZE:
        try:
            raw = z85.decode(key)
        except z85.Z85Error:
            pass
        else:
            if len(raw) == KEY_SIZE:
                return raw
    raise ValueError(f"the {what} in {path!r} is not a CURVE key (40 Z85 characters)")


def parse_expiry(text: str | bytes) -> float:
    """The time (seconds since the epoch) an ``expires-at`` value names: ISO 8601, UTC unless
    it says otherwise (``2027-03-01T00:00:00Z``, ``2027-03-01``).  ValueError if malformed."""
    value = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    value = value.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"expires-at {text!r} is not an ISO 8601 date (e.g. 2027-03-01T00:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def format_expiry(when: float) -> str:
    """An ``expires-at`` value for a time (seconds since the epoch), in UTC."""
    moment = datetime.datetime.fromtimestamp(int(when), datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Certificate:
    """A certificate file's content (keys as 40-character Z85 bytes; the repr shows no secret)."""

    path: str
    public_key: bytes
    secret_key: bytes | None = field(repr=False)
    metadata: dict[str, bytes] = field(default_factory=dict, hash=False)
    #: When it expires (seconds since the epoch), from its ``expires-at`` metadata; None: never.
    expires_at: float | None = None
    #: The file's permission bits when it was read.
    mode: int = 0


def read_certificate(filename: PathLike) -> Certificate:
    """A certificate file's keys, metadata and expiry; the checks of :func:`load_certificate`,
    and a malformed ``expires-at`` raises ValueError."""
    path = os.fspath(filename)
    public, secret, metadata, mode = _load(path)
    expires: float | None = None
    raw_expiry = metadata.get(EXPIRES_AT)
    if raw_expiry is not None:
        try:
            expires = parse_expiry(raw_expiry)
        except ValueError as exc:
            raise ValueError(f"{path!r}: {exc}") from None
    return Certificate(path, public, secret, metadata, expires, stat.S_IMODE(mode))


def load_certificate(filename: PathLike) -> tuple[bytes, bytes | None]:
    """The ``(public, secret)`` keys of a certificate file, as 40-character Z85 bytes.

    ``secret`` is None for a public certificate.  A missing file raises ``OSError``, a file
    without a valid public key ``ValueError``, and a file holding a secret key that group or
    others may access :class:`KeyFilePermissionError` (fix: ``chmod 600 FILE``).
    """
    public, secret, _, _ = _load(os.fspath(filename))
    return public, secret


def _load(path: str) -> tuple[bytes, bytes | None, dict[str, bytes], int]:
    data, mode = _read_file(path)
    public, secret, metadata = _parse_all(data, path)
    if secret is not None:
        refused = bool(mode & UNSAFE_SECRET_BITS)
        _record(path, mode, refused)
        if refused:
            raise KeyFilePermissionError(path, mode)
    if public is None:
        raise ValueError(f"no public key found in {path!r}")
    raw_public = _check_key(public, "public key", path)
    if secret is not None:
        raw_secret = _check_key(secret, "secret key", path)
        if public_from_secret(raw_secret) != raw_public:
            raise ValueError(f"the secret key in {path!r} does not belong to its public key")
    return public, secret, metadata, mode


def load_certificates(directory: PathLike = ".") -> dict[bytes, bool]:
    """The public keys of every ``*.key`` certificate in ``directory``, as ``{key: True}``
    (pyzmq's shape).  A file that is not a valid certificate raises (see load_certificate)."""
    return load_certificates_with_expiry(directory)[0]


def load_certificates_with_expiry(
    directory: PathLike = ".",
) -> tuple[dict[bytes, bool], dict[bytes, float]]:
    """As load_certificates, with ``{key: expiry}`` of the certificates that expire."""
    path = os.fspath(directory)
    if not os.path.isdir(path):
        raise OSError(f"invalid certificate directory: {path!r} is not a directory")
    certs: dict[bytes, bool] = {}
    expiry: dict[bytes, float] = {}
    for cert_file in sorted(glob.glob(os.path.join(glob.escape(path), "*" + PUBLIC_SUFFIX))):
        cert = read_certificate(cert_file)
        certs[cert.public_key] = True
        if cert.expires_at is not None:
            expiry[cert.public_key] = cert.expires_at
    return certs, expiry


@dataclass
class DirectoryScan:
    """An allow-list directory read certificate by certificate (see scan_directory)."""

    #: {Z85 public key: True} of the valid certificates (pyzmq's shape).
    keys: dict[bytes, bool] = field(default_factory=dict)
    #: {Z85 public key: expiry (seconds since the epoch)} of those that expire.
    expiry: dict[bytes, float] = field(default_factory=dict)
    #: One line per refused certificate (or for the directory), saying why and how to fix it.
    problems: list[str] = field(default_factory=list)


def _who_may_write(mode: int) -> str:
    return " and ".join(
        name for name, bit in (("its group", 0o020), ("other users", 0o002)) if mode & bit
    )


def scan_directory(directory: PathLike) -> DirectoryScan:
    """The valid certificates of an allow-list directory, refusing (and reporting) each one
    that is malformed or writable by group or others; a directory that group or others may
    write is refused whole.  Raises OSError only if ``directory`` is not a directory."""
    path = os.fspath(directory)
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(f"invalid certificate directory: {path!r} is not a directory")
    scan = DirectoryScan()
    if info.st_mode & UNSAFE_WRITE_BITS:
        scan.problems.append(
            f"certificate directory {path!r} is writable by {_who_may_write(info.st_mode)} "
            f"(mode {stat.S_IMODE(info.st_mode):04o}), who could add a key: every certificate "
            f"in it is refused. Fix: chmod go-w {shlex.quote(path)}"
        )
        return scan
    for cert_file in sorted(glob.glob(os.path.join(glob.escape(path), "*" + PUBLIC_SUFFIX))):
        try:
            cert = read_certificate(cert_file)
        except FileNotFoundError:
            continue  # removed while we looked: not allowed, nothing to report
        except (OSError, ValueError) as exc:
            scan.problems.append(f"certificate refused: {exc}")
            continue
        if cert.mode & UNSAFE_WRITE_BITS:
            scan.problems.append(
                f"certificate {cert_file!r} is writable by {_who_may_write(cert.mode)} "
                f"(mode {cert.mode:04o}), who could swap the key: refused. Fix: chmod go-w "
                f"{shlex.quote(cert_file)}"
            )
            continue
        scan.keys[cert.public_key] = True
        if cert.expires_at is not None:
            scan.expiry[cert.public_key] = cert.expires_at
    return scan


__all__ = [
    "EXPIRES_AT",
    "Certificate",
    "DirectoryScan",
    "KeyFilePermissionError",
    "KeyFileRecord",
    "create_certificates",
    "format_expiry",
    "load_certificate",
    "load_certificates",
    "parse_expiry",
    "read_certificate",
    "scan_directory",
]


def create_certificate_pair(
    directory: str,
    name: str,
    metadata: dict[str, str] | None = None,
    *,
    force: bool = False,
) -> tuple[str, str, bytes]:
    """What the keygen commands do: check ``name``, create ``directory`` (mode 0700) if
    missing, refuse to replace an existing pair unless ``force``, write the pair, and return
    (public file, secret file, public key).  Raises ValueError or OSError (FileExistsError)."""
    _check_name(name)  # before creating anything
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    base = os.path.join(directory, name)
    existing = [
        base + suffix for suffix in (PUBLIC_SUFFIX, SECRET_SUFFIX) if os.path.lexists(base + suffix)
    ]
    if existing and not force:
        raise FileExistsError(
            f"{existing[0]} exists; use --force to replace it (the old key pair is then lost)"
        )
    public_file, secret_file = create_certificates(directory, name, metadata)
    public, _ = load_certificate(public_file)
    return public_file, secret_file, public
