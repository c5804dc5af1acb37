"""Shared helpers of the live contact-center tests (real SIP on loopback)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "switch"))  # sip_peers: free_port, need, ...


def bank_example():
    """The bank hotline example module (examples/bank_hotline.py)."""
    if "bank_hotline" in sys.modules:
        return sys.modules["bank_hotline"]
    spec = importlib.util.spec_from_file_location(
        "bank_hotline", ROOT / "examples" / "bank_hotline.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bank_hotline"] = module
    spec.loader.exec_module(module)
    return module


def check_acd_consistency(center) -> None:
    """Invariants over the ACD event stream: no agent ever holds two calls; every
    answered call was offered to that agent first; per queue, answered + abandoned
    + overflowed never exceeds offered."""
    from callcore.center.events import AgentStateChanged, CallAnswered, CallOfferedEvent

    holding: dict[str, str | None] = {}
    offered: set[tuple[str, str]] = set()
    for ev in center.stats.events:
        if isinstance(ev, AgentStateChanged):
            if ev.new in ("reserved", "on_call") and ev.old == "idle":
                assert holding.get(ev.agent_id) is None, f"{ev.agent_id} got a second call: {ev}"
                holding[ev.agent_id] = ev.call_id
            elif ev.new in ("idle", "wrap_up"):
                holding[ev.agent_id] = None
        elif isinstance(ev, CallOfferedEvent):
            offered.add((ev.call_id, ev.agent_id))
        elif isinstance(ev, CallAnswered):
            assert (ev.call_id, ev.agent_id) in offered
    for q, t in center.stats.totals.items():
        assert t.answered + t.abandoned + t.overflowed <= t.offered, (q, t)
