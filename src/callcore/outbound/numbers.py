"""Phone-number normalization to E.164 for outbound lists.

:func:`normalize` turns what people type into spreadsheets into one canonical form
(``+8613800138000``) and says what kind of number it is. Understood formats:

* **Separators** anywhere: spaces, dashes (also en/em dashes), dots, slashes and
  parentheses; full-width characters (``１３８``, ``＋``, ``（０１０）``) and
  non-breaking spaces from spreadsheet exports are folded to ASCII first.
* **International form**: ``+CC...``, or the country's international prefix
  (``00``; ``011`` from NANP), e.g. ``0086 138 0013 8000``, ``011 44 20 7946 0000``.
  A trunk ``0`` written after the country code (``+44 (0)20 7946 0000``) is dropped.
* **China (CN)**: mobiles ``1[3-9]`` + 9 digits, optionally prefixed ``86``/``+86``/
  ``0086``; landlines with the trunk ``0`` and a 2-digit (``010``, ``020``–``029``;
  8-digit subscriber) or 3-digit area code (``0311``, ``0571``; 7–8 digit subscriber);
  ``400``/``800`` service numbers (10 digits).
* **US/Canada (NANP)**, with ``default_country="US"`` or ``"CA"``: 10 digits,
  optional leading ``1``; toll-free codes (800, 888, …) are ``"service"``; mobile and
  landline share number ranges there, so other numbers are ``"unknown"``. NANP
  numbers outside Canada's area codes are reported as ``US``.
* **United Kingdom (GB)**, with ``default_country="GB"``: national ``0`` + 9–10
  digits; ``07`` mobiles, ``01``/``02`` landlines, ``03``/``08``/``09`` service.
* **Other countries**: only in international form; passed through when they have
  8–15 digits. The country is looked up from the calling code (``"ZZ"`` when the
  table does not know it) and the kind is ``"unknown"``.

Anything else raises :class:`NumberError` whose message says why ("too short",
"bad Chinese mobile prefix 10", "letters in number", ...).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["UNKNOWN_REGION", "NumberError", "PhoneNumber", "normalize", "region_for_calling_code"]

Kind = Literal["mobile", "landline", "service", "unknown"]

#: characters dropped as visual separators (after NFKC folding)
_SEPARATORS = frozenset(" \t-./()\u2010\u2011\u2012\u2013\u2014\u2015")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: E.164 calling codes with 1 or 2 digits; every other code has 3 digits (ITU-T E.164)
_CC_1 = frozenset({"1", "7"})
_CC_2 = _words(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98"
)
#: region for the calling codes we can name (the first region for shared codes)
_CC_REGION = {
    "1": "US", "7": "RU", "20": "EG", "27": "ZA", "30": "GR", "31": "NL", "32": "BE",
    "33": "FR", "34": "ES", "36": "HU", "39": "IT", "40": "RO", "41": "CH", "43": "AT",
    "44": "GB", "45": "DK", "46": "SE", "47": "NO", "48": "PL", "49": "DE", "51": "PE",
    "52": "MX", "53": "CU", "54": "AR", "55": "BR", "56": "CL", "57": "CO", "58": "VE",
    "60": "MY", "61": "AU", "62": "ID", "63": "PH", "64": "NZ", "65": "SG", "66": "TH",
    "81": "JP", "82": "KR", "84": "VN", "86": "CN", "90": "TR", "91": "IN", "92": "PK",
    "93": "AF", "94": "LK", "95": "MM", "98": "IR", "351": "PT", "352": "LU", "353": "IE",
    "358": "FI", "380": "UA", "852": "HK", "853": "MO", "855": "KH", "856": "LA",
    "880": "BD", "886": "TW", "966": "SA", "971": "AE", "972": "IL",
}  # fmt: skip

#: NANP area codes assigned to Canada (all others are reported as US)
_CANADA = _words(
    "204 226 236 249 250 257 263 289 306 343 354 365 367 368 382 403 416 418 428 431 "
    "437 438 450 460 468 474 506 514 519 548 579 581 584 587 604 613 639 647 672 683 "
    "705 709 742 753 778 780 782 807 819 825 867 873 879 902 905 942"
)
_NANP_TOLL_FREE = frozenset({"800", "833", "844", "855", "866", "877", "888"})
#: region reported for a calling code the table does not know; it has no national rules
UNKNOWN_REGION = "ZZ"


class NumberError(ValueError):
    """The text is not a phone number we can dial; ``str(err)`` says why."""


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A normalized number. ``national`` is the national significant number (no trunk
    prefix, no country code); ``area_code`` is national too ("10", "571") or None."""

    e164: str
    country: str
    kind: Kind
    area_code: str | None
    national: str

    def __str__(self) -> str:
        return self.e164


