"""Fixtures of the spool's property tests: each runs against every store in :data:`STORES`, on
each backend.

A second store joins the suite by adding its factory to :data:`STORES`.
"""

from __future__ import annotations

import pytest

from ccstream.spool import LocalStore
from ccstream.spool.testing import StoreFactory
from tests.spool._helpers import use_backend

STORES: dict[str, StoreFactory] = {"local": LocalStore}
"""Every store the property tests run against, by test id: a factory of an empty store whose
spools live under the given directory."""


@pytest.fixture(scope="session", params=sorted(STORES))
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """Makes an empty store of one kind (session-scoped: hypothesis runs many examples on it)."""
    return STORES[str(request.param)]


@pytest.fixture(scope="session", params=["asyncio", "trio"])
def spool_backend(request: pytest.FixtureRequest) -> str:
    """The backend whose event loop runs what a synchronous property test awaits."""
    return str(request.param)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A hook rather than a fixture: hypothesis forbids function-scoped fixtures, and a test
    # that does not ask for a backend runs on asyncio whatever the test before it ran on.
    callspec = getattr(item, "callspec", None)
    use_backend(str(callspec.params.get("spool_backend", "asyncio")) if callspec else "asyncio")
