"""Shared fixtures.

* ``fastpath`` runs a test once against the compiled ``_fastpath`` and once
  against its pure-Python twin ``_fastpath_py``.
* ``loop_factory`` runs a network test once on uvloop and once on stock asyncio.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from callcore import fastpath as _fp

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _fast_or_skip():
    try:
        return _fp.load(pure=False)
    except ImportError:
        if os.environ.get("CI") or os.environ.get("CALLCORE_REQUIRE_EXT"):
            raise
        pytest.skip("compiled fast path not built")


@pytest.fixture(params=["cython", "pure"])
def fastpath(request):
    """The fast-path module under test: compiled, then pure Python."""
    return _fast_or_skip() if request.param == "cython" else _fp.load(pure=True)


def _loop_factories() -> list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]]:
    out: list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]] = [
        ("asyncio", asyncio.new_event_loop)
    ]
    try:
        import uvloop

        out.insert(0, ("uvloop", uvloop.new_event_loop))
    except ImportError:  # pragma: no cover
        pass
    return out


@pytest.fixture(params=[name for name, _ in _loop_factories()])
def loop_factory(request) -> Callable[[], asyncio.AbstractEventLoop]:
    return dict(_loop_factories())[request.param]


@pytest.fixture
def arun(loop_factory) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Run a coroutine to completion on the parametrized event loop."""

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(coro)

    return run


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared not present beside the checkout")
    return SHARED