# --- per-country rules: classify(nsn) -> (kind, area_code) or raise NumberError -------


def _cn(nsn: str) -> tuple[Kind, str | None]:
    n = len(nsn)
    if nsn[0] == "1" and (nsn[:2] != "10" or n == 11):
        if n != 11:
            raise NumberError(_length_reason(n, 11, 11, "a Chinese mobile"))
        if nsn[1] not in "3456789":
            raise NumberError(f"bad Chinese mobile prefix {nsn[:2]}")
        return "mobile", None
    if nsn[:3] in ("400", "800"):
        if n != 10:
            raise NumberError(_length_reason(n, 10, 10, "a Chinese 400/800 number"))
        return "service", None
    if nsn[:2] == "10" or nsn[0] == "2":
        area, lengths = nsn[:2], (10, 10)  # 2-digit area code, 8-digit subscriber
    else:  # 3..9 (0 was refused before, 1x is a mobile or 10)
        area, lengths = nsn[:3], (10, 11)  # 3-digit area code, 7–8 digit subscriber
    if not lengths[0] <= n <= lengths[1]:
        raise NumberError(_length_reason(n, *lengths, f"a Chinese landline (area code {area})"))
    if nsn[len(area)] == "0":
        raise NumberError(f"bad Chinese subscriber number {nsn[len(area) :]} (starts with 0)")
    return "landline", area


def _nanp(nsn: str) -> tuple[Kind, str | None]:
    if len(nsn) != 10:
        raise NumberError(_length_reason(len(nsn), 10, 10, "a North American number"))
    if nsn[0] in "01":
        raise NumberError(f"bad North American area code {nsn[:3]}")
    if nsn[3] in "01":
        raise NumberError(f"bad North American exchange code {nsn[3:6]}")
    return ("service" if nsn[:3] in _NANP_TOLL_FREE else "unknown"), nsn[:3]


def _gb(nsn: str) -> tuple[Kind, str | None]:
    n = len(nsn)
    if nsn[0] == "7":
        if n != 10:
            raise NumberError(_length_reason(n, 10, 10, "a UK mobile"))
        return ("mobile" if nsn[1] in "1234579" else "unknown"), None
    if nsn[0] in "389":
        if not 9 <= n <= 10:
            raise NumberError(_length_reason(n, 9, 10, "a UK service number"))
        return "service", None
    if nsn[0] not in "12":
        raise NumberError(f"bad UK number prefix 0{nsn[0]}")
    if not 9 <= n <= 10:
        raise NumberError(_length_reason(n, 9, 10, "a UK landline"))
    # 02x: 2-digit area; 011x and 01x1: 3-digit; other 01xxx: 4-digit (a few small
    # towns have 5-digit codes; they are reported by their 4-digit prefix)
    if nsn[0] == "2":
        size = 2
    elif nsn[1] == "1" or nsn[2] == "1":
        size = 3
    else:
        size = 4
    return "landline", nsn[:size]


@dataclass(frozen=True, slots=True)
class _Country:
    calling_code: str
    intl_prefixes: tuple[str, ...]
    trunk: str  #: national trunk prefix dropped from national numbers
    classify: Callable[[str], tuple[Kind, str | None]]


_RULES: dict[str, _Country] = {
    "CN": _Country("86", ("00",), "0", _cn),
    "GB": _Country("44", ("00",), "0", _gb),
    "US": _Country("1", ("011", "00"), "1", _nanp),
    "CA": _Country("1", ("011", "00"), "1", _nanp),
}
_BY_CODE = {"86": "CN", "44": "GB", "1": "US"}


