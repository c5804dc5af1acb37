"""AuditTrail over the in-memory and the SQLite store: filters, counts, CSV, durability."""

from __future__ import annotations

import csv
import sqlite3

import pytest

from callcore.outbound.audit import (
    AuditEntry,
    AuditStore,
    AuditTrail,
    MemoryAuditStore,
    SqliteAuditStore,
)

ENTRIES = [
    AuditEntry(100.0, "+12125550100", "C1", "D1", "spring", "R1", "collections", "refused",
               "calling_window", "outside calling window"),
    AuditEntry(110.0, "+12125550100", "C1", "D1", "spring", "R2", "collections", "refused",
               "cap_7d", "7 attempts"),
    AuditEntry(120.0, "+8613800138000", "C2", None, "autumn", "R3", "telesales", "refused",
               "no_consent", "no consent"),
    AuditEntry(130.0, "+8613800138000", "C2", None, "autumn", None, None, "opt_out",
               "opted_out", "opted out via dtmf"),
    AuditEntry(140.0, "+12125550100", "C1", "D1", "spring", "R4", "collections", "allowed",
               "", "allowed"),
    AuditEntry(150.0, None, None, None, "spring", None, None, "refused", "abandon_rate",
               "3 % cap"),
]  # fmt: skip


@pytest.fixture(params=["memory", "sqlite", "sqlite-batched"])
def trail(request, tmp_path):
    if request.param == "memory":
        t = AuditTrail()
    elif request.param == "sqlite":
        t = AuditTrail.sqlite(tmp_path / "a.sqlite")
    else:
        t = AuditTrail.sqlite(tmp_path / "a.sqlite", batch=4)
    for e in ENTRIES:
        t.record(e)
    yield t
    t.close()


def test_stores_satisfy_the_protocol(tmp_path):
    assert isinstance(MemoryAuditStore(), AuditStore)
    s = SqliteAuditStore(tmp_path / "p.sqlite")
    assert isinstance(s, AuditStore)
    s.close()


def test_query_filters(trail):
    assert trail.query() == ENTRIES
    assert [e.record_id for e in trail.query(rule="cap_7d")] == ["R2"]
    assert [e.time for e in trail.query(number="+8613800138000")] == [120.0, 130.0]
    assert [e.time for e in trail.query(campaign="spring", decision="refused")] == [
        100.0,
        110.0,
        150.0,
    ]
    assert [e.time for e in trail.query(since=110.0, until=140.0)] == [110.0, 120.0, 130.0]
    assert [e.time for e in trail.query(decision="refused", limit=2)] == [100.0, 110.0]
    assert trail.query(rule="dnc") == []


def test_counts(trail):
    assert trail.counts(None, None) == {
        "": 1,
        "abandon_rate": 1,
        "calling_window": 1,
        "cap_7d": 1,
        "no_consent": 1,
        "opted_out": 1,
    }
    assert trail.counts(100.0, 130.0, group_by="campaign") == {"autumn": 1, "spring": 2}
    assert trail.counts(None, None, group_by="decision") == {
        "allowed": 1,
        "opt_out": 1,
        "refused": 4,
    }
    with pytest.raises(ValueError):
        trail.counts(None, None, group_by="reason; DROP TABLE audit")


def test_export_csv(trail, tmp_path):
    out = tmp_path / "refusals.csv"
    n = trail.export_csv(out, decision="refused", campaign="spring")
    assert n == 3
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["rule"] for r in rows] == ["calling_window", "cap_7d", "abandon_rate"]
    assert rows[0]["number"] == "+12125550100" and rows[2]["number"] == ""
    assert float(rows[1]["time"]) == 110.0


def test_ids_are_strings():
    e = AuditEntry(1, "+12125550100", customer_id=42, record_id=7)
    assert (e.time, e.customer_id, e.record_id) == (1.0, "42", "7")


def test_sqlite_file_has_one_indexed_wal_table(tmp_path):
    path = tmp_path / "audit.sqlite"
    t = AuditTrail.sqlite(path)
    for e in ENTRIES:
        t.record(e)
    # rows are committed as they are recorded: another connection sees them
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == len(ENTRIES)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    idx = {r[1] for r in db.execute("PRAGMA index_list(audit)")}
    assert {"audit_time", "audit_number", "audit_rule", "audit_campaign"} <= idx
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["audit"]
    db.close()
    t.close()
    again = AuditTrail.sqlite(path)
    assert again.query() == ENTRIES
    again.close()


def test_batched_sqlite_flushes_on_close(tmp_path):
    path = tmp_path / "b.sqlite"
    t = AuditTrail.sqlite(path, batch=100)
    t.record(ENTRIES[0])
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 0
    t.close()
    assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 1
    db.close()
    with pytest.raises(ValueError):
        SqliteAuditStore(path, batch=0)
