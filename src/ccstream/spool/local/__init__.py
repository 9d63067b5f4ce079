"""The local store: a spool is a directory of append-only files on this machine."""
