"""Plain HTTP requests to a server on loopback, and ``/metrics`` read with Prometheus' parser."""

from __future__ import annotations

import http.client
import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """``GET path`` on 127.0.0.1:``port``: the status, the headers (lower-case names), the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def get_json(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _, body = get(port, path, headers)
    return status, json.loads(body)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def metrics(port: int, token: str | None = None, path: str = "/metrics") -> Samples:
    """The samples of ``/metrics``, by (name, sorted labels), parsed by ``prometheus_client``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, head, body = get(port, path, headers)
    assert status == 200, body
    assert head["content-type"].startswith("text/plain; version=0.0.4"), head
    out: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return out


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
