"""The server: the ASGI app, its sessions, executions, HTTP routes and configuration."""
