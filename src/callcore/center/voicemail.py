"""Voicemail store: metadata in SQLite (stdlib ``sqlite3``), recordings as file paths.

Writes are small and synchronous; from asyncio code call them through
``asyncio.to_thread`` (the store opens its connection with
``check_same_thread=False`` and serializes access with a lock).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS voicemail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox TEXT NOT NULL,
    caller TEXT NOT NULL,
    path TEXT NOT NULL,
    created REAL NOT NULL,
    duration REAL,
    handled_at REAL,
    handled_by TEXT,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS voicemail_box ON voicemail(mailbox, handled_at);
"""


@dataclass(frozen=True, slots=True)
class VoicemailMessage:
    id: int
    mailbox: str
    caller: str
    path: str
    created: float
    duration: float | None
    handled_at: float | None
    handled_by: str | None
    meta: dict[str, Any]

    @property
    def handled(self) -> bool:
        return self.handled_at is not None


class VoicemailStore:
    """``path`` is a SQLite file (``":memory:"`` for tests). ``notify`` is called
    with each new :class:`VoicemailMessage` (e.g. e-mail the team, push to a wallboard)."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        notify: Callable[[VoicemailMessage], None] | None = None,
    ) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.notify = notify

    def close(self) -> None:
        self._db.close()

    def add(
        self,
        mailbox: str,
        caller: str,
        path: str,
        created: float,
        *,
        duration: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> int:
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO voicemail (mailbox, caller, path, created, duration, meta)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (mailbox, caller, str(path), created, duration, json.dumps(meta or {})),
            )
            vid = int(cur.lastrowid or 0)
        if self.notify is not None:
            self.notify(self.get(vid))
        return vid

    def get(self, vid: int) -> VoicemailMessage:
        with self._lock:
            row = self._db.execute("SELECT * FROM voicemail WHERE id = ?", (vid,)).fetchone()
        if row is None:
            raise KeyError(f"no voicemail {vid}")
        return self._msg(row)

    def list(
        self, mailbox: str | None = None, *, unhandled_only: bool = False
    ) -> list[VoicemailMessage]:
        q = "SELECT * FROM voicemail WHERE 1=1"
        args: list[Any] = []
        if mailbox is not None:
            q += " AND mailbox = ?"
            args.append(mailbox)
        if unhandled_only:
            q += " AND handled_at IS NULL"
        with self._lock:
            rows = self._db.execute(q + " ORDER BY created, id", args).fetchall()
        return [self._msg(r) for r in rows]

    def mark_handled(self, vid: int, by: str, at: float) -> VoicemailMessage:
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE voicemail SET handled_at = ?, handled_by = ? WHERE id = ? AND handled_at IS NULL",
                (at, by, vid),
            )
        if cur.rowcount == 0:
            self.get(vid)  # raises KeyError when unknown
            raise ValueError(f"voicemail {vid} is already handled")
        return self.get(vid)

    @staticmethod
    def _msg(r: tuple) -> VoicemailMessage:
        return VoicemailMessage(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]))
