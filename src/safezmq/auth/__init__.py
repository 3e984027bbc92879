"""ZAP authentication and CURVE certificates (pyzmq's ``zmq.auth``).

A safezmq server using CURVE or PLAIN refuses every client until a ZAP handler runs in its
context; these are those handlers::

    from safezmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.allow("127.0.0.1")
    auth.configure_curve(domain="*", location="public_keys/")

- :class:`Authenticator` (this module): the decisions; you read its socket yourself.
- :class:`~safezmq.auth.thread.ThreadAuthenticator`: answers in a background thread.
- :class:`~safezmq.auth.asyncio.AsyncioAuthenticator`: answers on the running asyncio loop.
- :func:`create_certificates`, :func:`load_certificate`, :func:`load_certificates`: key pairs in
  the zcert file format of czmq and pyzmq, with safe file modes (:func:`read_certificate` adds
  the metadata and the ``expires-at`` expiry).

Beyond pyzmq (docs/security.md, "Key management"): revocation that closes live connections at
once, ``configure_curve(..., watch=True)``, certificate expiry, signed revocation lists
(:mod:`safezmq.auth.revocation`) and server-key rotation (:mod:`safezmq.auth.rotation`).
"""

from __future__ import annotations

from .base import CURVE_ALLOW_ANY, Authenticator
from .certs import (
    Certificate,
    KeyFilePermissionError,
    create_certificates,
    load_certificate,
    load_certificates,
    read_certificate,
)
from .revocation import RevocationListError
from .rotation import begin_rotation, cancel_rotation, finish_rotation, rotation_status

__all__ = [
    "CURVE_ALLOW_ANY",
    "Authenticator",
    "Certificate",
    "KeyFilePermissionError",
    "RevocationListError",
    "begin_rotation",
    "cancel_rotation",
    "create_certificates",
    "finish_rotation",
    "load_certificate",
    "load_certificates",
    "read_certificate",
    "rotation_status",
]
