"""Callee local time from the dialed number: a prefix → IANA time-zone table.

:func:`timezone_for` maps an E.164 number to one zone, the longest matching
prefix winning (``+1212…`` → ``America/New_York``, ``+86…`` → ``Asia/Shanghai``).
When it cannot tell (an unlisted NANP area code, an Australian mobile), it
returns ``None`` = *unknown*, and :func:`zones_for` gives every zone the
number's country spans; the dial gate then allows a call only when the window
is open in **all** of them (for ``+1``: the continental US zones). A country
absent from both tables has no zones at all and the gate refuses to call it.

Integrators with a better numbering database inject their own table:
``PrefixTimezones({"1212": "America/New_York", ...}, country_zones={...})``.

:func:`to_e164` reads numbers with :func:`callcore.outbound.numbers.normalize`
(the same parser the dialing lists use), so numbers from DNC files and dialing
lists compare equal; its ``default_country`` is a calling code (``"1"``, ``"86"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .numbers import UNKNOWN_REGION, normalize, region_for_calling_code

__all__ = [
    "DEFAULT_COUNTRY_ZONES",
    "DEFAULT_PREFIXES",
    "PrefixTimezones",
    "check_zone",
    "timezone_for",
    "to_e164",
    "zones_for",
]

_NY, _CHI, _DEN, _PHX, _LA = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
)
_NANP: dict[str, tuple[str, ...]] = {
    _NY: ("201", "202", "203", "212", "215", "216", "305", "313", "404", "407", "410", "412",
          "516", "614", "617", "646", "703", "704", "718", "786", "857", "917", "919", "954",
          "973"),
    _CHI: ("210", "214", "281", "312", "314", "414", "469", "504", "512", "612", "615", "713",
           "773", "816", "832"),
    _DEN: ("303", "307", "406", "505", "720", "801"),
    _PHX: ("480", "520", "602", "623"),
    _LA: ("206", "213", "310", "323", "408", "415", "503", "510", "619", "650", "702", "818",
          "909", "916", "949"),
    "America/Anchorage": ("907",),
    "Pacific/Honolulu": ("808",),
    "America/Toronto": ("416", "514", "647"),
    "America/Vancouver": ("604",),
    "America/Edmonton": ("403",),
    "America/Halifax": ("902",),
    "America/St_Johns": ("709",),
}  # fmt: skip

#: Default prefix table: digits after ``+`` → IANA zone.
DEFAULT_PREFIXES: dict[str, str] = {
    "1" + code: zone for zone, codes in _NANP.items() for code in codes
} | {
    "86": "Asia/Shanghai",
    "852": "Asia/Hong_Kong",
    "853": "Asia/Macau",
    "886": "Asia/Taipei",
    "65": "Asia/Singapore",
    "44": "Europe/London",
    # Australia, geographic area codes. "8" covers three states, so only its
    # unambiguous sub-ranges are listed; other +618 numbers are "unknown".
    "612": "Australia/Sydney",
    "613": "Australia/Melbourne",
    "617": "Australia/Brisbane",
    "6186": "Australia/Perth",
    "6189": "Australia/Perth",
    "6188": "Australia/Adelaide",
    "61889": "Australia/Darwin",
    # Single-zone countries commonly dialled by the same centres.
    "49": "Europe/Berlin",
    "33": "Europe/Paris",
    "39": "Europe/Rome",
    "31": "Europe/Amsterdam",
    "353": "Europe/Dublin",
    "81": "Asia/Tokyo",
    "82": "Asia/Seoul",
    "91": "Asia/Kolkata",
    "60": "Asia/Kuala_Lumpur",
    "63": "Asia/Manila",
    "66": "Asia/Bangkok",
    "971": "Asia/Dubai",
    "27": "Africa/Johannesburg",
}

#: Zones a country spans, used when the prefix table cannot pick one.
#: ``+1`` is the continental US (Alaska/Hawaii area codes are all in the table).
DEFAULT_COUNTRY_ZONES: dict[str, tuple[str, ...]] = {
    "1": (_NY, _CHI, _DEN, _PHX, _LA),
    "61": (
        "Australia/Sydney",
        "Australia/Melbourne",
        "Australia/Hobart",
        "Australia/Brisbane",
        "Australia/Adelaide",
        "Australia/Darwin",
        "Australia/Perth",
    ),
}


def to_e164(raw: str, default_country: str | None = None) -> str:
    """``raw`` as ``+<digits>`` (E.164), read by :func:`~callcore.outbound.numbers.normalize`.

    International forms (``+``, ``00``; ``011`` when ``default_country == "1"``) are
    always read. A national number needs ``default_country``, a calling code
    (``"1"``, ``"86"``, ``"44"``) whose country has national numbering rules (NANP,
    China, UK); ``None`` accepts international forms only. Raises
    :class:`ValueError` (:class:`~callcore.outbound.numbers.NumberError` for the
    number) for anything else.
    """
    if default_country is None:
        region = UNKNOWN_REGION  # no national rules: only +CC… and 00CC… are read
    elif default_country.isdigit():
        region = region_for_calling_code(default_country)
    else:
        raise ValueError(f"default_country must be digits, not {default_country!r}")
    return normalize(str(raw), default_country=region).e164


def check_zone(zone: str, where: str = "") -> str:
    """``zone`` if ``zoneinfo`` knows it, else :class:`ValueError` naming it (and ``where``)."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {zone!r}{where}") from e
    return zone


