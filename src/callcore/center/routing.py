"""Caller-attribute routing: region, product, sticky agent, VIP priority and dedicated agents.

These are small injectable policies. :class:`CallerRouter` combines them into
a :class:`~callcore.center.queue.QueuedCall` ready for
:meth:`Acd.enqueue <callcore.center.queue.Acd.enqueue>`:

* region: caller number → region (pluggable :class:`RegionLookup`, a sample
  China/E.164 prefix table in :data:`SAMPLE_PREFIXES`) → required skill;
* product chosen in the IVR → required skill;
* sticky: the last agent who served this number, within a timeout;
* VIP: customer tier → priority (joins ahead) and base score (counts as
  extra seconds of waiting); a tier may go straight to a dedicated agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class RegionLookup(Protocol):
    def region(self, number: str) -> str | None: ...


def normalize_cn(number: str) -> str:
    """Normalize a dialled/presented number to E.164 digits without ``+``.

    ``+8610...``, ``008610...``, ``8610...`` and the national ``010...`` all
    give ``8610...``; Chinese mobile numbers (``1xxxxxxxxxx``, 11 digits) get
    ``86`` in front. Other digit strings are returned without ``+``/``00``.
    """
    n = "".join(ch for ch in number if ch.isdigit() or ch == "+")
    if n.startswith("+"):
        return n[1:]
    if n.startswith("00"):
        return n[2:]
    if n.startswith("0"):
        return "86" + n[1:]
    if len(n) == 11 and n.startswith("1"):
        return "86" + n
    return n


#: Sample E.164 prefix → region table: a few Chinese area codes grouped into
#: the regions a national bank might staff, plus some international codes.
#: Real deployments plug in a full numbering-plan database.
SAMPLE_PREFIXES: Mapping[str, str] = {
    "8610": "north",  # Beijing
    "8622": "north",  # Tianjin
    "86311": "north",  # Shijiazhuang
    "8621": "east",  # Shanghai
    "8625": "east",  # Nanjing
    "86571": "east",  # Hangzhou
    "86512": "east",  # Suzhou
    "8620": "south",  # Guangzhou
    "86755": "south",  # Shenzhen
    "86757": "south",  # Foshan
    "8623": "southwest",  # Chongqing
    "8628": "southwest",  # Chengdu
    "8627": "central",  # Wuhan
    "86731": "central",  # Changsha
    "8629": "northwest",  # Xi'an
    "86": "china",  # anything else in China (mobiles included)
    "852": "hongkong",
    "853": "macau",
    "886": "taiwan",
    "1": "intl",
    "44": "intl",
    "65": "intl",
}


class PrefixRegionLookup:
    """Longest-prefix match of the normalized number in a prefix table."""

    def __init__(
        self,
        table: Mapping[str, str] = SAMPLE_PREFIXES,
        normalize=normalize_cn,
    ) -> None:
        self.table = dict(table)
        self.normalize = normalize
        self._lengths = sorted({len(p) for p in self.table}, reverse=True)

    def region(self, number: str) -> str | None:
        n = self.normalize(number)
        for ln in self._lengths:
            r = self.table.get(n[:ln]) if len(n) >= ln else None
            if r is not None:
                return r
        return None


class StickyMemory:
    """Remembers which agent last served a number (for ``timeout`` seconds) and
    how many calls from that number were answered (for screen pops)."""

    def __init__(self, timeout: float = 24 * 3600.0) -> None:
        self.timeout = timeout
        self._last: dict[str, tuple[str, float]] = {}
        self._count: dict[str, int] = {}

    def remember(self, number: str, agent_id: str, now: float) -> None:
        self._last[number] = (agent_id, now)
        self._count[number] = self._count.get(number, 0) + 1

    def last_agent(self, number: str, now: float) -> str | None:
        """The last agent within the timeout, else ``None``."""
        got = self._last.get(number)
        if got is None:
            return None
        agent_id, at = got
        if now - at > self.timeout:
            return None
        return agent_id

    def previous(self, number: str) -> tuple[int, str | None]:
        """``(answered calls so far, last agent ever)`` for screen pops."""
        got = self._last.get(number)
        return self._count.get(number, 0), got[0] if got else None


@dataclass(frozen=True, slots=True)
class VipRule:
    """What a customer tier gets: ``priority`` (higher joins ahead), ``base_score``
    (seconds of waiting credited at join) and optionally a ``dedicated_agent``
    tried exclusively for ``dedicated_wait`` seconds."""

    priority: int = 0
    base_score: float = 0.0
    dedicated_agent: str | None = None
    dedicated_wait: float = 30.0


@dataclass(slots=True)
class CallerRouter:
    """Turns caller attributes into routing hints for a queued call."""

    regions: RegionLookup | None = None
    region_skills: Mapping[str, str] = field(default_factory=dict)
    product_skills: Mapping[str, str] = field(default_factory=dict)
    sticky: StickyMemory | None = None
    vip: Mapping[str, VipRule] = field(default_factory=dict)
    skill_level: int = 1

    def hints(
        self,
        number: str,
        now: float,
        *,
        product: str | None = None,
        tier: str | None = None,
    ) -> dict:
        """Keyword arguments for :class:`~callcore.center.queue.QueuedCall`."""
        skills: dict[str, int] = {}
        region = self.regions.region(number) if self.regions else None
        if region is not None and region in self.region_skills:
            skills[self.region_skills[region]] = self.skill_level
        if product is not None and product in self.product_skills:
            skills[self.product_skills[product]] = self.skill_level
        out: dict = {"skills": skills, "region": region, "product": product, "tier": tier}
        if self.sticky is not None:
            out["preferred_agent"] = self.sticky.last_agent(number, now)
        rule = self.vip.get(tier) if tier else None
        if rule is not None:
            out["priority"] = rule.priority
            out["base_score"] = rule.base_score
            if rule.dedicated_agent:
                out["dedicated_agent"] = rule.dedicated_agent
                out["dedicated_until"] = now + rule.dedicated_wait
        return out

    def direct_agent(self, tier: str | None) -> str | None:
        """The dedicated agent for a tier (VIP direct line, bypassing the IVR), if any."""
        rule = self.vip.get(tier) if tier else None
        return rule.dedicated_agent if rule else None
