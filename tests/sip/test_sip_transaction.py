"""RFC 3261 §17 transaction behaviour, sans-IO, with a fake clock."""

from __future__ import annotations

import itertools

import pytest

from callcore.sip.message import Headers, Request, make_response, parse_message
from callcore.sip.transaction import (
    Peer,
    RequestReceived,
    ResponseReceived,
    State,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
)

UDP = Peer("udp", "127.0.0.1", 5070)
TCP = Peer("tcp", "127.0.0.1", 5070)


def request(method: str = "INVITE", branch: str = "z9hG4bKabc", cseq: int = 1) -> Request:
    h = Headers(
        [
            ("Via", f"SIP/2.0/UDP 127.0.0.1:5060;branch={branch}"),
            ("Max-Forwards", "70"),
            ("From", "<sip:a@127.0.0.1>;tag=f1"),
            ("To", "<sip:b@127.0.0.1>"),
            ("Call-ID", "c1@127.0.0.1"),
            ("CSeq", f"{cseq} {method}"),
            ("Content-Length", "0"),
        ]
    )
    return Request(method, "sip:b@127.0.0.1:5070", h)


def sent(layer: TransactionLayer) -> list[str]:
    return [parse_message(d).start_line() for d, _ in layer.datagrams_to_send()]


def run_until(layer: TransactionLayer, end: float) -> tuple[list[float], list]:
    """Fire every timer up to ``end``; return the times a message was sent and the events."""
    times, events = [], []
    while (t := layer.next_timer()) is not None and t <= end:
        events += layer.handle_timer(t)
        times += [t] * len(layer.datagrams_to_send())
    return times, events


def test_invite_client_retransmits_at_doubling_intervals_then_408_on_timer_b():
    layer = TransactionLayer()
    txn = layer.send_request(request(), UDP, now=0.0)
    assert sent(layer) == ["INVITE sip:b@127.0.0.1:5070 SIP/2.0"]
    times, events = run_until(layer, 100.0)
    # Timer A: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 (intervals 0.5,1,2,4,8,16); B at 32 s
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    timeouts = [e for e in events if isinstance(e, TransactionTimeout)]
    assert len(timeouts) == 1 and timeouts[0].response.status == 408
    assert txn.state is State.TERMINATED
    assert layer.next_timer() is None and layer.active == 0


def test_invite_client_over_tcp_never_retransmits():
    layer = TransactionLayer()
    layer.send_request(request(), TCP, now=0.0)
    sent(layer)
    times, events = run_until(layer, 100.0)
    assert times == []
    assert [type(e) for e in events if not isinstance(e, TransactionTerminated)] == [
        TransactionTimeout
    ]


def test_provisional_stops_timer_a_and_b():
    layer = TransactionLayer()
    req = request()
    txn = layer.send_request(req, UDP, now=0.0)
    sent(layer)
    events = layer.receive_response(make_response(req, 180, to_tag="t"), UDP, now=0.2)
    assert [type(e) for e in events] == [ResponseReceived]
    assert txn.state is State.PROCEEDING
    times, events = run_until(layer, 100.0)
    assert times == [] and events == []


def test_non2xx_final_is_acked_and_retransmissions_reacked_then_timer_d():
    layer = TransactionLayer()
    req = request()
    txn = layer.send_request(req, UDP, now=0.0)
    sent(layer)
    busy = make_response(req, 486, to_tag="t9")
    events = layer.receive_response(busy, UDP, now=0.1)
    assert [e.response.status for e in events if isinstance(e, ResponseReceived)] == [486]
    acks = layer.datagrams_to_send()
    assert len(acks) == 1
    ack = parse_message(acks[0][0])
    assert ack.method == "ACK" and ack.cseq.number == 1 and ack.cseq.method == "ACK"
    assert ack.to.tag == "t9" and ack.via.branch == "z9hG4bKabc" and str(ack.uri) == str(req.uri)
    # retransmitted 486: ACKed again, not passed up
    assert layer.receive_response(busy, UDP, now=1.0) == []
    assert len(layer.datagrams_to_send()) == 1
    assert txn.state is State.COMPLETED
    _times, events = run_until(layer, 40.0)
    assert txn.state is State.TERMINATED
    assert layer.next_timer() is None


def test_2xx_moves_to_accepted_and_passes_retransmitted_2xx_up():
    layer = TransactionLayer()
    req = request()
    txn = layer.send_request(req, UDP, now=0.0)
    sent(layer)
    ok = make_response(req, 200, to_tag="t1")
    assert len(layer.receive_response(ok, UDP, now=0.1)) == 1
    assert txn.state is State.ACCEPTED
    assert layer.datagrams_to_send() == []  # ACK for 2xx belongs to the TU
    assert len(layer.receive_response(ok, UDP, now=0.6)) == 1
    run_until(layer, 0.1 + 64 * 0.5 + 0.01)
    assert txn.state is State.TERMINATED


def test_non_invite_client_timer_e_caps_at_t2_and_f_gives_408():
    layer = TransactionLayer()
    layer.send_request(request("OPTIONS"), UDP, now=0.0)
    sent(layer)
    times, events = run_until(layer, 100.0)
    gaps = [round(b - a, 6) for a, b in zip([0.0, *times], times, strict=False)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0] and set(gaps[4:]) == {4.0}
    assert times[-1] < 32.0
    assert [type(e) for e in events if isinstance(e, TransactionTimeout)] == [TransactionTimeout]


