"""callcore.center — contact-center primitives.

Sans-IO core (clock injected, no asyncio): agents (:mod:`.agents`), the ACD
queue state machine (:mod:`.queue`) with its strategies (:mod:`.strategies`)
and caller-attribute routing (:mod:`.routing`), statistics (:mod:`.stats`),
business hours (:mod:`.hours`).

Async edges: IVR nodes and runner over a ``CallPort`` (:mod:`.ivr`), bank
integration (:mod:`.bank`), voicemail store (:mod:`.voicemail`), survey
(:mod:`.survey`), screen pop / CRM webhook (:mod:`.screenpop`).
"""

from .agents import (
    Agent,
    AgentError,
    AgentPool,
    AgentState,
    AgentStatus,
    AgentTimers,
    AlreadyLoggedIn,
    Device,
    DeviceNotRegistered,
    IllegalTransition,
    NotLoggedIn,
)
from .bank import BankError, BankSystem, Customer, InMemoryBank
from .events import FakeClock
from .hours import AfterHours, BusinessHours
from .queue import Acd, AcdError, OverflowTarget, QueueConfig, QueuedCall
from .routing import CallerRouter, PrefixRegionLookup, StickyMemory, VipRule
from .screenpop import RetryPolicy, ScreenPop, ScreenPopper, pop_for_offer
from .stats import StatsCollector
from .strategies import STRATEGY_NAMES, Member, make_strategy
from .survey import CallbackTask, Survey
from .voicemail import VoicemailMessage, VoicemailStore

__all__ = [
    "STRATEGY_NAMES",
    "Acd",
    "AcdError",
    "AfterHours",
    "Agent",
    "AgentError",
    "AgentPool",
    "AgentState",
    "AgentStatus",
    "AgentTimers",
    "AlreadyLoggedIn",
    "BankError",
    "BankSystem",
    "BusinessHours",
    "CallbackTask",
    "CallerRouter",
    "Customer",
    "Device",
    "DeviceNotRegistered",
    "FakeClock",
    "IllegalTransition",
    "InMemoryBank",
    "Member",
    "NotLoggedIn",
    "OverflowTarget",
    "PrefixRegionLookup",
    "QueueConfig",
    "QueuedCall",
    "RetryPolicy",
    "ScreenPop",
    "ScreenPopper",
    "StatsCollector",
    "StickyMemory",
    "Survey",
    "VipRule",
    "VoicemailMessage",
    "VoicemailStore",
    "make_strategy",
    "pop_for_offer",
]
