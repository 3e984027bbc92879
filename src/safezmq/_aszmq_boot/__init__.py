"""The start-up hook of ``python -m safezmq.aszmq``: this directory goes first on the PYTHONPATH
of the processes a launched program starts, so that its ``sitecustomize`` runs in each of them.
It is a package only so that it ships with safezmq; nothing imports it as one."""
