"""Security tests: authentication, certificates and attack scenarios."""
