"""Compliance audit trail: every dialing refusal (and, optionally, every permission).

The :class:`~callcore.outbound.compliance.DialGate` writes one :class:`AuditEntry`
per refused attempt, per opt-out and per pacing refusal it is told about. The
compliance team reads them back with :meth:`AuditTrail.query`,
:meth:`AuditTrail.counts` and :meth:`AuditTrail.export_csv`.

Storage sits behind the small :class:`AuditStore` protocol, with two
implementations: :class:`MemoryAuditStore` (tests, simulations) and
:class:`SqliteAuditStore` (stdlib ``sqlite3``, WAL journal, one table ``audit``
indexed on time, number, rule and campaign). Filters are the same for both:
``since`` is inclusive, ``until`` exclusive, results come oldest first.

Writes are synchronous (a refusal must not be lost if the process dies); a
live dialer with a high attempt rate can pass ``batch=N`` to the SQLite store
to commit every N entries, or run the gate on a worker thread.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "GROUP_BY",
    "AuditEntry",
    "AuditStore",
    "AuditTrail",
    "MemoryAuditStore",
    "SqliteAuditStore",
]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited decision. ``time`` is epoch seconds; ids are stored as strings.

    ``decision`` is ``"refused"``, ``"allowed"`` or ``"opt_out"``; ``rule`` is the
    stable rule identifier (``"dnc"``, ``"calling_window"``, ...; empty when allowed).
    """

    time: float
    number: str | None
    customer_id: str | None = None
    debt_id: str | None = None
    campaign: str | None = None
    record_id: str | None = None
    purpose: str | None = None
    decision: str = "refused"
    rule: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", float(self.time))
        for name in ("customer_id", "debt_id", "campaign", "record_id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                object.__setattr__(self, name, str(value))


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AuditEntry))
#: Columns :meth:`AuditTrail.counts` can group by.
GROUP_BY: frozenset[str] = frozenset(
    {"rule", "decision", "campaign", "number", "purpose", "customer_id", "debt_id"}
)


@runtime_checkable
class AuditStore(Protocol):
    """Where audit entries live. ``query``/``counts`` filters: see :class:`AuditTrail`."""

    def record(self, entry: AuditEntry) -> None: ...

    def query(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        number: str | None = None,
        rule: str | None = None,
        campaign: str | None = None,
        decision: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]: ...

    def counts(
        self, since: float | None = None, until: float | None = None, group_by: str = "rule"
    ) -> dict[str, int]: ...

    def close(self) -> None: ...


def _check_group(group_by: str) -> None:
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {sorted(GROUP_BY)}, not {group_by!r}")


