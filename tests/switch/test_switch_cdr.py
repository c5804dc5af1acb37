"""Call detail records on real SIP calls: one row per leg, written off the loop."""

from __future__ import annotations

import asyncio

from confhelp import pair, until

from callcore import App
from callcore.store.cdr import CdrRecord, CdrWriter, SqliteCdrStore


def test_answered_call_leaves_complete_rows_for_both_sides(arun, tmp_path):
    app = App()

    @app.route("4001", public=True)
    async def hotline(call):
        await call.answer()
        await asyncio.sleep(0.3)
        await call.hangup()

    async def main():
        server, client, port = await pair(app)
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(server)
        res = await client.dial(f"sip:4001@127.0.0.1:{port}", caller="13800138000", timeout=5)
        assert res.answered
        await res.call.wait_hangup()
        await until(lambda: not server.calls)
        rows = await cdrs.query(number="13800138000")
        await cdrs.aclose()
        await server.stop()
        await client.stop()
        return rows

    rows = arun(main())
    assert len(rows) == 1
    row = rows[0]
    assert row.complete and row.state == "ended"
    assert row.direction == "inbound" and row.callee == "4001"
    assert row.answered_at is not None and row.ended_at is not None
    assert row.hung_up_by == "switch" and row.hangup_by == "local"
    assert 0.2 <= row.billsec <= row.duration
    assert row.recording is None


def test_unanswered_call_row_has_cause_and_no_billsec(arun, tmp_path):
    app = App()

    @app.route("busy", public=True)
    async def busy(call):
        await call.reject(486)

    async def main():
        server, client, port = await pair(app)
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(server)
        cdrs_out = CdrWriter(tmp_path / "cdr-out.sqlite")
        cdrs_out.attach(client)
        res = await client.dial(f"sip:busy@127.0.0.1:{port}", caller="555", timeout=5)
        await until(lambda: not server.calls)
        rows = await cdrs.query()
        out_rows = await cdrs_out.query()
        for w in (cdrs, cdrs_out):
            await w.aclose()
        await server.stop()
        await client.stop()
        return res, rows, out_rows

    res, rows, out_rows = arun(main())
    assert res.outcome == "busy"
    assert len(rows) == 1 and rows[0].complete and rows[0].status == 486
    assert rows[0].answered_at is None and rows[0].billsec == 0.0
    assert len(out_rows) == 1 and out_rows[0].direction == "outbound"
    assert out_rows[0].cause == "busy" and out_rows[0].hung_up_by == "callee"


def test_sqlite_store_upserts_by_leg_and_survives_reopen(tmp_path):
    db = tmp_path / "cdr.sqlite"
    store = SqliteCdrStore(db)
    first = CdrRecord("c1;t1", "c1", "inbound", "555", "4001", created_at=1000.0)
    store.write([first])
    store.write([CdrRecord("c1;t1", "c1", "inbound", "555", "4001", created_at=1000.0,
                           answered_at=1001.0, ended_at=1010.0, state="ended",
                           duration=10.0, billsec=9.0, complete=True)])  # fmt: skip
    store.write([CdrRecord("c2;t2", "c2", "outbound", "4001", "666", created_at=2000.0)])
    store.close()
    store = SqliteCdrStore(db)
    assert [r.leg_id for r in store.query()] == ["c1;t1", "c2;t2"]
    row = store.get("c1;t1")
    assert row is not None and row.complete and row.billsec == 9.0
    assert [r.leg_id for r in store.query(since=1500.0)] == ["c2;t2"]
    assert [r.leg_id for r in store.query(number="666")] == ["c2;t2"]
    store.close()
