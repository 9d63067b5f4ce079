"""The Python client of the protocol."""
