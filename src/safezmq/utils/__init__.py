"""Utilities with pyzmq's module layout (``safezmq.utils.z85``)."""
