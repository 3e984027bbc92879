"""The secure defaults, in one object, and the one explicit way to relax each of them.

A ``Policy`` belongs to a Context.  ``Policy()`` is safezmq's default; ``Policy.compatible()``
behaves like libzmq for programs that need it; ``SAFEZMQ_POLICY=compatible`` selects the latter
for unmodified pyzmq programs.  Every relaxation shows up in ``Context.audit()``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from .constants import Errno
from .error import ZMQError
from .protocol.limits import DEFAULT_MAX_MESSAGE_SIZE

if TYPE_CHECKING:
    from .transport.endpoint import Endpoint

#: Mode of ipc socket files: only the owner may connect (the seed's IPC hardening).
DEFAULT_IPC_MODE = 0o600

ENV_VAR = "SAFEZMQ_POLICY"
DEFAULT_MAX_CONNECTIONS = 65_536
DEFAULT_MAX_PENDING_HANDSHAKES = 256
DEFAULT_PIPE_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_SUBSCRIPTIONS = 65_536
DEFAULT_MAX_SUBSCRIPTION_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Policy:
    """Each field is a secure default; its docstring says what relaxing it allows."""

    #: NULL (unencrypted, unauthenticated) tcp to or from a non-loopback address.  Off: the
    #: threat analysis asks for mandatory CURVE on untrusted networks.
    allow_plaintext_network: bool = False
    #: PLAIN over non-loopback tcp.  Off: PLAIN sends the password in clear.
    allow_plain_network: bool = False
    #: A CURVE server (or a NULL server with a ZAP domain) whose context has no ZAP handler
    #: refuses clients.  When False such a server lets every client in, as libzmq does
    #: ("encryption without client authentication").  A PLAIN server always needs a handler.
    require_zap: bool = True
    #: Default MAXMSGSIZE of new sockets (-1: unlimited, libzmq's default).
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    #: recv_pyobj() unpickles network data, which executes code chosen by the sender.
    allow_pickle: bool = False
    #: Mode of ipc socket files created by bind.
    ipc_mode: int = DEFAULT_IPC_MODE
    #: Connections one bound endpoint serves at once; beyond it new ones are closed at once.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    #: Handshakes in progress per bound endpoint.  At the cap a handshake whose peer has been
    #: silent for a second is dropped for the newcomer; otherwise accepting waits until one
    #: finishes (a crowd of silent connections must not hold memory or lock clients out, and
    #: a burst of real clients must not be turned into evictions).
    max_pending_handshakes: int = DEFAULT_MAX_PENDING_HANDSHAKES
    #: Bytes queued in each direction of each pipe, on top of the SNDHWM/RCVHWM message
    #: counts (0: no byte limit, as libzmq).  1000 messages of unlimited size are unlimited
    #: memory; at this budget a full pipe behaves like one at its HWM (PUB drops, PUSH
    #: blocks), even with HWM 0.
    pipe_max_bytes: int = DEFAULT_PIPE_MAX_BYTES
    #: Subscriptions one subscriber may hold at a PUB/XPUB, and their total size; beyond
    #: either the subscriber is disconnected (LIMIT_EXCEEDED).  CVE-2021-20236 was an
    #: unbounded subscription trie.
    max_subscriptions: int = DEFAULT_MAX_SUBSCRIPTIONS
    max_subscription_bytes: int = DEFAULT_MAX_SUBSCRIPTION_BYTES
    #: pgm:// and epgm:// endpoints (PGM multicast).  Off: PGM has no encryption and no
    #: authentication at all (no ZMTP handshake, so no CURVE): every host that can join the
    #: group reads every message, and any host that can reach it can inject messages and
    #: repair traffic that subscribers accept as genuine.
    allow_multicast: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.max_message_size, int) or self.max_message_size < -1:
            raise ZMQError(Errno.EINVAL, "Policy.max_message_size must be -1 or a size in bytes")
        if not isinstance(self.ipc_mode, int) or not 0 <= self.ipc_mode <= 0o777:
            raise ZMQError(Errno.EINVAL, "Policy.ipc_mode must be a permission mode like 0o600")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("bool", bool) and not isinstance(value, bool):
                raise ZMQError(
                    Errno.EINVAL, f"Policy.{f.name} must be True or False, not {value!r}"
                )
        for name in (
            "max_connections",
            "max_pending_handshakes",
            "max_subscriptions",
            "max_subscription_bytes",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ZMQError(Errno.EINVAL, f"Policy.{name} must be a positive int")
        if not isinstance(self.pipe_max_bytes, int) or self.pipe_max_bytes < 0:
            raise ZMQError(Errno.EINVAL, "Policy.pipe_max_bytes must be 0 (no limit) or a size")

    @classmethod
    def secure(cls) -> Policy:
        return cls()

    @classmethod
    def compatible(cls) -> Policy:
        """libzmq's behaviour: plaintext anywhere, CURVE without ZAP accepts any client,
        unlimited messages, pickle allowed, ipc files as the umask makes them, PGM multicast."""
        return cls(
            allow_plaintext_network=True,
            allow_plain_network=True,
            require_zap=False,
            max_message_size=-1,
            pipe_max_bytes=0,
            allow_pickle=True,
            ipc_mode=0o777 & ~_umask(),
            allow_multicast=True,
        )

    @classmethod
    def from_environment(cls) -> Policy:
        """The policy named by SAFEZMQ_POLICY ("secure", the default, or "compatible")."""
        value = os.environ.get(ENV_VAR, "secure").strip().lower()
        if value in ("", "secure", "default"):
            return cls.secure()
        if value == "compatible":
            return cls.compatible()
        raise ZMQError(
            Errno.EINVAL,
            f"{ENV_VAR}={value!r} is not a policy; use 'secure' (the default) or 'compatible'",
        )

    def relax(self, **changes: object) -> Policy:
        """A copy with some defaults relaxed (or tightened), e.g. ``relax(allow_pickle=True)``."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def relaxations(self) -> list[tuple[str, object, object]]:
        """(field, value, secure default) for every field that differs from the default."""
        secure = Policy()
        found = []
        for f in fields(self):
            value, default = getattr(self, f.name), getattr(secure, f.name)
            if value != default:
                found.append((f.name, value, default))
        return found


