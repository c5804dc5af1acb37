"""Do-not-call list: numbers that must not be dialled, and where each entry came from.

Numbers are compared in E.164 (:func:`~callcore.outbound.regions.to_e164`), so a
registry file's ``(212) 555-0100`` and a dialing list's ``+1 212 555 0100`` are
the same entry. An opt-out (the callee asked) is kept apart from a registry
entry: the :class:`~callcore.outbound.compliance.DialGate` honours it for every
purpose, and a later import of the same number does not turn it back into a
plain entry.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

from .regions import to_e164

__all__ = ["DncEntry", "DncLoadReport", "DoNotCallList"]


@dataclass(frozen=True, slots=True)
class DncEntry:
    """A number that must not be called: where the entry came from and when."""

    number: str
    source: str
    time: float
    opt_out: bool = False  #: the callee asked (never exempt by purpose)


@dataclass(frozen=True, slots=True)
class DncLoadReport:
    """Result of :meth:`DoNotCallList.load`; ``errors`` are ``(line, text, message)``."""

    added: int
    errors: tuple[tuple[int, str, str], ...]


class DoNotCallList:
    """Numbers not to call, compared in E.164 (``default_country`` for national forms)."""

    def __init__(self, *, default_country: str | None = None) -> None:
        self.default_country = default_country
        self._entries: dict[str, DncEntry] = {}

    def normalize(self, number: str) -> str:
        """``number`` in E.164 (raises :class:`ValueError` if it cannot be read)."""
        return to_e164(number, self.default_country)

    def add(
        self, number: str, *, now: float, source: str = "internal", opt_out: bool = False
    ) -> DncEntry:
        """List ``number``; an existing opt-out stays an opt-out."""
        n = self.normalize(number)
        old = self._entries.get(n)
        entry = DncEntry(n, source, float(now), opt_out or bool(old and old.opt_out))
        self._entries[n] = entry
        return entry

    def remove(self, number: str) -> bool:
        """Delist ``number``; ``False`` if it was not listed."""
        return self._entries.pop(self.normalize(number), None) is not None

    def get(self, number: str) -> DncEntry | None:
        """The entry for ``number``, or ``None``."""
        return self._entries.get(self.normalize(number))

    def contains(self, number: str) -> bool:
        """True when ``number`` is listed."""
        return self.get(number) is not None

    __contains__ = contains

    def __len__(self) -> int:
        return len(self._entries)

    def load(
        self, path: str | os.PathLike[str], *, now: float, source: str = "file"
    ) -> DncLoadReport:
        """Add numbers from a file: one per line, or CSV with the number in the first
        column. Blank lines and ``#`` comments are skipped, so is a first-line header
        without digits; unreadable numbers are reported with their line numbers."""
        added, errors = 0, []
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for i, row in enumerate(reader):
                line = reader.line_num
                text = ",".join(row).strip()
                if not text or text.startswith("#"):
                    continue
                cell = row[0].strip()
                if i == 0 and not any(ch.isdigit() for ch in cell):
                    continue  # header
                try:
                    self.add(cell, now=now, source=source)
                except ValueError as e:
                    errors.append((line, text, str(e)))
                else:
                    added += 1
        return DncLoadReport(added, tuple(errors))
