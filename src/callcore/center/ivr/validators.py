"""Digit validators for IVR collection, and masking of sensitive digits.

A validator is ``(digits: str) -> str | None``: the normalized value, or
``None`` when the input is invalid. :data:`VALIDATORS` names them for flow files.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

Validator = Callable[[str], "str | None"]


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_number(digits: str) -> str | None:
    """13–19 digits passing the Luhn check."""
    return digits if 13 <= len(digits) <= 19 and luhn_ok(digits) else None


def pin(digits: str, length: tuple[int, int] = (4, 6)) -> str | None:
    """4–6 digits, not all the same digit and not a plain ascending/descending run."""
    if not digits.isdigit() or not length[0] <= len(digits) <= length[1]:
        return None
    if len(set(digits)) == 1:
        return None
    steps = {(ord(b) - ord(a)) % 10 for a, b in itertools.pairwise(digits)}
    if steps in ({1}, {9}):
        return None
    return digits


def date(digits: str) -> str | None:
    """``YYYYMMDD`` for a real calendar date; returns ISO ``YYYY-MM-DD``."""
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
    except ValueError:
        return None


def expiry(digits: str) -> str | None:
    """Card expiry ``MMYY``; returns ``MM/YY``."""
    if len(digits) != 4 or not digits.isdigit() or not 1 <= int(digits[:2]) <= 12:
        return None
    return f"{digits[:2]}/{digits[2:]}"


def amount(digits: str, max_value: Decimal = Decimal("1000000")) -> str | None:
    """An amount keyed as digits with ``*`` for the decimal point (``125*50``)."""
    if not digits or digits.count("*") > 1 or not digits.replace("*", "").isdigit():
        return None
    whole, _, cents = digits.partition("*")
    if len(cents) > 2 or not whole:
        return None
    try:
        v = Decimal(f"{whole}.{cents or '0'}")
    except InvalidOperation:  # pragma: no cover - guarded above
        return None
    if v <= 0 or v > max_value:
        return None
    return f"{v:.2f}"


def digits_only(digits: str) -> str | None:
    return digits if digits.isdigit() else None


VALIDATORS: dict[str, Validator] = {
    "card_number": card_number,
    "pin": pin,
    "date": date,
    "expiry": expiry,
    "amount": amount,
    "digits": digits_only,
}

MASKS = ("none", "all", "last4")


def mask(value: str, how: str) -> str:
    """Mask for logs and records: ``all`` → ``****``, ``last4`` keeps the last 4."""
    if how == "none":
        return value
    if how == "all":
        return "*" * len(value)
    if how == "last4":
        return "*" * max(0, len(value) - 4) + value[-4:]
    raise ValueError(f"unknown mask {how!r}")
