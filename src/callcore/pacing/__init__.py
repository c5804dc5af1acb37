"""Dialer pacing policies shared by the simulator and the live dialer.

A policy is a plain object with ``decide(state, now) -> int`` (how many calls to
launch now) and ``reset()``; see :class:`PacingPolicy` and :class:`PacingState`.
"""

from .base import PacingPolicy, PolicyError, checked
from .compliance import AbandonLedger, ComplianceGuard, ComplianceRules
from .estimate import Recent
from .handle import HandleTimeModel
from .policies import (
    AbandonBudget,
    ErlangPredictive,
    Preview,
    Progressive,
    VicidialAdaptive,
    overflow_dials,
)
from .state import PacingState

__all__ = [
    "AbandonBudget",
    "AbandonLedger",
    "ComplianceGuard",
    "ComplianceRules",
    "ErlangPredictive",
    "HandleTimeModel",
    "PacingPolicy",
    "PacingState",
    "PolicyError",
    "Preview",
    "Progressive",
    "Recent",
    "VicidialAdaptive",
    "checked",
    "overflow_dials",
]
