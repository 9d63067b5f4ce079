"""``ccstream_ws``'s public surface, as websockets checks its own: the top-level names are
exactly the union of the public parts' ``__all__``, each is the part's own object, and nothing
public is left out of ``__all__``."""

from __future__ import annotations

import types

import pytest

import ccstream_ws
import ccstream_ws.client
import ccstream_ws.exceptions
import ccstream_ws.protocol
import ccstream_ws.server

PARTS = (
    ccstream_ws.protocol,
    ccstream_ws.server,
    ccstream_ws.client,
    ccstream_ws.exceptions,
)


def test_top_level_all_is_the_union_of_the_parts() -> None:
    union = {name for part in PARTS for name in part.__all__}
    assert set(ccstream_ws.__all__) == union | {"__version__"}
    assert len(ccstream_ws.__all__) == len(set(ccstream_ws.__all__))


@pytest.mark.parametrize("part", PARTS, ids=lambda part: part.__name__)
def test_each_name_of_a_part_is_the_same_object_at_the_top(part: types.ModuleType) -> None:
    for name in part.__all__:
        assert getattr(ccstream_ws, name) is getattr(part, name), name


@pytest.mark.parametrize("module", [ccstream_ws, *PARTS], ids=lambda module: module.__name__)
def test_nothing_public_is_left_out_of_all(module: types.ModuleType) -> None:
    # Names a module imports for its own annotations (typing's Any) are not its surface.
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "ccstream_ws").startswith("ccstream_ws")
    }
    assert public <= set(module.__all__), public - set(module.__all__)


def test_the_client_names_without_websockets_match_the_client() -> None:
    # The names that raise "needs the [ws] extra" when websockets is missing.
    assert set(ccstream_ws._CLIENT) == set(ccstream_ws.client.__all__)


def test_every_exception_has_the_single_root() -> None:
    for name in ccstream_ws.exceptions.__all__:
        assert issubclass(getattr(ccstream_ws.exceptions, name), ccstream_ws.CCStreamWSError)
