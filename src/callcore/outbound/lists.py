"""Contact lists: import a campaign's CSV (or API rows) into :class:`ContactRecord` s.

One bad row never stops an import. :func:`import_csv` returns an
:class:`ImportReport` with the good records in file order, one :class:`RowError`
per problem (physical line number, column, value, reason) and one
:class:`Duplicate` per repeated number. Only whole-file problems (no header, the
number column or a required column missing from the header, an undecodable file)
raise :class:`ListError`.

Columns, matched case-insensitively with surrounding spaces ignored:

* ``number`` (``number_column``): the phone number, normalized by
  :func:`callcore.outbound.numbers.normalize`;
* ``id`` (``id_column``): the record id; when the column or the cell is empty the
  id is ``line-<n>``;
* ``customer_id``, ``debt_id``, ``name``, ``timezone`` (or ``tz``, an IANA zone);
* every other column is a custom field carried to the agent's screen
  (:attr:`ContactRecord.fields`).

Files are read as UTF-8 (with or without a BOM); when that fails, as GB18030 (what
many Chinese banking systems export). :attr:`ImportReport.encoding` says which.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Literal, TextIO
from zoneinfo import ZoneInfo

from .numbers import NumberError, PhoneNumber, normalize

__all__ = [
    "ContactRecord",
    "Duplicate",
    "ImportReport",
    "ListError",
    "RowError",
    "import_csv",
    "import_csv_async",
    "import_rows",
]

Dedupe = bool | Literal["number", "customer"]
Validator = Callable[[str], object]
Source = str | os.PathLike[str] | bytes | TextIO

_EMPTY: Mapping[str, object] = MappingProxyType({})
_NO_VALIDATORS: Mapping[str, Validator] = MappingProxyType({})
_ENCODINGS = ("utf-8", "gb18030")
_BOM = b"\xef\xbb\xbf"
_VALIDATION_ERRORS = (ValueError, TypeError, ArithmeticError)


class ListError(ValueError):
    """The whole file is unusable (no header, a missing column, undecodable bytes)."""


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One dialable contact. ``number`` is E.164; ``fields`` is read-only."""

    record_id: str
    number: str
    phone: PhoneNumber
    customer_id: str | None = None
    debt_id: str | None = None
    name: str = ""
    timezone: str | None = None
    fields: Mapping[str, object] = field(default_factory=lambda: _EMPTY, hash=False)
    line: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.fields, MappingProxyType):
            object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: ``column`` is None when the problem is the row as a whole."""

    line: int
    column: str | None
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.reason}" + (f" ({self.value!r})" if self.value else "")


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A good row skipped because ``first_line`` already had the same number (or customer)."""

    line: int
    column: str
    value: str
    first_line: int

    @property
    def reason(self) -> str:
        return f"duplicate of line {self.first_line}"

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.reason} ({self.value!r})"


