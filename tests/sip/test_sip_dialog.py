"""RFC 3261 §12 dialogs, sans-IO, from byte-level fixtures.

The call flow is RFC 3261 §24.2's shape: Alice (pc33) calls Bob (192.0.2.4)
through two record-routing proxies, p1 (near Alice) then p2 (near Bob). Each
proxy puts its Record-Route on top, so both the INVITE that reaches Bob and the
200 that reaches Alice list p2 first.
"""

from __future__ import annotations

import pytest

from callcore.sip.dialog import TARGET_REFRESH, Dialog
from callcore.sip.errors import SipParseError
from callcore.sip.headers import MAGIC_COOKIE
from callcore.sip.message import Request, Response, parse_message
from callcore.sip.uri import SipURI

CALL_ID = "a84b4c76e66710@pc33.example.com"
ALICE_TAG = "1928301774"
BOB_TAG = "a6c85cf"
UAS_VIA = "SIP/2.0/UDP 192.0.2.4:5060"
UAC_VIA = "SIP/2.0/UDP pc33.example.com:5060"


def wire(text: str) -> bytes:
    """A fixture as it travels: CRLF line ends, blank line, no body."""
    return ("\r\n".join(text.strip("\n").split("\n")) + "\r\n\r\n").encode()


def req(text: str) -> Request:
    msg = parse_message(wire(text))
    assert isinstance(msg, Request)
    return msg


def resp(text: str) -> Response:
    msg = parse_message(wire(text))
    assert isinstance(msg, Response)
    return msg


def reparse(msg: Request) -> Request:
    """What the peer would read: serialize, then parse the bytes again."""
    return req(msg.serialize().decode().split("\r\n\r\n")[0].replace("\r\n", "\n"))


INVITE_AT_BOB = f"""\
INVITE sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2d4790.1
Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK77ef4c2312983.1
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8
Max-Forwards: 68
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
To: Bob <sip:bob@example.com>
From: Alice <sip:alice@example.com>;tag={ALICE_TAG}
Call-ID: {CALL_ID}
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.example.com>
Content-Length: 0
"""

# the INVITE as Alice sent it (before any proxy)
INVITE_FROM_ALICE = f"""\
INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8
Max-Forwards: 70
To: Bob <sip:bob@example.com>
From: Alice <sip:alice@example.com>;tag={ALICE_TAG}
Call-ID: {CALL_ID}
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.example.com>
Content-Length: 0
"""

OK_AT_ALICE = f"""\
SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8;received=192.0.2.101
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
To: Bob <sip:bob@example.com>;tag={BOB_TAG}
From: Alice <sip:alice@example.com>;tag={ALICE_TAG}
Call-ID: {CALL_ID}
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0
"""


def uas_dialog(invite: str = INVITE_AT_BOB) -> Dialog:
    return Dialog.from_uas(req(invite), BOB_TAG)


def uac_dialog(ok: str = OK_AT_ALICE) -> Dialog:
    return Dialog.from_uac(req(INVITE_FROM_ALICE), resp(ok))


