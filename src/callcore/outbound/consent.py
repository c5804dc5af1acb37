"""Consents: who agreed to be called for what, with every grant and withdrawal kept.

A consent is recorded against a number (compared in E.164, see
:func:`~callcore.outbound.regions.to_e164`) and/or a customer id, for a purpose
(a free string; the :class:`~callcore.outbound.compliance.DialGate` knows
:data:`~callcore.outbound.compliance.PURPOSES` and
:data:`~callcore.outbound.compliance.QUIET_HOURS_CONSENT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .regions import to_e164

__all__ = ["ConsentEvent", "ConsentRegistry"]


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One grant or withdrawal. ``subject`` is ``"number:+…"`` or ``"customer:<id>"``."""

    subject: str
    purpose: str
    granted: bool
    time: float
    source: str = ""


class ConsentRegistry:
    """Consents per number or customer and purpose, with their full history.

    A consent holds when the latest event (at or before ``at``) for that purpose
    on either the number or the customer is a grant; at equal times a withdrawal
    wins. Purposes are free strings; the built-in ones are
    :data:`~callcore.outbound.compliance.PURPOSES` and
    :data:`~callcore.outbound.compliance.QUIET_HOURS_CONSENT`.
    """

    def __init__(self, *, default_country: str | None = None) -> None:
        self.default_country = default_country
        self._events: dict[str, list[ConsentEvent]] = {}

    def _subjects(self, number: str | None, customer_id: Any) -> list[str]:
        subs = []
        if number is not None:
            subs.append("number:" + to_e164(number, self.default_country))
        if customer_id is not None:
            subs.append(f"customer:{customer_id}")
        return subs

    def _add(self, purpose, granted, now, number, customer_id, source) -> None:
        if not purpose or not isinstance(purpose, str):
            raise ValueError("purpose must be a non-empty string")
        subs = self._subjects(number, customer_id)
        if not subs:
            raise ValueError("give a number or a customer_id")
        for s in subs:
            self._events.setdefault(s, []).append(
                ConsentEvent(s, purpose, granted, float(now), source)
            )

    def grant(
        self,
        purpose: str,
        *,
        now: float,
        number: str | None = None,
        customer_id: Any = None,
        source: str = "",
    ) -> None:
        """Record a consent for ``purpose``."""
        self._add(purpose, True, now, number, customer_id, source)

    def withdraw(
        self,
        purpose: str,
        *,
        now: float,
        number: str | None = None,
        customer_id: Any = None,
        source: str = "",
    ) -> None:
        """Record that the consent for ``purpose`` was withdrawn."""
        self._add(purpose, False, now, number, customer_id, source)

    def has_consent(
        self, purpose: str, *, at: float, number: str | None = None, customer_id: Any = None
    ) -> bool:
        """Whether a consent for ``purpose`` is in force at time ``at``."""
        events = [
            (e.time, not e.granted)
            for s in self._subjects(number, customer_id)
            for e in self._events.get(s, ())
            if e.purpose == purpose and e.time <= at
        ]
        # latest event wins; at equal times a withdrawal (True) sorts last and wins
        return bool(events) and not max(events)[1]

    def history(self, *, number: str | None = None, customer_id: Any = None) -> list[ConsentEvent]:
        """Every event for the number and/or customer, oldest first."""
        out = [e for s in self._subjects(number, customer_id) for e in self._events.get(s, ())]
        return sorted(out, key=lambda e: e.time)
