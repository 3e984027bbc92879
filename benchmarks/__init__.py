"""safezmq benchmarks, side by side with pyzmq (libzmq) when it is installed.

``python benchmarks/run.py`` (or ``python -m benchmarks.run``) runs everything and prints a table;
``benchmarks/throughput.py`` and ``benchmarks/latency.py`` are the two-process workers, modelled
on libzmq's local_thr/remote_thr and local_lat/remote_lat.  No timing assertion lives in a test.
"""