def test_non_invite_client_proceeding_retransmits_every_t2_and_keeps_timer_f():
    layer = TransactionLayer()
    req = request("OPTIONS")
    txn = layer.send_request(req, UDP, now=0.0)
    sent(layer)
    layer.receive_response(make_response(req, 100), UDP, now=0.1)
    assert txn.state is State.PROCEEDING
    times, events = run_until(layer, 100.0)
    assert any(isinstance(e, TransactionTimeout) for e in events)  # F still fires at 32 s
    assert all(b - a == pytest.approx(4.0) for a, b in itertools.pairwise(times))


def test_non_invite_client_completed_absorbs_retransmissions_for_t4():
    layer = TransactionLayer()
    req = request("OPTIONS")
    txn = layer.send_request(req, UDP, now=0.0)
    sent(layer)
    ok = make_response(req, 200, to_tag="x")
    assert len(layer.receive_response(ok, UDP, now=0.1)) == 1
    assert layer.receive_response(ok, UDP, now=0.2) == []
    run_until(layer, 0.1 + 5.0)
    assert txn.state is State.TERMINATED


def test_invite_server_retransmits_final_on_timer_g_until_ack():
    layer = TransactionLayer()
    req = request()
    (ev,) = layer.receive_request(req, UDP, now=0.0)
    assert isinstance(ev, RequestReceived)
    txn = ev.transaction
    txn.respond(make_response(req, 486, to_tag="t"), now=0.0)
    assert len(layer.datagrams_to_send()) == 1
    times, _ = run_until(layer, 2.0)
    assert times == [0.5, 1.5]
    ack = request("ACK", cseq=1)
    ack.headers.set("To", "<sip:b@127.0.0.1>;tag=t")
    assert layer.receive_request(ack, UDP, now=2.0) == []  # absorbed by the transaction
    assert txn.state is State.CONFIRMED
    times, _ = run_until(layer, 10.0)
    assert times == [] and txn.state is State.TERMINATED


def test_invite_server_timer_h_gives_up_without_ack():
    layer = TransactionLayer()
    req = request()
    txn = layer.receive_request(req, UDP, now=0.0)[0].transaction
    txn.respond(make_response(req, 603, to_tag="t"), now=0.0)
    layer.datagrams_to_send()
    times, _ = run_until(layer, 40.0)
    # G: 0.5, 1.5, 3.5, 7.5, then every T2=4 s until H at 32 s
    assert times[:4] == [0.5, 1.5, 3.5, 7.5] and times[4:] == [11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert txn.state is State.TERMINATED


def test_server_resends_last_response_to_retransmitted_request():
    layer = TransactionLayer()
    req = request("OPTIONS")
    txn = layer.receive_request(req, UDP, now=0.0)[0].transaction
    txn.respond(make_response(req, 200, to_tag="t"), now=0.0)
    first = layer.datagrams_to_send()
    assert layer.receive_request(request("OPTIONS"), UDP, now=0.5) == []
    assert layer.datagrams_to_send() == first
    run_until(layer, 32.1)
    assert txn.state is State.TERMINATED


def test_invite_server_accepted_absorbs_retransmitted_invite():
    layer = TransactionLayer()
    req = request()
    txn = layer.receive_request(req, UDP, now=0.0)[0].transaction
    txn.respond(make_response(req, 180, to_tag="t"), now=0.0)
    txn.respond(make_response(req, 200, to_tag="t"), now=0.1)
    layer.datagrams_to_send()
    assert txn.state is State.ACCEPTED
    assert layer.receive_request(request(), UDP, now=0.6) == []
    assert layer.datagrams_to_send() == []  # the TU (dialog) retransmits 2xx, not the txn


def test_cancel_finds_its_invite_transaction():
    layer = TransactionLayer()
    invite = request()
    txn = layer.receive_request(invite, UDP, now=0.0)[0].transaction
    cancel = request("CANCEL")
    (ev,) = layer.receive_request(cancel, UDP, now=0.1)
    assert ev.transaction is not txn and ev.transaction.method == "CANCEL"
    assert layer.find_invite(cancel) is txn


def test_ack_for_2xx_is_passed_up_without_a_transaction():
    layer = TransactionLayer()
    ack = request("ACK", branch="z9hG4bKother")
    (ev,) = layer.receive_request(ack, UDP, now=0.0)
    assert isinstance(ev, RequestReceived) and ev.transaction is None


def test_rfc2543_request_without_magic_cookie_matches_its_retransmission():
    layer = TransactionLayer()
    old = request("OPTIONS", branch="oldbranch")
    txn = layer.receive_request(old, UDP, now=0.0)[0].transaction
    txn.respond(make_response(old, 200, to_tag="t"), now=0.0)
    layer.datagrams_to_send()
    assert layer.receive_request(request("OPTIONS", branch="oldbranch"), UDP, now=0.1) == []
    assert len(layer.datagrams_to_send()) == 1


def test_transport_error_ends_client_transactions_to_that_peer_with_503():
    layer = TransactionLayer()
    a = layer.send_request(request("OPTIONS", branch="z9hG4bKa"), TCP, now=0.0)
    b = layer.send_request(request("OPTIONS", branch="z9hG4bKb"), UDP, now=0.0)
    events = layer.transport_error(TCP, now=0.1)
    timeouts = [e for e in events if isinstance(e, TransactionTimeout)]
    assert [(e.transaction, e.response.status) for e in timeouts] == [(a, 503)]
    assert a.state is State.TERMINATED and b.state is State.TRYING