@dataclass(slots=True)
class ImportReport:
    """What an import produced. ``rows`` counts non-blank data rows read."""

    source: str
    encoding: str | None
    records: list[ContactRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    rows: int = 0

    @property
    def rejected(self) -> int:
        """Rows rejected (a row with three problems has three errors but counts once)."""
        return len({e.line for e in self.errors})

    def summary(self) -> str:
        """E.g. ``"1,234 imported, 3 rejected, 2 duplicates"``."""
        return (
            f"{len(self.records):,} imported, {self.rejected:,} rejected, "
            f"{len(self.duplicates):,} duplicates"
        )


@lru_cache(maxsize=1024)
def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which key of a row holds what (keys as the source spells them)."""

    number: str | None
    id: str | None
    customer: str | None
    debt: str | None
    name: str | None
    tz: str | None
    custom: tuple[str, ...]
    required: tuple[tuple[str, str | None], ...]  # (requested name, key or None)
    validators: tuple[tuple[str, Validator], ...]  # (key, function)


class _Builder:
    """Turns ``{column: text}`` rows into records, errors and duplicates."""

    def __init__(
        self,
        report: ImportReport,
        *,
        number_column: str,
        id_column: str | None,
        default_country: str,
        dedupe: Dedupe,
        required: Sequence[str],
        validators: Mapping[str, Validator],
    ) -> None:
        if dedupe not in (True, False, "number", "customer"):
            raise ValueError(f"dedupe must be True, False, 'number' or 'customer', not {dedupe!r}")
        self.report = report
        self.number_column = number_column
        self.id_column = id_column
        self.country = default_country
        self.dedupe: str | None = "number" if dedupe is True else (dedupe or None)
        self.required = tuple(required)
        self.validators = dict(validators)
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self._seen: dict[str, int] = {}  # dedupe key -> first line
        self._ids: dict[str, int] = {}  # record id -> first line

    def layout(self, keys: tuple[str, ...]) -> _Layout:
        got = self._layouts.get(keys)
        if got is None:
            got = self._layouts[keys] = self._make_layout(keys)
        return got

    def _make_layout(self, keys: tuple[str, ...]) -> _Layout:
        by_name = {k.strip().casefold(): k for k in reversed(keys)}

        def find(name: str | None) -> str | None:
            return None if name is None else by_name.get(name.strip().casefold())

        tz = find("timezone") or find("tz")
        fixed = [find(self.number_column), find(self.id_column), find("customer_id")]
        fixed += [find("debt_id"), find("name"), tz]
        custom = tuple(k for k in keys if k not in fixed and k.strip())
        return _Layout(
            *fixed,
            custom=custom,
            required=tuple((r, find(r)) for r in self.required),
            validators=tuple((k, fn) for c, fn in self.validators.items() if (k := find(c))),
        )

    def add(self, line: int, row: Mapping[str, str], layout: _Layout) -> None:
        errors: list[RowError] = []

        def get(key: str | None) -> str:
            return "" if key is None else row.get(key, "")

        raw = get(layout.number)
        number_col = layout.number or self.number_column
        phone = None
        if not raw:
            errors.append(RowError(line, number_col, "", "number missing"))
        else:
            try:
                phone = normalize(raw, default_country=self.country)
            except NumberError as exc:
                errors.append(RowError(line, number_col, raw, str(exc)))
        for name, key in layout.required:
            if not get(key):
                errors.append(RowError(line, key or name, "", "required value missing"))
        tz = get(layout.tz) or None
        if tz is not None and not _zone_ok(tz):
            errors.append(RowError(line, layout.tz, tz, "unknown time zone"))
        converted: dict[str, object] = {}
        for key, fn in layout.validators:
            value = get(key)
            if not value:
                continue  # emptiness is the business of ``required``
            try:
                result = fn(value)
            except _VALIDATION_ERRORS as exc:
                errors.append(RowError(line, key, value, str(exc) or type(exc).__name__))
                continue
            if result is False:
                errors.append(RowError(line, key, value, "failed validation"))
            elif result is not None and result is not True:
                converted[key] = result
        record_id = get(layout.id) or f"line-{line}"
        first = self._ids.get(record_id)
        if first is not None:
            errors.append(
                RowError(line, layout.id, record_id, f"duplicate id, first used on line {first}")
            )
        if errors or phone is None:
            self.report.errors.extend(errors)
            return
        customer = get(layout.customer) or None
        if self.dedupe:
            by_customer = self.dedupe == "customer" and customer is not None
            key = f"c:{customer}" if by_customer else f"n:{phone.e164}"
            first = self._seen.get(key)
            if first is not None:
                column = (layout.customer if by_customer else number_col) or number_col
                value = customer if by_customer else raw
                self.report.duplicates.append(Duplicate(line, column, value or "", first))
                return
            self._seen[key] = line
        self._ids[record_id] = line
        fields = {k: converted.get(k, row.get(k, "")) for k in layout.custom}
        self.report.records.append(
            ContactRecord(
                record_id=record_id,
                number=phone.e164,
                phone=phone,
                customer_id=customer,
                debt_id=get(layout.debt) or None,
                name=get(layout.name),
                timezone=tz,
                fields=MappingProxyType(fields),
                line=line,
            )
        )


def _parse(stream: TextIO, builder: _Builder, delimiter: str) -> None:
    report = builder.report
    reader = csv.reader(stream, delimiter=delimiter)
    end = 0  # physical line on which the previous record ended
    header: tuple[str, ...] | None = None
    layout: _Layout | None = None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.errors.append(RowError(end + 1, None, "", f"CSV syntax error: {exc}"))
            end = reader.line_num
            continue
        line, end = end + 1, reader.line_num
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue  # blank line (or only separators)
        if header is None:
            cells[0] = cells[0].lstrip("\ufeff").strip()
            header = tuple(cells)
            layout = _check_header(header, builder, report.source)
            continue
        assert layout is not None
        report.rows += 1
        if len(cells) > len(header):
            extra = ",".join(c for c in cells[len(header) :] if c)
            if extra:
                why = f"{len(cells)} values but the header has {len(header)} columns"
                report.errors.append(RowError(line, None, extra, why))
                continue
        builder.add(line, dict(zip(header, cells, strict=False)), layout)
    if header is None:
        raise ListError(f"{report.source}: no header row (the file is empty)")


def _check_header(header: tuple[str, ...], builder: _Builder, source: str) -> _Layout:
    named = [h for h in header if h]
    seen: set[str] = set()
    for h in named:
        if h.casefold() in seen:
            raise ListError(f"{source}: column {h!r} appears twice in the header")
        seen.add(h.casefold())
    layout = builder.layout(header)
    missing = [] if layout.number else [builder.number_column]
    missing += [name for name, key in layout.required if key is None]
    if missing:
        cols = ", ".join(repr(m) for m in missing)
        raise ListError(
            f"{source}: missing column {cols} in the header (columns: {', '.join(named)})"
        )
    return layout


def _codecs(bom: bool) -> Iterator[tuple[str, str]]:
    """(codec to decode with, encoding to report) for each of :data:`_ENCODINGS`."""
    for enc in _ENCODINGS:
        codec = "utf-8-sig" if enc == "utf-8" else enc
        yield codec, "utf-8-sig" if bom and enc == "utf-8" else enc


def _decode_attempts(source: Source) -> Iterator[tuple[str, str, Callable[[], TextIO]]]:
    """(source name, encoding, opener) to try in turn."""
    if isinstance(source, bytes):
        data = source
        for codec, name in _codecs(data.startswith(_BOM)):

            def opener(codec: str = codec) -> TextIO:
                return io.StringIO(data.decode(codec), newline="")

            yield "<bytes>", name, opener
    elif isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb") as f:
            bom = f.read(3) == _BOM
        for codec, name in _codecs(bom):

            def opener(codec: str = codec) -> TextIO:
                return open(path, encoding=codec, newline="")

            yield path, name, opener
    else:
        name = str(getattr(source, "name", "<stream>"))
        yield name, str(getattr(source, "encoding", None) or "text"), lambda: source


def import_csv(
    source: Source,
    *,
    number_column: str = "number",
    id_column: str | None = "id",
    default_country: str = "CN",
    dedupe: Dedupe = "number",
    required: Sequence[str] = (),
    validators: Mapping[str, Validator] = _NO_VALIDATORS,
    delimiter: str = ",",
) -> ImportReport:
    """Import a CSV file (a path, the file's bytes, or an open text stream).

    ``dedupe``: ``"number"`` (or True) skips later rows with an already-seen number;
    ``"customer"`` keeps one row per ``customer_id`` (rows without one are deduped by
    number); False keeps everything. ``required`` columns must exist in the header and
    be non-empty in each row. ``validators`` map a column to a function of the cell
    text: raising ``ValueError`` (or returning False) rejects the row; any return value
    other than None/True replaces the text in :attr:`ContactRecord.fields` (so
    ``{"balance": Decimal}`` both checks and converts); on the built-in columns
    (number, id, name, ...) a validator only checks. Columns with an empty header
    cell are ignored.
    """
    failure: UnicodeDecodeError | None = None
    for name, encoding, opener in _decode_attempts(source):
        report = ImportReport(source=name, encoding=encoding)
        builder = _Builder(
            report,
            number_column=number_column,
            id_column=id_column,
            default_country=default_country,
            dedupe=dedupe,
            required=required,
            validators=validators,
        )
        try:
            stream = opener()
        except UnicodeDecodeError as exc:
            failure = exc
            continue
        try:
            _parse(stream, builder, delimiter)
        except UnicodeDecodeError as exc:
            failure = exc  # start again with the next encoding
            continue
        finally:
            if stream is not source:
                stream.close()
        return report
    raise ListError(f"{name}: not UTF-8 or GB18030 text ({failure})")


async def import_csv_async(
    source: Source,
    *,
    number_column: str = "number",
    id_column: str | None = "id",
    default_country: str = "CN",
    dedupe: Dedupe = "number",
    required: Sequence[str] = (),
    validators: Mapping[str, Validator] = _NO_VALIDATORS,
    delimiter: str = ",",
) -> ImportReport:
    """:func:`import_csv` in a worker thread, so a big file does not stall the loop."""
    return await asyncio.to_thread(
        import_csv,
        source,
        number_column=number_column,
        id_column=id_column,
        default_country=default_country,
        dedupe=dedupe,
        required=required,
        validators=validators,
        delimiter=delimiter,
    )


def import_rows(
    rows: Iterable[Mapping[str, object]],
    *,
    start_line: int = 1,
    source: str = "<rows>",
    number_column: str = "number",
    id_column: str | None = "id",
    default_country: str = "CN",
    dedupe: Dedupe = "number",
    required: Sequence[str] = (),
    validators: Mapping[str, Validator] = _NO_VALIDATORS,
) -> ImportReport:
    """Import already-parsed rows (e.g. a JSON API body): row ``i`` is "line"
    ``start_line + i``. Values are converted with ``str`` (None becomes empty) and
    trimmed; a missing number or required key is a row error, not a whole-list one."""
    report = ImportReport(source=source, encoding=None)
    builder = _Builder(
        report,
        number_column=number_column,
        id_column=id_column,
        default_country=default_country,
        dedupe=dedupe,
        required=required,
        validators=validators,
    )
    for i, row in enumerate(rows):
        clean = {str(k): ("" if v is None else str(v).strip()) for k, v in row.items()}
        if not any(clean.values()):
            continue
        report.rows += 1
        builder.add(start_line + i, clean, builder.layout(tuple(clean)))
    return report