class MemoryAuditStore:
    """An in-process list of entries (kept in insertion order)."""

    def __init__(self) -> None:
        self._rows: list[AuditEntry] = []

    def record(self, entry: AuditEntry) -> None:
        self._rows.append(entry)

    def _match(self, e: AuditEntry, since, until, filters: dict[str, str | None]) -> bool:
        if since is not None and e.time < since:
            return False
        if until is not None and e.time >= until:
            return False
        return all(v is None or getattr(e, k) == v for k, v in filters.items())

    def query(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        number: str | None = None,
        rule: str | None = None,
        campaign: str | None = None,
        decision: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        filters = {"number": number, "rule": rule, "campaign": campaign, "decision": decision}
        rows = [e for e in self._rows if self._match(e, since, until, filters)]
        rows.sort(key=lambda e: e.time)  # stable: ties keep insertion order
        return rows if limit is None else rows[: max(0, limit)]

    def counts(
        self, since: float | None = None, until: float | None = None, group_by: str = "rule"
    ) -> dict[str, int]:
        _check_group(group_by)
        c = Counter(
            getattr(e, group_by) or ""
            for e in self._rows
            if (since is None or e.time >= since) and (until is None or e.time < until)
        )
        return dict(sorted(c.items()))

    def close(self) -> None:
        pass


_TYPES = {"time": "REAL NOT NULL", "decision": "TEXT NOT NULL", "rule": "TEXT NOT NULL"}


class SqliteAuditStore:
    """The durable :class:`AuditStore`: one SQLite file (WAL), table ``audit``.

    ``batch`` > 1 buffers that many entries per commit (queries flush first).
    Thread-safe: every call takes an internal lock.
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *, batch: int = 1) -> None:
        if batch < 1:
            raise ValueError("batch must be >= 1")
        self.path = os.fspath(path)
        self.batch = batch
        self._pending: list[tuple] = []
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        cols = ", ".join(f"{n} {_TYPES.get(n, 'TEXT')}" for n in FIELDS)
        with self._lock:
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, {cols})")
            for col in ("time", "number", "rule", "campaign"):
                self._db.execute(f"CREATE INDEX IF NOT EXISTS audit_{col} ON audit({col})")
        self._insert = (
            f"INSERT INTO audit ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"
        )

    def _flush(self) -> None:
        if self._pending:
            self._db.execute("BEGIN")
            self._db.executemany(self._insert, self._pending)
            self._db.execute("COMMIT")
            self._pending.clear()

    def flush(self) -> None:
        """Commit buffered entries now."""
        with self._lock:
            self._flush()

    def record(self, entry: AuditEntry) -> None:
        with self._lock:
            self._pending.append(tuple(getattr(entry, n) for n in FIELDS))
            if len(self._pending) >= self.batch:
                self._flush()

    @staticmethod
    def _where(since, until, eq: dict[str, str | None]) -> tuple[str, list]:
        clauses, args = [], []
        if since is not None:
            clauses.append("time >= ?")
            args.append(float(since))
        if until is not None:
            clauses.append("time < ?")
            args.append(float(until))
        for col, v in eq.items():
            if v is not None:
                clauses.append(f"{col} = ?")
                args.append(v)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def query(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        number: str | None = None,
        rule: str | None = None,
        campaign: str | None = None,
        decision: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        eq = {"number": number, "rule": rule, "campaign": campaign, "decision": decision}
        where, args = self._where(since, until, eq)
        sql = f"SELECT {', '.join(FIELDS)} FROM audit{where} ORDER BY time, id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(0, int(limit)))
        with self._lock:
            self._flush()
            rows = self._db.execute(sql, args).fetchall()
        return [AuditEntry(*r) for r in rows]

    def counts(
        self, since: float | None = None, until: float | None = None, group_by: str = "rule"
    ) -> dict[str, int]:
        _check_group(group_by)
        where, args = self._where(since, until, {})
        sql = f"SELECT COALESCE({group_by}, ''), COUNT(*) FROM audit{where} GROUP BY 1 ORDER BY 1"
        with self._lock:
            self._flush()
            return {k: n for k, n in self._db.execute(sql, args).fetchall()}

    def close(self) -> None:
        with self._lock:
            self._flush()
            self._db.close()


class AuditTrail:
    """The compliance team's view of an :class:`AuditStore` (in memory by default).

    ``audit_allowed`` tells the gate whether to record permitted attempts too;
    refusals and opt-outs are always recorded.
    """

    def __init__(self, store: AuditStore | None = None, *, audit_allowed: bool = False) -> None:
        self.store: AuditStore = store if store is not None else MemoryAuditStore()
        self.audit_allowed = audit_allowed

    @classmethod
    def sqlite(
        cls, path: str | os.PathLike[str], *, batch: int = 1, audit_allowed: bool = False
    ) -> AuditTrail:
        """A trail stored in the SQLite file at ``path`` (created if missing)."""
        return cls(SqliteAuditStore(path, batch=batch), audit_allowed=audit_allowed)

    def record(self, entry: AuditEntry) -> None:
        """Append one entry."""
        self.store.record(entry)

    def query(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        number: str | None = None,
        rule: str | None = None,
        campaign: str | None = None,
        decision: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries with ``since <= time < until`` matching every given field, oldest first."""
        return self.store.query(
            since=since,
            until=until,
            number=number,
            rule=rule,
            campaign=campaign,
            decision=decision,
            limit=limit,
        )

    def counts(
        self, since: float | None = None, until: float | None = None, group_by: str = "rule"
    ) -> dict[str, int]:
        """Number of entries per value of ``group_by`` (see :data:`GROUP_BY`) in the period."""
        return self.store.counts(since, until, group_by)

    def export_csv(self, path: str | os.PathLike[str], **filters) -> int:
        """Write the entries :meth:`query` returns for ``filters`` to a CSV file
        (header = :class:`AuditEntry` field names). Returns the row count."""
        rows: Sequence[AuditEntry] = self.query(**filters)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(FIELDS)
            for e in rows:
                w.writerow(["" if getattr(e, n) is None else getattr(e, n) for n in FIELDS])
        return len(rows)

    def close(self) -> None:
        """Flush and close the store."""
        self.store.close()
