"""``execute``'s ``reconnect`` and ``subscribe``'s ``owner``, as the sans-I/O parser reads them."""

from __future__ import annotations

import pytest

from ccstream_ws import RPCError
from ccstream_ws.protocol._params import parse_execute, parse_subscribe

ID = "0" * 32


def test_reconnect_is_a_positive_number_of_seconds_or_absent() -> None:
    assert parse_execute({"argv": ["true"]}, 65536).reconnect is None
    assert parse_execute({"argv": ["true"], "reconnect": None}, 65536).reconnect is None
    assert parse_execute({"argv": ["true"], "reconnect": 2.5}, 65536).reconnect == 2.5
    for bad in (0, -1, "60", True, float("inf")):
        with pytest.raises(RPCError) as refused:
            parse_execute({"argv": ["true"], "reconnect": bad}, 65536)
        assert refused.value.code == -32602


def test_owner_is_a_bool_defaulting_to_false() -> None:
    assert parse_subscribe({"execution_id": ID}, 65536).owner is False
    assert parse_subscribe({"execution_id": ID, "owner": True}, 65536).owner is True
    with pytest.raises(RPCError) as refused:
        parse_subscribe({"execution_id": ID, "owner": "yes"}, 65536)
    assert refused.value.code == -32602
