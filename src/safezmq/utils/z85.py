"""Z85 encoding (RFC 32), at pyzmq's import path ``zmq.utils.z85``."""

from __future__ import annotations

from ..protocol.z85 import ALPHABET, Z85Error, decode, encode

__all__ = ["ALPHABET", "Z85Error", "decode", "encode"]
