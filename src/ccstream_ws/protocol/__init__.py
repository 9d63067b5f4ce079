"""The protocol, sans I/O: error and close codes, JSON-RPC 2.0, params, text and wire encoding."""