def region_for_calling_code(calling_code: str) -> str:
    """The region of an E.164 calling code (``"86"`` → ``"CN"``, ``"1"`` → ``"US"``),
    :data:`UNKNOWN_REGION` when the table does not name it."""
    return _CC_REGION.get(calling_code, UNKNOWN_REGION)


def _length_reason(n: int, lo: int, hi: int, what: str) -> str:
    want = str(lo) if lo == hi else f"{lo}–{hi}"
    word = "too short" if n < lo else "too long"
    return f"{word} for {what}: {n} digits, expected {want}"


def _digits(raw: str) -> tuple[bool, str]:
    """(had a leading +, the digits) or NumberError for stray characters."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise NumberError("empty")
    plus = text.startswith("+")
    out = []
    for ch in text[1:] if plus else text:
        if "0" <= ch <= "9":
            out.append(ch)
        elif ch in _SEPARATORS:
            continue
        elif ch.isalpha():
            raise NumberError("letters in number")
        elif ch == "+":
            raise NumberError("misplaced + (only allowed at the start)")
        else:
            raise NumberError(f"unexpected character {ch!r}")
    if not out:
        raise NumberError("no digits")
    return plus, "".join(out)


def _international(digits: str) -> PhoneNumber:
    """``digits`` start with a calling code (the + or 00 is already gone)."""
    if not digits:
        raise NumberError("too short: nothing after the international prefix")
    if digits[0] == "0":
        raise NumberError("no country code after the international prefix")
    size = 1 if digits[0] in _CC_1 else 2 if digits[:2] in _CC_2 else 3
    cc, nsn = digits[:size], digits[size:]
    region = _BY_CODE.get(cc)
    if region is None:
        if not 8 <= len(digits) <= 15:
            raise NumberError(_length_reason(len(digits), 8, 15, "an international number"))
        return PhoneNumber("+" + digits, region_for_calling_code(cc), "unknown", None, nsn)
    rules = _RULES[region]
    if cc != "1" and nsn.startswith(rules.trunk):
        nsn = nsn[len(rules.trunk) :]  # "+44 (0)20 ..." / "+86 010 ..."
    return _national(nsn, region)


def _national(nsn: str, region: str) -> PhoneNumber:
    rules = _RULES[region]
    if not nsn:
        raise NumberError("too short: no number after the country code")
    if nsn[0] == "0":
        raise NumberError("too many leading zeros")
    kind, area = rules.classify(nsn)
    if rules.calling_code == "1":
        region = "CA" if area in _CANADA else "US"
    return PhoneNumber(f"+{rules.calling_code}{nsn}", region, kind, area, nsn)


def normalize(raw: str, *, default_country: str = "CN") -> PhoneNumber:
    """Normalize ``raw`` to E.164; national numbers are read by ``default_country``'s
    rules (CN, US, CA, GB). Raises :class:`NumberError` with the reason on bad input.

    >>> normalize("010-12345678").e164
    '+861012345678'
    >>> normalize("(0571) 8888 1234").area_code
    '571'
    """
    country = default_country.upper()
    if len(country) != 2 or not country.isalpha():
        raise ValueError(f"default_country must be an ISO 3166 alpha-2 code, not {country!r}")
    plus, digits = _digits(raw)
    if plus:
        return _international(digits)
    rules = _RULES.get(country)
    for prefix in rules.intl_prefixes if rules else ("00",):
        if digits.startswith(prefix):
            return _international(digits[len(prefix) :])
    if rules is None:
        why = (
            "not in international form and no default country"
            if country == UNKNOWN_REGION
            else f"no national numbering rules for {country}"
        )
        raise NumberError(f"{why}; write the number as +<country code>…")
    if country == "CN" and digits.startswith("86") and len(digits) in (12, 13):
        return _international(digits)  # "8613800138000": +86 written without the +
    if rules.calling_code == "1":
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        return _national(digits, country)
    if digits.startswith(rules.trunk):
        digits = digits[len(rules.trunk) :]
    elif country == "CN" and digits[0] != "1" and 7 <= len(digits) <= 8:
        raise NumberError(
            f"too short: {len(digits)} digits; landlines need the area code, e.g. 010-12345678"
        )
    elif country == "GB":
        raise NumberError("UK national numbers start with 0")
    return _national(digits, country)
