"""Z85 encoding (RFC 32), at pyzmq's import path ``zmq.utils.z85``."""

from __future__ import annotations

from ..protocol.z85 import ALPHABET, Z85Error, decode, encode

#: pyzmq's names for the alphabet and its reverse map (character code -> digit value).
Z85CHARS = ALPHABET
Z85MAP = {char: index for index, char in enumerate(ALPHABET)}

__all__ = ["ALPHABET", "Z85CHARS", "Z85MAP", "Z85Error", "decode", "encode"]
