"""docs/deployment.md's reverse proxy configs, run as they are written: Debian's nginx and
haproxy on loopback, TLS with a throw-away certificate, each a foreground process of its own
(its own prefix, pid and log files) that the caller stops by its id."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
_SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def binary(name: str) -> str | None:
    """The path of ``name`` (also looked for in /usr/sbin, where Debian puts nginx)."""
    return shutil.which(name, path=_SBIN)


def snippets(language: str) -> list[str]:
    """The bodies of docs/deployment.md's code blocks fenced as ``language``, in order."""
    pattern = re.compile(rf"^```{re.escape(language)}\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return pattern.findall(DOC.read_text())


def sub_path_site() -> str:
    """The guide's nginx site with its ``location /`` replaced by the guide's sub-path
    location (``/ccstream/``, for a server started with ``--root-path /ccstream``)."""
    site, location = snippets("nginx")[:2]
    assert "location /ccstream/ {" in location
    start = site.index("    location / {")
    end = site.index("    }\n", start) + len("    }\n")
    return site[:start] + location + site[end:]


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM), valid for a day."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key


def fill(config: str, *, listen: int, backend: int, cert: Path, key: Path) -> str:
    """The documented config with this test's ports and files: the public port 443 becomes
    127.0.0.1:``listen``, the server's 8765 ``backend``, the certificate paths ours."""
    both = cert.with_name("both.pem")  # haproxy's crt: certificate and key in one file
    both.write_bytes(cert.read_bytes() + key.read_bytes())
    replaced = {
        "listen 443 ssl;": f"listen 127.0.0.1:{listen} ssl;",
        "bind :443 ssl": f"bind 127.0.0.1:{listen} ssl",
        "127.0.0.1:8765": f"127.0.0.1:{backend}",
        "/etc/ssl/ccstream.example.key": str(key),
        "crt /etc/ssl/ccstream.example.pem": f"crt {both}",
        "/etc/ssl/ccstream.example.pem": str(cert),
    }
    for old, new in replaced.items():
        config = config.replace(old, new)
    return config


def nginx(site: str, folder: Path) -> list[str]:
    """The command line running ``site`` (what goes in nginx's ``http`` block) in the
    foreground, with every file it writes under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    temps = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        "daemon off;\n"
        "master_process off;\n"  # one process: the id the test stops is all of nginx
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {folder / 'access.log'};\n"
        f"{temps}\n"
        f"{site}\n"
        "}\n"
    )
    path = binary("nginx")
    assert path is not None
    return [path, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)]


def haproxy(config: str, folder: Path) -> list[str]:
    """The command line running ``config`` in the foreground (``-db``)."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "haproxy.cfg"
    conf.write_text(config)
    path = binary("haproxy")
    assert path is not None
    return [path, "-db", "-f", str(conf)]


def start(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Run ``command`` (output into ``log``) and wait until ``port`` on 127.0.0.1 accepts."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise RuntimeError(f"{command[0]} did not start: {log.read_text()}") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM by its id, SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
