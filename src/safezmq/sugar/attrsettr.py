"""Options as attributes (pyzmq's ``zmq.sugar.attrsettr.AttributeSetter``)."""

from __future__ import annotations

from ..attrs import AttributeOptions as AttributeSetter

__all__ = ["AttributeSetter"]
