"""The ZAP handler (RFC 27) with pyzmq's ``zmq.auth.Authenticator`` API.

A safezmq CURVE or PLAIN server refuses every client until a ZAP handler is bound in its
context at ``inproc://zeromq.zap.01``: an Authenticator is that handler.  ``start()`` binds its
REP socket; each request is answered by :meth:`Authenticator.handle_zap_message` (this base
class does not read the socket itself: see ``ThreadAuthenticator`` and
``AsyncioAuthenticator``).

Decisions are pyzmq's: an allow list (only those addresses pass) or a deny list (those never
pass); NULL clients pass unless an address rule stops them; PLAIN clients need a user name and
password configured for the domain (user id: the user name); CURVE clients need their public key
in the domain's certificate directory, a yes from the domain's credentials provider, or
``CURVE_ALLOW_ANY`` (user id: ``curve_user_id(key)``, the Z85 key by default).  Success is
status 200, refusal 400, an error in the handler 500.

Where safezmq is stricter:

- Passwords are compared in constant time (``hmac.compare_digest``) on the bytes the client
  sent; an unknown user name costs the same comparison.  No password (nor any credential
  frame) ever reaches a log line, a repr or an exception; user names and addresses are logged
  escaped, so a client cannot forge log lines.
- A malformed request (too few frames, wrong version, wrong number of credentials) gets a 400
  reply and an error in the handler (a credentials provider that raises, a user id that does
  not fit ZAP's 255 octets) a 500: the handler always replies, so its REP socket never jams,
  and never crashes.
- An unknown mechanism is refused (pyzmq lets an allow-listed address through with any
  mechanism).  GSSAPI is not supported: ``configure_gssapi`` raises.
- Addresses are compared as IP addresses (``::ffff:127.0.0.1`` is ``127.0.0.1``,
  ``0:0::1`` is ``::1``).

Key management beyond libzmq (none of it changes the wire: libzmq peers see ordinary
handshakes, refusals and disconnections):

- Revocation at once: when the authenticator stops allowing a CURVE key or a PLAIN user (its
  certificate removed, ``configure_*`` called again, the credentials provider's answer
  changed, a revocation list naming it, its certificate expired), every live session of the
  context that ZAP admitted with it is closed within a second, with the monitor events
  EVENT_HANDSHAKE_FAILED_AUTH (value 403) and EVENT_DISCONNECTED; its reconnection is refused.
  The key keeper thread (``keeper.py``) does this while the authenticator runs.
- ``configure_curve(..., watch=True)`` follows the directory (inotify on Linux, polling
  elsewhere); certificates that are malformed or writable by group or others, or a directory
  writable by group or others, are refused and reported (``problems``, the log, ``audit()``).
- Certificates may carry ``expires-at`` (see ``certs.py``): an expired key is refused.
- ``configure_revocation_list`` follows a list of revoked keys signed with Ed25519
  (``revocation.py``) for every domain.
"""

from __future__ import annotations

import functools
import hmac
import inspect
import ipaddress
import logging
import os
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..constants import SocketType
from ..context import Context
from ..error import ZMQError
from ..protocol import z85
from ..protocol.zap import MAX_STRING, ZAP_ENDPOINT, ZAP_VERSION
from .certs import PUBLIC_SUFFIX, load_certificates_with_expiry, scan_directory
from .keeper import Keeper
from .revocation import RevocationList, RevocationListError, load_revocation_list, load_verify_key

#: ``configure_curve(location=CURVE_ALLOW_ANY)`` accepts every client key (the key still
#: proves the client holds its secret; nobody checks who that is).
CURVE_ALLOW_ANY = "*"
VERSION = ZAP_VERSION

Credentials = Sequence[bytes]
Reply = tuple[bytes, bytes, bytes, bytes]  # request id, status code, status text, user id

#: Longest piece of client-supplied text (a user name...) put in a log line.
_LOG_TEXT = 64
_DUMMY_PASSWORD = os.urandom(32)
#: Running authenticators, for audit() (which reports their allow-lists' expiry).
_running: weakref.WeakSet[Authenticator] = weakref.WeakSet()