def _umask() -> int:
    """The process umask, read without changing it (os.umask would race other threads)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def is_loopback(host: str) -> bool:
    """Whether a tcp endpoint's host stays on this machine ('*' and host names do not, except
    "localhost"; the interface "lo" does)."""
    if host in ("localhost", "lo"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def check_exposure(policy: Policy, endpoint: Endpoint, mechanism: int, verb: str) -> None:
    """Refuse plaintext (NULL, STREAM) or PLAIN tcp beyond loopback unless the policy allows it.

    ``mechanism`` is 0 (NULL or raw), 1 (PLAIN) or 2 (CURVE); ``verb`` is "bind"/"connect"."""
    if endpoint.transport != "tcp" or mechanism == 2 or is_loopback(endpoint.address):
        return
    where = f"{verb} {endpoint}"
    if mechanism == 0 and not policy.allow_plaintext_network:
        raise ZMQError(
            Errno.EACCES,
            f"refusing to {where} without encryption: NULL security sends everything in clear "
            "to the network. Use CURVE (curve_server=1 + curve_secretkey on the server, "
            "curve_serverkey/publickey/secretkey on the client), a loopback address, or relax "
            "the policy: Context(policy=Policy(allow_plaintext_network=True)) or "
            f"{ENV_VAR}=compatible",
        )
    if mechanism == 1 and not policy.allow_plain_network:
        raise ZMQError(
            Errno.EACCES,
            f"refusing to {where} with PLAIN: it sends the password in clear to the network. "
            "Use CURVE, a loopback address, or relax the policy: "
            "Context(policy=Policy(allow_plain_network=True))",
        )


def check_multicast(policy: Policy, endpoint: Endpoint, verb: str) -> None:
    """Refuse a pgm:// or epgm:// endpoint unless the policy allows multicast."""
    if policy.allow_multicast:
        return
    raise ZMQError(
        Errno.EACCES,
        f"refusing to {verb} {endpoint}: PGM multicast has no encryption and no "
        "authentication (no security mechanism applies to it): anyone who can join the group "
        "reads every message, and anyone who can reach it can inject messages. Prefer PUB/SUB "
        "over tcp with CURVE (an XPUB/XSUB proxy per site for large fan-outs). If you must use "
        "multicast, encrypt and sign each message in the application, and opt in with "
        "Context(policy=Policy(allow_multicast=True)) (or Policy.compatible(), or "
        f"{ENV_VAR}=compatible)",
    )