def in_dialog(method: str, cseq: int, *, contact: str | None = None, to_bob: bool = True) -> str:
    """A request Alice sends to Bob inside the dialog, as it reaches Bob."""
    lines = [
        f"{method} sip:bob@192.0.2.4 SIP/2.0",
        "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKx",
        "Max-Forwards: 69",
        f"From: Alice <sip:alice@example.com>;tag={ALICE_TAG}",
        f"To: Bob <sip:bob@example.com>;tag={BOB_TAG}",
        f"Call-ID: {CALL_ID}",
        f"CSeq: {cseq} {method}",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    lines.append("Content-Length: 0")
    return "\n".join(lines)


# -- creation ----------------------------------------------------------------------------------
def test_uas_dialog_takes_the_route_set_as_is_and_the_callers_contact():
    d = uas_dialog()
    assert d.id == (CALL_ID, BOB_TAG, ALICE_TAG)
    assert d.route_set == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert str(d.remote_target) == "sip:alice@pc33.example.com"
    assert d.local_uri == "Bob <sip:bob@example.com>"
    assert d.remote_uri == "Alice <sip:alice@example.com>"  # tag kept apart
    assert d.remote_seq == 314159
    assert d.local_seq == 0  # empty until Bob sends a request
    assert d.secure is False and d.confirmed is False


def test_uac_dialog_reverses_the_route_set_and_targets_the_2xx_contact():
    d = uac_dialog()
    assert d.id == (CALL_ID, ALICE_TAG, BOB_TAG)
    assert d.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert str(d.remote_target) == "sip:bob@192.0.2.4"
    assert d.local_uri == "Alice <sip:alice@example.com>"
    assert d.remote_uri == "Bob <sip:bob@example.com>"
    assert d.local_seq == 314159  # the INVITE's CSeq
    assert d.remote_seq is None  # empty until Bob sends a request


def test_record_route_as_one_comma_separated_header_gives_the_same_route_set():
    one_line = INVITE_AT_BOB.replace(
        "Record-Route: <sip:p2.example.com;lr>\nRecord-Route: <sip:p1.example.com;lr>",
        "Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>",
    )
    assert uas_dialog(one_line).route_set == uas_dialog().route_set
    ok_one_line = OK_AT_ALICE.replace(
        "Record-Route: <sip:p2.example.com;lr>\nRecord-Route: <sip:p1.example.com;lr>",
        "Record-Route: <sip:p2.example.com;lr>,<sip:p1.example.com;lr>",
    )
    assert uac_dialog(ok_one_line).route_set == uac_dialog().route_set


def test_record_route_parameters_survive_into_the_route_headers():
    invite = INVITE_AT_BOB.replace(
        "<sip:p2.example.com;lr>", "<sip:p2.example.com;lr;ftag=x1>;did=7"
    )
    d = uas_dialog(invite)
    assert d.route_set[0] == "<sip:p2.example.com;lr;ftag=x1>;did=7"
    bye = reparse(d.create_request("BYE", UAS_VIA))
    assert bye.headers.get_all("route")[0] == "<sip:p2.example.com;lr;ftag=x1>;did=7"


def test_without_record_route_the_route_set_is_empty_and_requests_go_to_the_target():
    invite = "\n".join(
        line for line in INVITE_AT_BOB.split("\n") if not line.startswith("Record-Route")
    )
    d = uas_dialog(invite)
    assert d.route_set == []
    bye = reparse(d.create_request("BYE", UAS_VIA))
    assert bye.start_line() == "BYE sip:alice@pc33.example.com SIP/2.0"
    assert "route" not in bye.headers
    assert str(d.next_hop()) == "sip:alice@pc33.example.com"


def test_rfc2543_invite_without_contact_targets_the_from_uri():
    invite = "\n".join(line for line in INVITE_AT_BOB.split("\n") if not line.startswith("Contact"))
    assert str(uas_dialog(invite).remote_target) == "sip:alice@example.com"


def test_sips_request_uri_makes_the_dialog_secure():
    invite = INVITE_AT_BOB.replace("INVITE sip:bob@192.0.2.4", "INVITE sips:bob@192.0.2.4")
    assert uas_dialog(invite).secure is True


def test_early_dialog_from_a_provisional_with_a_to_tag():
    ringing = OK_AT_ALICE.replace("SIP/2.0 200 OK", "SIP/2.0 180 Ringing")
    d = uac_dialog(ringing)
    assert d.remote_tag == BOB_TAG and d.confirmed is False


# -- requests inside the dialog (§12.2.1.1) ---------------------------------------------------
def test_uas_bye_loose_routing_bytes():
    d = uas_dialog()
    raw = d.create_request("BYE", UAS_VIA, "<sip:bob@192.0.2.4>").serialize()
    lines = raw.decode().split("\r\n")
    assert lines[0] == "BYE sip:alice@pc33.example.com SIP/2.0"  # remote target, not a proxy
    assert lines[1].startswith("Via: SIP/2.0/UDP 192.0.2.4:5060;branch=" + MAGIC_COOKIE)
    assert lines[2:] == [
        "Max-Forwards: 70",
        "Route: <sip:p2.example.com;lr>",
        "Route: <sip:p1.example.com;lr>",
        f"From: Bob <sip:bob@example.com>;tag={BOB_TAG}",
        f"To: Alice <sip:alice@example.com>;tag={ALICE_TAG}",
        f"Call-ID: {CALL_ID}",
        "CSeq: 1 BYE",  # the UAS's first request: its local sequence starts here
        "Content-Length: 0",  # a BYE is no target refresh: no Contact
        "",
        "",
    ]
    assert str(d.next_hop()) == "sip:p2.example.com;lr"


def test_uac_requests_follow_the_reversed_route_set_and_increment_cseq():
    d = uac_dialog()
    info = reparse(d.create_request("INFO", UAC_VIA))
    assert info.start_line() == "INFO sip:bob@192.0.2.4 SIP/2.0"
    assert info.headers.get_all("route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert str(info.from_) == f"Alice <sip:alice@example.com>;tag={ALICE_TAG}"
    assert str(info.to) == f"Bob <sip:bob@example.com>;tag={BOB_TAG}"
    assert info.call_id == CALL_ID
    assert (info.cseq.number, info.cseq.method) == (314160, "INFO")
    bye = reparse(d.create_request("BYE", UAC_VIA))
    assert bye.cseq.number == 314161
    assert d.local_seq == 314161
    assert info.via.branch != bye.via.branch  # a new transaction each time
    assert str(d.next_hop()) == "sip:p1.example.com;lr"


def test_ack_and_cancel_reuse_the_given_cseq_without_advancing_the_counter():
    d = uac_dialog()
    ack = reparse(d.create_request("ACK", UAC_VIA, cseq=314159))
    assert (ack.cseq.number, ack.cseq.method) == (314159, "ACK")
    assert ack.headers.get_all("route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert d.local_seq == 314159
    assert reparse(d.create_request("BYE", UAC_VIA)).cseq.number == 314160


def test_contact_only_on_target_refresh_requests():
    d = uac_dialog()
    contact = "<sip:alice@pc33.example.com>"
    for method in ("INVITE", "UPDATE", "INFO", "BYE", "OPTIONS"):
        sent = reparse(d.create_request(method, UAC_VIA, contact))
        has = [str(c) for c in sent.contacts]
        assert has == ([contact] if method in TARGET_REFRESH else []), method


def test_in_dialog_request_with_a_body_and_extra_headers():
    d = uac_dialog()
    sdp = b"v=0\r\n"
    sent = d.create_request(
        "INVITE", UAC_VIA, "<sip:alice@pc33.example.com>",
        extra=[("Subject", "hold")], body=sdp, content_type="application/sdp",
    )  # fmt: skip
    again = parse_message(sent.serialize())
    assert again.body == sdp
    assert again.headers.get("content-type") == "application/sdp"
    assert again.headers.get("subject") == "hold"


# -- strict routing (§12.2.1.1, §16.12) -------------------------------------------------------
def test_strict_router_becomes_the_request_uri_and_the_target_goes_last():
    invite = INVITE_AT_BOB.replace("<sip:p2.example.com;lr>", "<sip:p2.example.com>")
    d = uas_dialog(invite)
    raw = d.create_request("BYE", UAS_VIA).serialize().decode()
    lines = raw.split("\r\n")
    assert lines[0] == "BYE sip:p2.example.com SIP/2.0"
    assert [line for line in lines if line.startswith("Route:")] == [
        "Route: <sip:p1.example.com;lr>",
        "Route: <sip:alice@pc33.example.com>",
    ]
    assert str(d.next_hop()) == "sip:p2.example.com"


def test_strict_router_alone():
    ok = OK_AT_ALICE.replace(
        "Record-Route: <sip:p2.example.com;lr>\nRecord-Route: <sip:p1.example.com;lr>\n",
        "Record-Route: <sip:ss1.example.com;transport=tcp>\n",
    )
    d = uac_dialog(ok)
    bye = reparse(d.create_request("BYE", UAC_VIA))
    assert bye.start_line() == "BYE sip:ss1.example.com;transport=tcp SIP/2.0"
    assert bye.headers.get_all("route") == ["<sip:bob@192.0.2.4>"]


def test_strict_route_uri_loses_what_a_request_uri_may_not_carry():
    # §12.2.1.1: "stripping any parameters that are not allowed in a Request-URI"
    # (§19.1.1: method and headers) — the request must still be valid on the wire
    invite = INVITE_AT_BOB.replace(
        "<sip:p2.example.com;lr>", "<sip:p2.example.com;method=INVITE;maddr=10.0.0.2?X-A=1>"
    )
    d = uas_dialog(invite)
    bye = reparse(d.create_request("BYE", UAS_VIA))
    assert bye.start_line() == "BYE sip:p2.example.com;maddr=10.0.0.2 SIP/2.0"
    assert isinstance(bye.uri, SipURI) and not bye.uri.headers


def test_loose_routing_leaves_the_route_set_untouched_when_the_target_changes():
    d = uas_dialog()
    d.check_request(req(in_dialog("INVITE", 314160, contact="<sip:alice@198.51.100.7:5062>")))
    bye = reparse(d.create_request("BYE", UAS_VIA))
    assert bye.start_line() == "BYE sip:alice@198.51.100.7:5062 SIP/2.0"
    assert bye.headers.get_all("route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]


# -- requests from the peer (§12.2.2) ---------------------------------------------------------
def test_lower_cseq_is_rejected_with_500_and_leaves_the_dialog_alone():
    d = uas_dialog()
    with pytest.raises(SipParseError) as err:
        d.check_request(req(in_dialog("BYE", 314158)))
    assert err.value.status == 500
    assert d.remote_seq == 314159


def test_higher_cseq_is_accepted_and_becomes_the_remote_sequence():
    d = uas_dialog()
    d.check_request(req(in_dialog("INFO", 314160)))
    assert d.remote_seq == 314160
    d.check_request(req(in_dialog("BYE", 314200)))  # gaps are allowed (§12.2.2)
    assert d.remote_seq == 314200
    with pytest.raises(SipParseError) as err:
        d.check_request(req(in_dialog("INFO", 314199)))
    assert err.value.status == 500


@pytest.mark.parametrize("method", ["ACK", "CANCEL"])
def test_ack_and_cancel_carry_the_invites_cseq_and_pass(method):
    d = uas_dialog()
    d.check_request(req(in_dialog(method, 314159)))
    assert d.remote_seq == 314159


def test_an_equal_cseq_on_a_new_request_is_out_of_order():
    # a retransmission never gets here (the transaction layer absorbs it); a *new*
    # request reusing the number breaks §12.2.1.1 and is refused like a lower one
    d = uas_dialog()
    with pytest.raises(SipParseError) as err:
        d.check_request(req(in_dialog("INFO", 314159)))
    assert err.value.status == 500


def test_uac_side_remote_sequence_starts_with_the_peers_first_request():
    d = uac_dialog()
    bye_from_bob = f"""\
BYE sip:alice@pc33.example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10
Max-Forwards: 70
From: Bob <sip:bob@example.com>;tag={BOB_TAG}
To: Alice <sip:alice@example.com>;tag={ALICE_TAG}
Call-ID: {CALL_ID}
CSeq: 1 BYE
Content-Length: 0
"""
    d.check_request(req(bye_from_bob))  # far below our own 314159: a separate space
    assert d.remote_seq == 1


# -- remote target refresh --------------------------------------------------------------------
def test_reinvite_with_contact_refreshes_the_uas_remote_target():
    d = uas_dialog()
    d.check_request(req(in_dialog("INVITE", 314160, contact="<sip:alice@198.51.100.7>")))
    assert str(d.remote_target) == "sip:alice@198.51.100.7"
    assert str(d.next_hop()) == "sip:p2.example.com;lr"  # the route set is fixed


@pytest.mark.parametrize("method", ["UPDATE", "NOTIFY", "REFER"])
def test_other_target_refresh_requests_refresh_too(method):
    d = uas_dialog()
    d.check_request(req(in_dialog(method, 314160, contact="<sip:alice@198.51.100.8>")))
    assert str(d.remote_target) == "sip:alice@198.51.100.8"


@pytest.mark.parametrize("method", ["INFO", "BYE", "OPTIONS", "MESSAGE"])
def test_non_refresh_requests_never_move_the_target(method):
    d = uas_dialog()
    d.check_request(req(in_dialog(method, 314160, contact="<sip:mallory@203.0.113.9>")))
    assert str(d.remote_target) == "sip:alice@pc33.example.com"


def test_reinvite_without_contact_keeps_the_target():
    d = uas_dialog()
    d.check_request(req(in_dialog("INVITE", 314160)))
    assert str(d.remote_target) == "sip:alice@pc33.example.com"


def test_rejected_out_of_order_reinvite_does_not_refresh():
    d = uas_dialog()
    with pytest.raises(SipParseError):
        d.check_request(req(in_dialog("INVITE", 3, contact="<sip:alice@198.51.100.7>")))
    assert str(d.remote_target) == "sip:alice@pc33.example.com"


def _answer_to_alice(method: str, cseq: int, status: str, contact: str | None) -> Response:
    lines = [
        f"SIP/2.0 {status}",
        "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds9",
        f"To: Bob <sip:bob@example.com>;tag={BOB_TAG}",
        f"From: Alice <sip:alice@example.com>;tag={ALICE_TAG}",
        f"Call-ID: {CALL_ID}",
        f"CSeq: {cseq} {method}",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    lines.append("Content-Length: 0")
    return resp("\n".join(lines))


def test_2xx_to_a_reinvite_refreshes_the_uac_remote_target():
    d = uac_dialog()
    reinvite = d.create_request("INVITE", UAC_VIA, "<sip:alice@pc33.example.com>")
    ok = _answer_to_alice("INVITE", reinvite.cseq.number, "200 OK", "<sip:bob@192.0.2.44:5080>")
    d.refresh_from_response(ok)
    assert str(d.remote_target) == "sip:bob@192.0.2.44:5080"
    bye = reparse(d.create_request("BYE", UAC_VIA))
    assert bye.start_line() == "BYE sip:bob@192.0.2.44:5080 SIP/2.0"
    assert bye.headers.get_all("route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]


def test_2xx_to_a_non_refresh_request_keeps_the_target():
    d = uac_dialog()
    d.refresh_from_response(_answer_to_alice("INFO", 314160, "200 OK", "<sip:bob@192.0.2.44>"))
    assert str(d.remote_target) == "sip:bob@192.0.2.4"


@pytest.mark.parametrize("status", ["302 Moved Temporarily", "491 Request Pending", "180 Ringing"])
def test_only_a_2xx_refreshes_the_target(status):
    # §12.2.1.2: "When a UAC receives a 2xx response to a target refresh request"
    d = uac_dialog()
    d.refresh_from_response(_answer_to_alice("INVITE", 314160, status, "<sip:elsewhere@x.test>"))
    assert str(d.remote_target) == "sip:bob@192.0.2.4"