def _digits(e164: str) -> str:
    return "".join(ch for ch in e164 if ch.isdigit())


class PrefixTimezones:
    """Longest-prefix lookup of a number's IANA zone; every zone is checked on load.

    ``table`` maps digit prefixes (no ``+``) to zones; ``country_zones`` maps a
    country calling code to all zones it spans (used when the table has no answer).
    """

    def __init__(
        self,
        table: Mapping[str, str] | None = None,
        country_zones: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        table = DEFAULT_PREFIXES if table is None else table
        country = DEFAULT_COUNTRY_ZONES if country_zones is None else country_zones
        self._table = {str(k).lstrip("+"): v for k, v in table.items()}
        self._country = {str(k).lstrip("+"): tuple(v) for k, v in country.items()}
        for p in (*self._table, *self._country):
            if not p.isdigit():
                raise ValueError(f"prefix {p!r} must be digits")
        for z in {*self._table.values(), *(z for zs in self._country.values() for z in zs)}:
            check_zone(z, " in the prefix table")
        self._maxlen = max((len(p) for p in (*self._table, *self._country)), default=0)

    def _longest(self, digits: str, table: Mapping[str, object]):
        for n in range(min(len(digits), self._maxlen), 0, -1):
            hit = table.get(digits[:n])
            if hit is not None:
                return hit
        return None

    def timezone_for(self, e164: str) -> str | None:
        """The number's zone, or ``None`` when the table cannot tell."""
        return self._longest(_digits(e164), self._table)

    def country_zones(self, e164: str) -> tuple[str, ...]:
        """Every zone of the number's country (empty when the country is unlisted)."""
        return self._longest(_digits(e164), self._country) or ()

    def zones_for(self, e164: str) -> tuple[str, ...]:
        """``(zone,)`` when known, else the country's zones, else ``()``."""
        tz = self.timezone_for(e164)
        return (tz,) if tz is not None else self.country_zones(e164)


_DEFAULT = PrefixTimezones()


def timezone_for(e164: str) -> str | None:
    """Zone of ``e164`` from the default table; ``None`` means unknown (be restrictive)."""
    return _DEFAULT.timezone_for(e164)


def zones_for(e164: str) -> tuple[str, ...]:
    """Zones to check for ``e164`` with the default table (:meth:`PrefixTimezones.zones_for`)."""
    return _DEFAULT.zones_for(e164)
