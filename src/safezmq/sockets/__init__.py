"""Socket patterns, built from routing strategies; no I/O here."""