def _shown(value: str | bytes) -> str:
    """Client-supplied text made safe for a log line: escaped (no control characters, so no
    forged lines) and truncated."""
    text = repr(value[:_LOG_TEXT])
    if isinstance(value, bytes):
        text = text[1:]
    return text + ("..." if len(value) > _LOG_TEXT else "")


def _canonical_address(address: str) -> str:
    """An IP address in one canonical text form (IPv4-mapped IPv6 as IPv4); other text as is."""
    if not isinstance(address, str):  # ip_address() would read 4 or 16 bytes as a packed IP
        raise TypeError(f"an address must be a str such as '127.0.0.1', not {type(address)}")
    return _canonical_text(address)


@functools.lru_cache(maxsize=1024)
def _canonical_text(address: str) -> str:
    # Cached (bounded): parsing an address costs more than the rest of a ZAP request, and a
    # server's requests come from a few addresses over and over.
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class _Passwords(Mapping[str, Any]):
    """A domain's user names and passwords: the caller's mapping (so later changes to it take
    effect, as in pyzmq), behind a repr that shows no password."""

    __slots__ = ("_users",)

    def __init__(self, users: Mapping[str, Any]) -> None:
        self._users = users

    def __getitem__(self, username: str) -> Any:
        return self._users[username]

    def __iter__(self) -> Iterator[str]:
        return iter(self._users)

    def __len__(self) -> int:
        return len(self._users)

    def __repr__(self) -> str:
        return f"<passwords of {len(self._users)} users: redacted>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("password tables cannot be pickled")


