"""The configuration audit: every weakened setting of a context and its sockets, with a fix.

``Context.audit()`` and ``Socket.audit()`` return ``Finding`` objects; ``str(finding)`` is one
readable line.  Nothing here ever includes a key or a password.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .constants import SocketOption, SocketType
from .policy import Policy, is_loopback
from .transport.endpoint import parse_endpoint

if TYPE_CHECKING:
    from .context import Context
    from .core import SocketCore

HIGH, MEDIUM, LOW = "high", "medium", "low"
#: A client certificate expiring sooner than this is reported.
EXPIRY_WARNING = 14 * 86400

_POLICY_ADVICE = {
    "allow_plaintext_network": (
        HIGH,
        "plaintext (NULL) tcp beyond loopback is allowed",
        "use CURVE on every network endpoint and drop allow_plaintext_network",
    ),
    "allow_plain_network": (
        HIGH,
        "PLAIN (clear-text passwords) beyond loopback is allowed",
        "use CURVE instead of PLAIN on networks",
    ),
    "require_zap": (
        HIGH,
        "CURVE servers without a ZAP handler accept any client key",
        "start an authenticator (safezmq.auth) and keep require_zap=True",
    ),
    "max_message_size": (
        MEDIUM,
        "the default MAXMSGSIZE is changed (unlimited lets one peer claim all memory)",
        "keep a finite MAXMSGSIZE sized for your largest message",
    ),
    "allow_pickle": (
        HIGH,
        "recv_pyobj() may unpickle network data (code execution by the sender)",
        "use recv_json()/recv_serialized() and drop allow_pickle",
    ),
    "max_connections": (
        LOW,
        "the per-endpoint connection limit is changed",
        "keep a connection limit that fits the machine's file descriptors",
    ),
    "max_pending_handshakes": (
        LOW,
        "the per-endpoint limit on handshakes in progress is changed",
        "keep it small enough that silent connections cannot hold much memory",
    ),
    "pipe_max_bytes": (
        MEDIUM,
        "the byte budget of pipes is changed (0: a peer's queued messages may use any memory)",
        "keep a byte budget per pipe",
    ),
    "max_subscriptions": (
        LOW,
        "the per-subscriber subscription count limit is changed",
        "keep a subscription limit (CVE-2021-20236 was an unbounded subscription trie)",
    ),
    "max_subscription_bytes": (
        LOW,
        "the per-subscriber subscription size limit is changed",
        "keep a subscription size limit",
    ),
    "allow_multicast": (
        HIGH,
        "pgm/epgm multicast is allowed (no encryption, no authentication: anyone on the "
        "network segment can read and inject messages)",
        "use PUB/SUB over tcp with CURVE, or encrypt and sign each message if multicast is a must",
    ),
    "ipc_mode": (
        MEDIUM,
        "ipc socket files are created with a wider mode than 0600",
        "keep ipc_mode=0o600 and share access through a group-owned directory if needed",
    ),
}


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str
    socket: str
    endpoint: str
    what: str
    fix: str

    def __str__(self) -> str:
        where = " ".join(p for p in (self.socket, self.endpoint) if p)
        return f"[{self.severity}] {where + ': ' if where else ''}{self.what} -> {self.fix}"


def _weakened(name: str, value: object, default: object) -> bool:
    """Whether a policy value differs from the default in the unsafe direction (a tighter
    limit is not a finding)."""
    if isinstance(value, bool) or not isinstance(value, int) or not isinstance(default, int):
        return value != default
    if name == "ipc_mode":
        return bool(value & 0o022)  # connecting to a Unix socket needs write permission
    if name in ("max_message_size", "pipe_max_bytes") and value <= 0:
        return True  # unlimited
    return value > default


def audit_policy(policy: Policy) -> list[Finding]:
    findings = []
    for name, value, default in policy.relaxations():
        if not _weakened(name, value, default):
            continue
        severity, what, fix = _POLICY_ADVICE[name]
        if name in ("max_message_size", "pipe_max_bytes") and isinstance(value, int) and value > 0:
            severity = LOW
        shown = oct(value) if name == "ipc_mode" and isinstance(value, int) else repr(value)
        findings.append(Finding(severity, "", "", f"policy: {what} ({name}={shown})", fix))
    return findings


def audit_socket(sock: SocketCore) -> list[Finding]:
    if sock._closed:
        return []
    findings: list[Finding] = []
    label = f"{sock.socket_type.name} socket"
    options = sock.options
    mechanism = 0 if sock.socket_type == SocketType.STREAM else options.mechanism
    endpoints = [*sock._bound, *sock._connected]
    for text in endpoints:
        findings += _audit_endpoint(sock, label, text, mechanism)
    if mechanism == 2 and options[SocketOption.CURVE_SERVER]:
        zap_bound = sock.context._inproc.is_bound("zeromq.zap.01")
        if not zap_bound and not sock.context.policy.require_zap:
            findings.append(
                Finding(
                    HIGH,
                    label,
                    "",
                    "CURVE server accepts any client key (no ZAP handler, require_zap=False)",
                    "start safezmq.auth's authenticator with the allowed client keys",
                )
            )
    if mechanism == 2 and options[SocketOption.CURVE_SERVER] and _rotating(sock):
        findings.append(
            Finding(
                LOW,
                label,
                "",
                "server-key rotation in progress: two CURVE server keys are accepted",
                "call safezmq.auth.rotation.finish_rotation() once rotation_status() shows no "
                "client on the old key (or cancel_rotation())",
            )
        )
    if options[SocketOption.MAXMSGSIZE] < 0:
        findings.append(
            Finding(
                MEDIUM,
                label,
                "",
                "MAXMSGSIZE is unlimited: one peer can make this process allocate without bound",
                "set MAXMSGSIZE to your largest legitimate message",
            )
        )
    network = [e for e in endpoints if not e.startswith("inproc://")]
    if options[SocketOption.LINGER] < 0 and network:
        findings.append(
            Finding(
                LOW,
                label,
                "",
                "LINGER is -1: close()/term() wait forever for a peer that never reads",
                "set LINGER to a bound in milliseconds (e.g. 1000)",
            )
        )
    if options[SocketOption.HANDSHAKE_IVL] == 0 and network:
        findings.append(
            Finding(
                MEDIUM,
                label,
                "",
                "HANDSHAKE_IVL is 0: a peer may hold a connection open without ever handshaking",
                "keep a handshake deadline (the default is 30000 ms)",
            )
        )
    return findings


def _audit_endpoint(sock: SocketCore, label: str, text: str, mechanism: int) -> list[Finding]:
    try:
        endpoint = parse_endpoint(text, bind=text in sock._bound)
    except Exception:
        return []
    findings = []
    if endpoint.transport in ("pgm", "epgm"):
        findings.append(
            Finding(
                HIGH,
                label,
                text,
                "PGM multicast: every host that joins the group reads each message, and any "
                "host that reaches it can inject messages (no encryption, no authentication)",
                "use tcp with CURVE, or encrypt and sign each message in the application",
            )
        )
        return findings
    if endpoint.transport == "tcp" and not is_loopback(endpoint.address):
        if mechanism == 0:
            findings.append(
                Finding(
                    HIGH,
                    label,
                    text,
                    "plaintext on a network: messages travel unencrypted and unauthenticated",
                    "use CURVE on this endpoint",
                )
            )
        elif mechanism == 1:
            findings.append(
                Finding(
                    HIGH,
                    label,
                    text,
                    "PLAIN on a network: the password travels in clear",
                    "use CURVE on this endpoint",
                )
            )
    elif mechanism == 1:
        findings.append(
            Finding(
                LOW,
                label,
                text,
                "PLAIN in use (clear-text password, loopback only)",
                "prefer CURVE",
            )
        )
    if endpoint.transport == "ipc" and text in sock._bound and not endpoint.abstract:
        try:
            mode = stat.S_IMODE(os.stat(endpoint.address).st_mode)
        except OSError:
            mode = 0
        if mode & 0o022:  # group/others may write, i.e. connect
            findings.append(
                Finding(
                    MEDIUM,
                    label,
                    text,
                    f"ipc socket file mode is {mode:#o}: other users may connect",
                    "keep the policy's ipc_mode=0o600 or restrict the directory",
                )
            )
    return findings


def audit_key_files() -> list[Finding]:
    """Secret key files loaded although others could read them (recorded by safezmq.auth)."""
    try:
        from .auth import certs
    except ImportError:
        return []
    loaded: Any = getattr(certs, "_loaded_key_files", None)
    if loaded is None:
        return []
    findings = []
    for path in loaded():
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            continue
        if mode & 0o077:
            findings.append(
                Finding(
                    HIGH,
                    "",
                    str(path),
                    f"a secret key file is readable by others (mode {mode:#o})",
                    f"chmod 600 {path}",
                )
            )
    return findings


def _rotating(sock: SocketCore) -> bool:
    try:
        from .auth.rotation import is_rotating
    except ImportError:
        return False
    return is_rotating(sock)


def audit_authenticators(context: Context, now: float | None = None) -> list[Finding]:
    """The allow-lists of the context's running authenticators: keys that never expire, keys
    about to expire, and certificates or lists refused (nothing here shows more than a public
    key's first characters)."""
    try:
        from .auth.base import _running
    except ImportError:
        return []
    moment = time.time() if now is None else now
    findings = []
    for auth in list(_running):
        if auth.context is not context:
            continue
        for domain, keys in sorted(auth.certs.items()):
            expiry = auth.expiry.get(domain, {})
            where = auth.watched.get(domain, "")
            lasting = [key for key in keys if key not in expiry]
            if lasting:
                findings.append(
                    Finding(
                        LOW,
                        f"authenticator domain {domain!r}",
                        where,
                        f"{len(lasting)} allowed CURVE key(s) never expire",
                        "issue client certificates with an expiry (safezmq keygen --valid-for "
                        "90d) and renew them",
                    )
                )
            soon = sorted(
                (when, key)
                for key, when in expiry.items()
                if moment < when <= moment + EXPIRY_WARNING
            )
            for when, key in soon:
                days = (when - moment) / 86400
                findings.append(
                    Finding(
                        MEDIUM,
                        f"authenticator domain {domain!r}",
                        where,
                        f"CURVE key {key[:8].decode('ascii', 'replace')}... expires in "
                        f"{days:.1f} days",
                        "issue the client a new certificate (safezmq keygen --valid-for) and add "
                        "it to the allow-list",
                    )
                )
        for source, problems in sorted(auth.problems.items()):
            if source.startswith("list:"):
                fix = (
                    "put back a list signed with the configured key and a higher sequence "
                    "(safezmq keys revoke --list ... --signing-key ...)"
                )
            else:
                fix = "fix or remove what the message names; the other certificates stay valid"
            for line in problems:
                findings.append(Finding(HIGH, "authenticator", source, line, fix))
    return findings


def audit_context(context: Context) -> list[Finding]:
    findings = audit_policy(context.policy)
    for sock in list(context._sockets):
        findings += audit_socket(sock)
    findings += audit_key_files()
    findings += audit_authenticators(context)
    return findings
