"""Transports: endpoints and byte streams (tcp, ipc) and in-process pipes; nothing about ZMTP."""
