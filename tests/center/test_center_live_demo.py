"""`run_bank_demo`: the bank hotline against the simulated crowd, short run."""

from __future__ import annotations

import asyncio

import pytest

from callcore.center.demo_bank import run_bank_demo

pytestmark = [pytest.mark.slow]


def test_bank_demo_prints_live_statistics_and_loses_no_call():
    lines: list[str] = []
    summary = asyncio.run(
        run_bank_demo(6.0, agents=4, rate=2.0, abandon=0.0, every=2.0, echo=lines.append)
    )
    text = "\n".join(lines)
    assert text.count("--- t=") >= 2  # live tables while it ran
    assert "=== summary" in text and "general" in text and "occupancy" in text
    assert summary.calls >= 5 and summary.lost == 0
    # callers still talking when the demo stops are not in ``outcomes`` yet
    answered = sum(q["answered"] for q in summary.queues.values())
    assert 1 <= summary.outcomes.get("agent", 0) <= answered
