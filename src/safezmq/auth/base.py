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
"""

from __future__ import annotations

import hmac
import inspect
import ipaddress
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..constants import SocketType
from ..context import Context
from ..error import ZMQError
from ..protocol import z85
from ..protocol.zap import MAX_STRING, ZAP_ENDPOINT, ZAP_VERSION
from .certs import load_certificates

#: ``configure_curve(location=CURVE_ALLOW_ANY)`` accepts every client key (the key still
#: proves the client holds its secret; nobody checks who that is).
CURVE_ALLOW_ANY = "*"
VERSION = ZAP_VERSION

Credentials = Sequence[bytes]
Reply = tuple[bytes, bytes, bytes, bytes]  # request id, status code, status text, user id

#: Longest piece of client-supplied text (a user name...) put in a log line.
_LOG_TEXT = 64
_DUMMY_PASSWORD = os.urandom(32)


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
        self.log.debug("Starting")

    def stop(self) -> None:
        """Close the ZAP socket (servers of this context then refuse PLAIN/CURVE clients)."""
        sock, self.zap_socket = self.zap_socket, None
        if sock is not None:
            sock.close()

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

    def configure_curve(self, domain: str = "*", location: str | os.PathLike[str] = ".") -> None:
        """Accept CURVE clients of ``domain`` whose public key has a certificate (``*.key``) in
        the directory ``location``, or every client with ``location=CURVE_ALLOW_ANY``.

        Call it again after adding or removing certificates.  A directory that cannot be read
        raises (and leaves the domain with no keys: its clients are refused)."""
        self.log.debug("Configure curve: %s[%s]", _shown(domain), _shown(os.fspath(location)))
        if location == CURVE_ALLOW_ANY:

            def allow_any() -> None:
                self.allow_any = True

            self._configure(allow_any)
            return
        try:
            certs = load_certificates(location)
        except Exception as exc:

            def forget() -> None:
                self.allow_any = False
                self.certs.pop(domain, None)

            self._configure(forget)
            self.log.error("Failed to load CURVE certs from %s: %s", _shown(str(location)), exc)
            raise

        def change() -> None:
            self.allow_any = False
            self.certs[domain] = certs

        self._configure(change)

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
        if self.allow_any:
            self.log.debug("ALLOWED (CURVE allow any client)")
            return True, b"OK"
        if not domain:
            domain = "*"
        z85_key = z85.encode(client_key)
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
