"""The pluggable bank-integration interface used by IVR lookups, and an in-memory sample.

An integration implements :class:`BankSystem` (every method async). The IVR's
lookup node calls one method by name with a timeout; any exception or timeout
takes the flow's error branch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


class BankError(Exception):
    """A lookup failed on the bank side (unknown card, back end down...)."""


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    tier: str = "standard"  # standard / gold / private ...
    numbers: tuple[str, ...] = ()


class BankSystem(Protocol):
    async def identify(self, number: str) -> Customer | None: ...
    async def customer_tier(self, customer_id: str) -> str: ...
    async def balance(self, card: str) -> str: ...
    async def card_status(self, card: str) -> str: ...
    async def report_card_lost(self, card: str) -> str: ...
    async def activate_card(self, card: str, pin: str) -> str: ...
    async def verify_pin(self, card: str, pin: str) -> str: ...


#: method names a flow may call (anything else is refused at load)
OPERATIONS: tuple[str, ...] = (
    "identify",
    "customer_tier",
    "balance",
    "card_status",
    "report_card_lost",
    "activate_card",
    "verify_pin",
)


@dataclass(slots=True)
class Card:
    number: str
    customer_id: str
    balance: Decimal = Decimal("0")
    status: str = "active"  # active / inactive / lost / blocked
    pin: str = ""


@dataclass
class InMemoryBank:
    """A sample bank for tests and demos. ``delay`` (s) slows every call;
    ``fail`` makes every call raise :class:`BankError` (outage simulation)."""

    customers: dict[str, Customer] = field(default_factory=dict)
    cards: dict[str, Card] = field(default_factory=dict)
    delay: float = 0.0
    fail: bool = False
    calls: list[tuple[str, tuple]] = field(default_factory=list)

    @classmethod
    def sample(cls) -> InMemoryBank:
        b = cls()
        b.add_customer(Customer("C1", "Li Wei", "standard", ("+8613800000001",)))
        b.add_customer(Customer("C2", "Zhang Min", "private", ("+8613800000002",)))
        b.add_customer(Customer("C3", "Wang Fang", "standard", ("+8613800000003",)))
        b.cards["4111111111111111"] = Card("4111111111111111", "C1", Decimal("1523.40"), pin="2580")
        b.cards["5500005555555559"] = Card(
            "5500005555555559", "C2", Decimal("98000.00"), pin="7391"
        )
        b.cards["4012888888881881"] = Card(
            "4012888888881881", "C3", Decimal("12.00"), "inactive", "4826"
        )
        return b

    def add_customer(self, c: Customer) -> None:
        self.customers[c.id] = c

    async def _enter(self, op: str, *args) -> None:
        self.calls.append((op, args))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise BankError("core banking system unavailable")

    def _card(self, card: str) -> Card:
        try:
            return self.cards[card]
        except KeyError:
            raise BankError("unknown card") from None

    async def identify(self, number: str) -> Customer | None:
        await self._enter("identify", number)
        for c in self.customers.values():
            if number in c.numbers:
                return c
        return None

    async def customer_tier(self, customer_id: str) -> str:
        await self._enter("customer_tier", customer_id)
        c = self.customers.get(customer_id)
        return c.tier if c else "unknown"

    async def balance(self, card: str) -> str:
        await self._enter("balance", card)
        return f"{self._card(card).balance:.2f}"

    async def card_status(self, card: str) -> str:
        await self._enter("card_status", card)
        return self._card(card).status

    async def report_card_lost(self, card: str) -> str:
        await self._enter("report_card_lost", card)
        c = self._card(card)
        c.status = "lost"
        return "blocked"

    async def activate_card(self, card: str, pin: str) -> str:
        await self._enter("activate_card", card)
        c = self._card(card)
        if c.status != "inactive":
            return "not_inactive"
        if pin != c.pin:
            return "bad_pin"
        c.status = "active"
        return "activated"

    async def verify_pin(self, card: str, pin: str) -> str:
        await self._enter("verify_pin", card)
        return "ok" if self._card(card).pin == pin else "bad_pin"


def customer_attrs(c: Customer | None) -> Mapping[str, str]:
    """Flow variables set after ``identify``."""
    if c is None:
        return {"customer_id": "", "customer_name": "", "tier": "unknown"}
    return {"customer_id": c.id, "customer_name": c.name, "tier": c.tier}
