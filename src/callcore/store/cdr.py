"""Call detail records: one row per leg, through a storage interface (SQLite by default).

A :class:`CdrWriter` turns :class:`~callcore.switch.call.Call` objects into
:class:`CdrRecord` rows and hands them to a :class:`CdrStore` **off the event
loop**: the loop side only enqueues, one writer thread drains the queue and
commits each batch in one transaction. Rows are written three times in a
leg's life — when it is created, when it is answered and when it ends
(plus whenever a recording starts) — and each write is an upsert keyed by
the leg id, so a process that dies mid-call still leaves the leg's row
(with ``complete = False`` and no end time) and its recording reference.

Attach to an endpoint with::

    cdrs = CdrWriter("cdr.sqlite")
    cdrs.attach(endpoint)          # call_ended_hooks + start/answer tracking
    ...
    rows = await cdrs.query(since=t0, number="4001")
    await cdrs.aclose()

``attach`` appends :meth:`CdrWriter.on_call_start` to
``endpoint.call_started_hooks`` and :meth:`CdrWriter.on_call_end` to
``endpoint.call_ended_hooks``, and follows answers with
:meth:`Call.wait_answered`. Without ``attach`` an application can call
those methods itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from callcore.switch.call import Call
    from callcore.switch.endpoint import Endpoint
    from callcore.switch.recording import Recording

__all__ = ["CdrRecord", "CdrStore", "CdrWriter", "SqliteCdrStore", "leg_id"]

log = logging.getLogger("callcore.cdr")


def leg_id(call: Call) -> str:
    """A leg's stable id: ``Call-ID;local-tag`` (one dialog)."""
    return f"{call.call_id};{call.local_tag}"


def _epoch(value: float | None, call: Call) -> float | None:
    """Calls time-stamp with ``time.time()``; a loop-clock value (seconds since
    boot, far below any epoch) is converted to the epoch."""
    if value is None or value > 1e9:
        return value
    try:
        loop_now = asyncio.get_running_loop().time()
    except RuntimeError:
        return value
    return time.time() - (loop_now - value)


@dataclass(frozen=True, slots=True)
class CdrRecord:
    """One leg's call detail record. Times are epoch seconds."""

    leg_id: str
    call_id: str
    direction: str  # inbound / outbound
    caller: str  # calling number (From user part)
    callee: str  # dialed number (Request-URI user part)
    created_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    state: str = "new"  # new / ringing / answered / ended
    cause: str | None = None  # normal_clearing, busy, rejected, cancelled, ...
    status: int | None = None  # the SIP status that ended it, if any
    hangup_by: str | None = None  # local / remote / system (Hangup.by)
    hung_up_by: str | None = None  # caller / callee / switch / system
    reason: str = ""
    duration: float | None = None  # ended - created
    billsec: float | None = None  # ended - answered (0 if never answered)
    recording: str | None = None  # recording reference(s), ";"-separated
    partner_leg: str | None = None  # the leg it was bridged to
    display_name: str = ""
    complete: bool = False  # the end was written

    @classmethod
    def from_call(cls, call: Call, *, answered_at: float | None = None) -> CdrRecord:
        """Snapshot a call (``answered_at`` overrides the call's own time)."""
        from callcore.switch.recording import recordings_of

        info = call.hangup_info
        created = _epoch(call.created_at, call) or time.time()
        answered = answered_at if answered_at is not None else _epoch(call.answered_at, call)
        ended = _epoch(call.ended_at, call) if call.ended else None
        hung = None
        if info is not None:
            if info.by == "remote":
                hung = "caller" if call.direction == "inbound" else "callee"
            else:
                hung = "switch" if info.by == "local" else info.by
        refs = [r.reference for r in recordings_of(call)]
        partner = call.partner
        try:
            display = call.caller.display_name or "" if call.direction == "inbound" else ""
        except AttributeError:
            display = ""
        return cls(
            leg_id=leg_id(call),
            call_id=call.call_id,
            direction=call.direction,
            caller=call.caller_number,
            callee=call.dialed,
            created_at=created,
            answered_at=answered,
            ended_at=ended,
            state=call.state,
            cause=info.cause if info else None,
            status=info.status if info else None,
            hangup_by=info.by if info else None,
            hung_up_by=hung,
            reason=info.reason if info else "",
            duration=(ended - created) if ended is not None else None,
            billsec=(max(0.0, ended - answered) if answered is not None else 0.0)
            if ended is not None
            else None,
            recording=";".join(refs) if refs else None,
            partner_leg=leg_id(partner) if partner is not None else None,
            display_name=display,
            complete=call.ended,
        )


