"""Logging over ZeroMQ: ``PUBHandler`` publishes log records, ``python -m safezmq.log`` prints them.

The counterpart of pyzmq's ``zmq.log``; the handler lives in :mod:`safezmq.log.handlers`.
"""