class Authenticator:
    """ZAP authentication for the sockets of ``context`` (pyzmq's ``zmq.auth.Authenticator``).

    Until configured, NULL clients are allowed (when the server set a ZAP domain) and every
    PLAIN and CURVE client is refused.  This class does not read its socket: call
    ``await auth.handle_zap_message(auth.zap_socket.recv_multipart())`` yourself, or use
    ``ThreadAuthenticator``/``AsyncioAuthenticator``.
    """

    context: Context
    encoding: str
    allow_any: bool
    credentials_providers: dict[str, Any]
    zap_socket: Any
    passwords: dict[str, Mapping[str, Any]]
    certs: dict[str, dict[bytes, Any]]
    log: Any

    def __init__(
        self,
        context: Context | None = None,
        encoding: str = "utf-8",
        log: Any = None,
    ) -> None:
        self.context = context if context is not None else Context.instance()
        self.encoding = encoding
        self.allow_any = False
        self.credentials_providers = {}
        self.zap_socket = None
        self._allowed: set[str] = set()
        self._denied: set[str] = set()
        #: {domain: {username: password}}
        self.passwords = {}
        #: {domain: {z85 public key: True}}
        self.certs = {}
        self.log = log if log is not None else logging.getLogger("safezmq.auth")
        #: {domain: {z85 public key: expiry (seconds since the epoch)}}
        self.expiry: dict[str, dict[bytes, float]] = {}
        #: {domain: directory} of configure_curve(watch=True)
        self.watched: dict[str, str] = {}
        #: What is refused and why (unsafe or malformed certificates, refused revocation lists),
        #: one line each; audit() reports them.
        self.problems: dict[str, list[str]] = {}
        #: {path: (verify key, the list in force)} of configure_revocation_list
        self.revocation_lists: dict[str, tuple[bytes, RevocationList]] = {}
        self._revoked: frozenset[bytes] = frozenset()
        self._keeper: Keeper | None = None
        self._expiry_checked = time.time()

    # -- lifecycle ----------------------------------------------------------------------------

    def _socket_class(self) -> Callable[..., Any]:
        from ..socket import Socket

        return Socket

    def start(self) -> None:
        """Create the REP socket and bind it at ``inproc://zeromq.zap.01``.

        Raises ZMQError (EADDRINUSE) if the context already has a ZAP handler."""
        sock = self.context.socket(SocketType.REP, socket_class=self._socket_class())
        sock.linger = 0
        try:
            sock.bind(ZAP_ENDPOINT)
        except ZMQError:
            sock.close()
            raise
        self.zap_socket = sock
        self._start_keeper()
        self.log.debug("Starting")

    def stop(self) -> None:
        """Close the ZAP socket (servers of this context then refuse PLAIN/CURVE clients)."""
        self._stop_keeper()
        sock, self.zap_socket = self.zap_socket, None
        if sock is not None:
            sock.close()

    def _start_keeper(self) -> None:
        if self._keeper is None or not self._keeper.is_alive():
            self._keeper = Keeper(self)
            for domain, directory in self.watched.items():
                self._keeper.follow(f"dir:{domain}", directory, PUBLIC_SUFFIX)
            for path in self.revocation_lists:
                self._keeper.follow(f"list:{path}", path, None)
            self._keeper.start()
            _running.add(self)

    def _gone(self) -> bool:
        """Is the ZAP socket gone (stopped, or closed with its context)?  The keeper ends."""
        sock = self.zap_socket
        return sock is None or bool(sock.closed)

    def _stop_keeper(self) -> None:
        keeper, self._keeper = self._keeper, None
        _running.discard(self)
        if keeper is not None:
            keeper.stop()

    def __repr__(self) -> str:
        state = "running" if self.zap_socket is not None else "stopped"
        parts = [state]
        if self._allowed:
            parts.append(f"allow={sorted(self._allowed)}")
        if self._denied:
            parts.append(f"deny={sorted(self._denied)}")
        if self.passwords:
            parts.append(f"plain domains={sorted(self.passwords)}")
        if self.allow_any:
            parts.append("curve=allow-any")
        elif self.certs or self.credentials_providers:
            parts.append(f"curve domains={sorted({*self.certs, *self.credentials_providers})}")
        return f"<{type(self).__module__}.{type(self).__name__} {' '.join(parts)}>"

    # -- configuration ------------------------------------------------------------------------

    def _configure(self, change: Callable[[], None]) -> None:
        """Apply a configuration change (ThreadAuthenticator runs it in its own thread)."""
        change()

    def allow(self, *addresses: str) -> None:
        """Allow only these IP addresses (NULL clients from them pass; PLAIN and CURVE clients
        from them still authenticate).  Cannot be combined with deny()."""
        wanted = {_canonical_address(a) for a in addresses}

        def change() -> None:
            if self._denied:
                raise ValueError("Only use allow or deny, not both")
            self._allowed.update(wanted)

        self._configure(change)
        self._warn_not_ip(wanted)
        self.log.debug("Allowing %s", ",".join(sorted(wanted)))

    def deny(self, *addresses: str) -> None:
        """Refuse these IP addresses (others continue to authentication).  Cannot be combined
        with allow()."""
        wanted = {_canonical_address(a) for a in addresses}

        def change() -> None:
            if self._allowed:
                raise ValueError("Only use allow or deny, not both")
            self._denied.update(wanted)

        self._configure(change)
        self._warn_not_ip(wanted)
        self.log.debug("Denying %s", ",".join(sorted(wanted)))

    def _warn_not_ip(self, addresses: set[str]) -> None:
        for address in sorted(addresses):
            try:
                ipaddress.ip_address(address)
            except ValueError:
                self.log.warning(
                    "%s is not an IP address; ZAP requests carry IP addresses, so it never matches",
                    _shown(address),
                )

    def configure_plain(
        self, domain: str = "*", passwords: Mapping[str, str | bytes] | None = None
    ) -> None:
        """Accept PLAIN clients of ``domain`` ("*": the default domain) with these
        ``{username: password}``.  Later changes to the mapping take effect."""
        if passwords:
            table = _Passwords(passwords)

            def change() -> None:
                self.passwords[domain] = table

            self._configure(change)
        self.log.debug("Configure plain: %s", _shown(domain))
        self._changed()

    def configure_curve(
        self,
        domain: str = "*",
        location: str | os.PathLike[str] = ".",
        *,
        watch: bool = False,
    ) -> None:
        """Accept CURVE clients of ``domain`` whose public key has a certificate (``*.key``) in
        the directory ``location``, or every client with ``location=CURVE_ALLOW_ANY``.

        Without ``watch``, call it again after adding or removing certificates (a key no longer
        there is revoked: its live sessions close).  A directory that cannot be read raises
        (and leaves the domain with no keys: its clients are refused), as does any invalid
        certificate in it.

        With ``watch=True`` the directory is followed while the authenticator runs: a
        certificate added is allowed at the next handshake, one removed is revoked.  A
        certificate that is malformed or writable by group or others is refused and reported
        (``problems``, the log), the others stay valid; a directory writable by group or others
        is refused whole."""
        self.log.debug("Configure curve: %s[%s]", _shown(domain), _shown(os.fspath(location)))
        self._unwatch(domain)
        if location == CURVE_ALLOW_ANY:

            def allow_any() -> None:
                self.allow_any = True

            self._configure(allow_any)
            self._changed()
            return
        directory = os.fspath(location)
        try:
            if watch:
                scan = scan_directory(directory)
                certs, expiry = scan.keys, scan.expiry
                self._report(f"dir:{domain}", scan.problems)
            else:
                certs, expiry = load_certificates_with_expiry(directory)
        except Exception as exc:

            def forget() -> None:
                self.allow_any = False
                self.certs.pop(domain, None)
                self.expiry.pop(domain, None)

            self._configure(forget)
            self._changed()
            self.log.error("Failed to load CURVE certs from %s: %s", _shown(directory), exc)
            raise

        def change() -> None:
            self.allow_any = False
            self.certs[domain] = certs
            self.expiry[domain] = expiry

        self._configure(change)
        if watch:
            self.watched[domain] = directory
            if self._keeper is not None:
                self._keeper.follow(f"dir:{domain}", directory, PUBLIC_SUFFIX)
        self._changed()

    def _unwatch(self, domain: str) -> None:
        if self.watched.pop(domain, None) is not None:
            self.problems.pop(f"dir:{domain}", None)
            if self._keeper is not None:
                self._keeper.unfollow(f"dir:{domain}")

    def configure_revocation_list(
        self, path: str | os.PathLike[str], verify_key: str | os.PathLike[str] | bytes
    ) -> None:
        """Refuse, in every domain, the CURVE keys a signed revocation list names (see
        ``safezmq.auth.revocation``), and close their live sessions.  ``verify_key``: the
        Ed25519 verify key (a ``NAME.sign`` file, 40 Z85 characters or 32 bytes).

        The file is followed while the authenticator runs: a new list (with a higher
        ``sequence``) takes effect at once; one that does not verify, or an older one, is
        refused and reported, and the list in force stays.  Raises RevocationListError if the
        list does not verify now."""
        file = os.path.abspath(os.fspath(path))
        key = load_verify_key(
            verify_key if isinstance(verify_key, bytes) else os.fspath(verify_key)
        )
        revoked = load_revocation_list(file, key)

        def change() -> None:
            self.revocation_lists[file] = (key, revoked)
            self._revoked = frozenset().union(*(r.keys for _, r in self.revocation_lists.values()))

        self._configure(change)
        self.log.info(
            "revocation list %s in force: sequence %d, %d keys",
            _shown(file),
            revoked.sequence,
            len(revoked.keys),
        )
        if self._keeper is not None:
            self._keeper.follow(f"list:{file}", file, None)
        self._changed()

    def revalidate(self) -> None:
        """Check every live session again now (the keeper does it within a second of any
        change it can see; call this after changing what a credentials provider answers, to
        have it done at once)."""
        self._changed()

    def _changed(self) -> None:
        keeper = self._keeper
        if keeper is not None:
            keeper.wake()

    def _report(self, source: str, problems: list[str]) -> None:
        """Log what a source refuses, when that changes."""
        if self.problems.get(source, []) == problems:
            return
        for line in problems:
            if line not in self.problems.get(source, []):
                self.log.warning("%s", line)
        if problems:
            self.problems[source] = list(problems)
        else:
            self.problems.pop(source, None)

    # -- what the keeper calls (in its thread) ------------------------------------------------

    def _reload(self, source: str) -> None:
        """A followed directory or revocation list changed: read it again."""
        kind, _, name = source.partition(":")
        if kind == "dir":
            directory = self.watched.get(name)
            if directory is None:
                return
            try:
                scan = scan_directory(directory)
            except OSError as exc:
                scan_problems = [f"certificate directory {directory!r} unreadable ({exc}): refused"]
                certs: dict[bytes, bool] = {}
                expiry: dict[bytes, float] = {}
            else:
                scan_problems, certs, expiry = scan.problems, scan.keys, scan.expiry
            self._report(source, scan_problems)

            def change() -> None:
                if self.watched.get(name) == directory:
                    self.certs[name] = certs
                    self.expiry[name] = expiry

            self._configure(change)
        elif kind == "list":
            entry = self.revocation_lists.get(name)
            if entry is None:
                return
            key, current = entry
            try:
                revoked = load_revocation_list(name, key)
                if revoked.sequence < current.sequence:
                    raise RevocationListError(
                        f"the revocation list {name!r} has sequence {revoked.sequence}, older "
                        f"than the one in force ({current.sequence}): a rollback"
                    )
            except (OSError, ValueError) as exc:
                self._report(source, [f"revocation list refused, the previous one stays: {exc}"])
                return
            self._report(source, [])

            def apply() -> None:
                self.revocation_lists[name] = (key, revoked)
                self._revoked = frozenset().union(
                    *(r.keys for _, r in self.revocation_lists.values())
                )

            self._configure(apply)

    def _next_expiry(self, now: float) -> float | None:
        """The first certificate expiry still to come."""
        upcoming = [
            when for table in list(self.expiry.values()) for when in table.values() if when > now
        ]
        return min(upcoming) if upcoming else None

    def _expiry_passed(self, now: float) -> bool:
        """Did a certificate expire since the last call?"""
        since, self._expiry_checked = self._expiry_checked, now
        return any(
            since < when <= now for table in list(self.expiry.values()) for when in table.values()
        )

    def _revalidate(self, run: Callable[[Any], Any]) -> int:
        """Close the live sessions whose key or user is no longer allowed."""
        client = getattr(self.context, "_zap", None)
        if client is None:
            return 0
        now = time.time()
        doomed = set()
        for admission in client.admissions():
            try:
                allowed = self._still_allowed(admission, now, run)
            except Exception as exc:
                self.log.error(
                    "revocation check failed (%s); the session is closed", type(exc).__name__
                )
                allowed = False
            if not allowed:
                doomed.add(admission)
        if not doomed:
            return 0
        count = int(client.revoke(doomed.__contains__))
        self.log.info("closed %d live session(s) whose key or user is no longer allowed", count)
        return count

    def _still_allowed(self, admission: Any, now: float, run: Callable[[Any], Any]) -> bool:
        """Would the key or user a live session was admitted with be admitted now?"""
        domain = admission.domain or "*"
        if admission.mechanism == "CURVE" and admission.key is not None:
            z85_key = z85.encode(admission.key)
            if z85_key in self._revoked or self._expired(domain, z85_key, now):
                return False
            if type(self)._authenticate_curve is not Authenticator._authenticate_curve:
                return True  # a subclass decides in its own way: only lists and expiry apply
            if self.allow_any:
                return True
            if self.credentials_providers:
                provider = self.credentials_providers.get(domain)
                if provider is None:
                    return False
                result = provider.callback(domain, z85_key)
                if inspect.isawaitable(result):
                    result = run(result)
                return bool(result)
            keys = self.certs.get(domain)
            return bool(keys and keys.get(z85_key))
        if admission.mechanism == "PLAIN":
            if type(self)._authenticate_plain is not Authenticator._authenticate_plain:
                return True
            users = self.passwords.get(domain)
            try:
                username = admission.user_id.decode(self.encoding)
            except UnicodeDecodeError:
                return False
            return users is not None and username in users
        return True

    def _expired(self, domain: str, z85_key: bytes, now: float) -> bool:
        when = self.expiry.get(domain, {}).get(z85_key)
        return when is not None and when <= now

    def configure_curve_callback(self, domain: str = "*", credentials_provider: Any = None) -> None:
        """Accept CURVE clients of ``domain`` for which ``credentials_provider.callback(domain,
        z85_key)`` returns true (or an awaitable of true)."""

        def change() -> None:
            self.allow_any = False
            if credentials_provider is not None:
                self.credentials_providers[domain] = credentials_provider

        self._configure(change)
        if credentials_provider is None:
            self.log.error("None credentials_provider provided for domain:%s", _shown(domain))
        self._changed()

    def configure_gssapi(self, domain: str = "*", location: str | None = None) -> None:
        """GSSAPI is not supported by safezmq."""
        raise NotImplementedError(
            "safezmq does not implement the GSSAPI mechanism; use CURVE (or PLAIN on a trusted "
            "network) instead"
        )

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The User-Id of a CURVE client (its Z85 public key).  Override to map keys to
        names; called only for clients that are allowed."""
        return z85.encode(client_public_key).decode("ascii")

    # -- requests -----------------------------------------------------------------------------

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        """Answer one ZAP request (the frames after the envelope, as a REP socket gives them).
        Always sends a reply, whatever ``msg`` holds."""
        frames = [bytes(f) for f in msg]
        try:
            reply = await self._decide(frames)
        except Exception as exc:
            # Only the type: a message could quote whatever the failing code was handed.
            self.log.error(
                "ZAP handler error (%s); the client is refused with status 500",
                type(exc).__name__,
            )
            request_id = frames[1] if len(frames) > 1 else b""
            reply = (request_id, b"500", b"Internal error", b"")
        result = self._send_zap_reply(*reply)
        if inspect.isawaitable(result):
            await result

    async def _decide(self, frames: list[bytes]) -> Reply:
        if len(frames) < 6:
            self.log.error("Invalid ZAP message, not enough frames: %d", len(frames))
            request_id = frames[1] if len(frames) > 1 else b""
            return request_id, b"400", b"Not enough frames", b""
        version, request_id, raw_domain, raw_address, identity, mechanism = frames[:6]
        credentials = frames[6:]
        if version != VERSION:
            self.log.error("Invalid ZAP version: %s", _shown(version))
            return request_id, b"400", b"Invalid version", b""
        domain = raw_domain.decode(self.encoding, "replace")
        address = _canonical_address(raw_address.decode(self.encoding, "replace"))
        if self.log.isEnabledFor(logging.DEBUG):  # five escapings a request otherwise
            self.log.debug(
                "request_id: %s, domain: %s, address: %s, identity: %s, mechanism: %s",
                _shown(request_id),
                _shown(domain),
                _shown(address),
                _shown(identity),
                _shown(mechanism),
            )

        allowed = False
        denied = False
        reason = b"NO ACCESS"
        if self._allowed:
            if address in self._allowed:
                allowed = True
                self.log.debug("PASSED (allowed) address=%s", _shown(address))
            else:
                denied = True
                reason = b"Address not allowed"
                self.log.debug("DENIED (not allowed) address=%s", _shown(address))
        elif self._denied:
            if address in self._denied:
                denied = True
                reason = b"Address denied"
                self.log.debug("DENIED (denied) address=%s", _shown(address))
            else:
                allowed = True
                self.log.debug("PASSED (not denied) address=%s", _shown(address))

        user_id = "anonymous"
        if not denied:
            if mechanism == b"NULL":
                if credentials:
                    self.log.error("Invalid NULL credentials: %d frames", len(credentials))
                    return request_id, b"400", b"Invalid credentials", b""
                if not allowed:
                    self.log.debug("ALLOWED (NULL)")
                allowed = True
            elif mechanism == b"PLAIN":
                # Even an allowed address must authenticate.
                if len(credentials) != 2:
                    self.log.error("Invalid PLAIN credentials: %d frames", len(credentials))
                    return request_id, b"400", b"Invalid credentials", b""
                raw_user, password = credentials
                allowed, reason, user_id = self._check_plain(domain, raw_user, password)
            elif mechanism == b"CURVE":
                if len(credentials) != 1 or len(credentials[0]) != 32:
                    self.log.error("Invalid CURVE credentials")
                    return request_id, b"400", b"Invalid credentials", b""
                key = credentials[0]
                allowed, reason = await self._authenticate_curve(domain, key)
                if allowed:
                    user_id = self.curve_user_id(key)
            else:
                allowed = False
                reason = b"Unsupported mechanism"
                self.log.debug("DENIED (unsupported mechanism %s)", _shown(mechanism))

        if not allowed:
            return request_id, b"400", reason, b""
        encoded = user_id.encode(self.encoding, "replace")
        if len(encoded) > MAX_STRING:
            self.log.error("User-Id longer than %d octets; the client is refused", MAX_STRING)
            return request_id, b"500", b"User-Id too long", b""
        return request_id, b"200", b"OK", encoded

    def _check_plain(
        self, domain: str, raw_user: bytes, password: bytes
    ) -> tuple[bool, bytes, str]:
        try:
            username = raw_user.decode(self.encoding)
        except UnicodeDecodeError:
            username = None
        if username is None:
            hmac.compare_digest(password, _DUMMY_PASSWORD)  # the same work as a real check
            self.log.debug("DENIED (PLAIN) user name is not valid %s", self.encoding)
            return False, b"Invalid username", "anonymous"
        allowed, reason = self._authenticate_plain(domain, username, password)
        return allowed, reason, username

    def _authenticate_plain(
        self, domain: str, username: str, password: str | bytes
    ) -> tuple[bool, bytes]:
        """PLAIN: is ``password`` the one configured for ``username`` in ``domain``?"""
        given = password if isinstance(password, bytes) else password.encode(self.encoding)
        if not self.passwords:
            reason = b"No passwords defined"
            self.log.debug("DENIED (PLAIN) %s", reason.decode())
            return False, reason
        if not domain:
            domain = "*"
        users = self.passwords.get(domain)
        expected: Any = None
        if users is None:
            reason = b"Invalid domain"
        else:
            expected = users.get(username)
            reason = b"Invalid username" if expected is None else b"Invalid password"
        if expected is None:
            hmac.compare_digest(given, _DUMMY_PASSWORD)  # the same work as a real check
            allowed = False
        else:
            if isinstance(expected, str):
                expected = expected.encode(self.encoding)
            allowed = hmac.compare_digest(given, bytes(expected))
        if allowed:
            self.log.debug(
                "ALLOWED (PLAIN) domain=%s username=%s", _shown(domain), _shown(username)
            )
            return True, b"OK"
        self.log.debug(
            "DENIED (PLAIN) domain=%s username=%s: %s",
            _shown(domain),
            _shown(username),
            reason.decode(),
        )
        return False, reason

    async def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, bytes]:
        """CURVE: is ``client_key`` (32 raw bytes) accepted in ``domain``?"""
        if not domain:
            domain = "*"
        z85_key = z85.encode(client_key)
        if z85_key in self._revoked:
            self.log.debug("DENIED (CURVE) revoked client_key=%s", z85_key.decode("ascii"))
            return False, b"Key revoked"
        if self._expired(domain, z85_key, time.time()):
            self.log.debug("DENIED (CURVE) expired client_key=%s", z85_key.decode("ascii"))
            return False, b"Key expired"
        if self.allow_any:
            self.log.debug("ALLOWED (CURVE allow any client)")
            return True, b"OK"
        if self.credentials_providers:
            provider = self.credentials_providers.get(domain)
            if provider is None:
                return False, b"Unknown domain"
            result = provider.callback(domain, z85_key)
            if inspect.isawaitable(result):
                result = await result
            allowed = bool(result)
            how = "CURVE auth_callback"
        else:
            keys = self.certs.get(domain)
            if keys is None:
                return False, b"Unknown domain"
            allowed = bool(keys.get(z85_key))
            how = "CURVE"
        self.log.debug(
            "%s (%s) domain=%s client_key=%s",
            "ALLOWED" if allowed else "DENIED",
            how,
            _shown(domain),
            z85_key.decode("ascii"),
        )
        return (True, b"OK") if allowed else (False, b"Unknown key")

    def _send_zap_reply(
        self,
        request_id: bytes,
        status_code: bytes,
        status_text: bytes,
        user_id: str | bytes = "anonymous",
    ) -> Any:
        """Send the reply (what the socket's send returns: an awaitable for asyncio sockets)."""
        if status_code != b"200":
            user_id = b""
        if isinstance(user_id, str):
            user_id = user_id.encode(self.encoding, "replace")
        self.log.debug("ZAP reply code=%s text=%s", status_code.decode(), status_text.decode())
        sock = self.zap_socket
        if sock is None:
            self.log.error("ZAP reply dropped: the authenticator is stopped")
            return None
        return sock.send_multipart([VERSION, request_id, status_code, status_text, user_id, b""])


__all__ = ["CURVE_ALLOW_ANY", "Authenticator"]