@runtime_checkable
class CdrStore(Protocol):
    """Where CDRs live. Methods block (a :class:`CdrWriter` calls them from its
    thread); ``write`` upserts by ``leg_id``."""

    def write(self, records: Sequence[CdrRecord]) -> None: ...

    def get(self, leg_id: str) -> CdrRecord | None: ...

    def query(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        number: str | None = None,
        limit: int | None = None,
    ) -> list[CdrRecord]: ...

    def close(self) -> None: ...


_FIELDS = [f.name for f in dataclasses.fields(CdrRecord)]
_TYPES = {
    "created_at": "REAL NOT NULL",
    "answered_at": "REAL",
    "ended_at": "REAL",
    "status": "INTEGER",
    "duration": "REAL",
    "billsec": "REAL",
    "complete": "INTEGER NOT NULL",
}


class SqliteCdrStore:
    """The default :class:`CdrStore`: one SQLite file (WAL journal), table ``cdr``.

    Safe to use from one writer thread and readers on other threads (each
    call takes an internal lock; SQLite itself serialises the file).
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        cols = ", ".join(
            f"{n} {_TYPES.get(n, 'TEXT')}" + (" PRIMARY KEY" if n == "leg_id" else "")
            for n in _FIELDS
        )
        with self._lock:
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"CREATE TABLE IF NOT EXISTS cdr ({cols})")
            self._db.execute("CREATE INDEX IF NOT EXISTS cdr_created ON cdr(created_at)")
            self._db.execute("CREATE INDEX IF NOT EXISTS cdr_caller ON cdr(caller)")
            self._db.execute("CREATE INDEX IF NOT EXISTS cdr_callee ON cdr(callee)")
        updates = ", ".join(f"{n}=excluded.{n}" for n in _FIELDS if n != "leg_id")
        self._upsert = (
            f"INSERT INTO cdr ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))}) "
            f"ON CONFLICT(leg_id) DO UPDATE SET {updates}"
        )

    def write(self, records: Sequence[CdrRecord]) -> None:
        rows = [dataclasses.astuple(r) for r in records]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(self._upsert, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @staticmethod
    def _record(row: tuple) -> CdrRecord:
        values = dict(zip(_FIELDS, row, strict=True))
        values["complete"] = bool(values["complete"])
        return CdrRecord(**values)

    def get(self, leg_id: str) -> CdrRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(_FIELDS)} FROM cdr WHERE leg_id = ?", (leg_id,)
            ).fetchone()
        return self._record(row) if row else None

    def query(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        number: str | None = None,
        limit: int | None = None,
    ) -> list[CdrRecord]:
        """Legs created in ``[since, until)``, optionally where ``number`` is the
        caller or the callee, oldest first."""
        where, args = [], []
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        if until is not None:
            where.append("created_at < ?")
            args.append(until)
        if number is not None:
            where.append("(caller = ? OR callee = ?)")
            args += [number, number]
        sql = f"SELECT {', '.join(_FIELDS)} FROM cdr"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, leg_id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [self._record(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Flush:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class CdrWriter:
    """Writes CDRs from the event loop without blocking it (see module doc).

    ``store`` is a :class:`CdrStore` or a path for a :class:`SqliteCdrStore`.
    """

    def __init__(self, store: CdrStore | str | os.PathLike[str]) -> None:
        self.store: CdrStore = (
            store if isinstance(store, CdrStore) else SqliteCdrStore(os.fspath(store))
        )
        self._q: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._answered: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()
        self._seen: set[str] = set()
        self.errors = 0
        self.written = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cdr-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ wiring
    def attach(self, endpoint: Endpoint) -> None:
        """Write a row for every leg of ``endpoint``: at creation, answer and end."""
        from callcore.switch import recording

        endpoint.call_started_hooks.append(self.on_call_start)
        endpoint.call_ended_hooks.append(self.on_call_end)
        if self.on_recording not in recording.recording_started:
            recording.recording_started.append(self.on_recording)

    def detach(self, endpoint: Endpoint) -> None:
        from callcore.switch import recording

        with contextlib.suppress(ValueError):
            endpoint.call_ended_hooks.remove(self.on_call_end)
        with contextlib.suppress(ValueError):
            endpoint.call_started_hooks.remove(self.on_call_start)
        with contextlib.suppress(ValueError):
            recording.recording_started.remove(self.on_recording)

    # ------------------------------------------------------------ events (loop side)
    def on_call_start(self, call: Call) -> None:
        """A leg exists: write its first row and follow its answer."""
        lid = leg_id(call)
        if lid in self._seen:
            return
        self._seen.add(lid)
        self._put(CdrRecord.from_call(call))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if call.state == "answered" or call.ended:
            return
        task = loop.create_task(self._follow(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow(self, call: Call) -> None:
        try:
            await call.wait_answered()
        except (asyncio.CancelledError, Exception):
            return
        self.on_call_answered(call)

    def on_call_answered(self, call: Call) -> None:
        """Update the leg's row with the answer time."""
        if call.ended:
            return
        lid = leg_id(call)
        self._answered.setdefault(lid, _epoch(call.answered_at, call) or time.time())
        self._put(CdrRecord.from_call(call, answered_at=self._answered[lid]))

    def on_recording(self, rec: Recording) -> None:
        """A recording started: store its reference on the legs' rows now."""
        for call in rec.calls:
            lid = leg_id(call)
            self._seen.add(lid)
            self._put(CdrRecord.from_call(call, answered_at=self._answered.get(lid)))

    def on_call_end(self, call: Call) -> None:
        """The final row (for ``endpoint.call_ended_hooks``)."""
        lid = leg_id(call)
        self._seen.discard(lid)
        answered = self._answered.pop(lid, None)
        self._put(CdrRecord.from_call(call, answered_at=answered))

    def _put(self, record: CdrRecord) -> None:
        if self._closed:
            log.warning("CDR writer closed; dropped %s", record.leg_id)
            return
        self._q.put(record)

    # ------------------------------------------------------------ writer thread
    def _run(self) -> None:
        while True:
            item = self._q.get()
            batch: dict[str, CdrRecord] = {}
            flushes: list[_Flush] = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, _Flush):
                    flushes.append(item)
                else:
                    batch[item.leg_id] = item  # type: ignore[union-attr]
                try:
                    item = self._q.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self.store.write(list(batch.values()))
                    self.written += len(batch)
                except Exception:
                    self.errors += 1
                    log.exception("CDR write failed (%d rows)", len(batch))
            for f in flushes:
                f.done.set()
            if stop:
                return

    # ------------------------------------------------------------ async API
    async def flush(self) -> None:
        """Until everything queued so far is committed."""
        f = _Flush()
        self._q.put(f)
        await asyncio.to_thread(f.done.wait)

    async def query(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        number: str | None = None,
        limit: int | None = None,
    ) -> list[CdrRecord]:
        """Committed CDRs (flushes first), queried off the loop."""
        await self.flush()
        return await asyncio.to_thread(
            self.store.query, since=since, until=until, number=number, limit=limit
        )

    async def get(self, leg: Call | str) -> CdrRecord | None:
        await self.flush()
        return await asyncio.to_thread(self.store.get, leg if isinstance(leg, str) else leg_id(leg))

    async def aclose(self, *, close_store: bool = True) -> None:
        """Write what is queued, stop the thread, close the store."""
        if not self._closed:
            self._closed = True
            for t in list(self._tasks):
                t.cancel()
            self._q.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        if close_store:
            self.store.close()
