"""safezmq's benchmarks, side by side with pyzmq (libzmq) when it is installed.

``python -m safezmq.bench`` (or ``safezmq bench``) runs everything and prints a table; the
workers (``throughput.py``, ``latency.py``, ...) are run by path in fresh processes, so they ship
in the package and work from an installed wheel.  No timing assertion lives in a test.
"""
