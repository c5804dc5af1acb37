"""SDP parse/serialize and offer/answer (RFC 4566 / RFC 3264)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.sip.sdp import (
    Codec,
    NoAcceptableMedia,
    SdpError,
    SessionDescription,
    answer,
    make_offer,
    negotiated,
    reoffer,
)

# An offer in the shape baresip sends (several codecs, dynamic PTs, extra attrs).
BARESIP_OFFER = (
    "v=0\r\n"
    "o=- 1234567 7654321 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "a=tool:baresip\r\n"
    "m=audio 10000 RTP/AVP 96 9 0 8 101\r\n"
    "b=AS:64\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=rtcp-mux\r\n"
    "a=ptime:20\r\n"
    "m=video 10002 RTP/AVP 97\r\n"
    "a=rtpmap:97 H264/90000\r\n"
)


def test_parse_fields_and_helpers():
    sd = SessionDescription.parse(BARESIP_OFFER)
    assert sd.origin.session_id == 1234567 and sd.origin.version == 7654321
    assert sd.connection is not None and sd.connection.address == "192.0.2.10"
    assert [m.media for m in sd.media] == ["audio", "video"]
    audio = sd.media[0]
    assert audio.port == 10000 and audio.proto == "RTP/AVP"
    assert audio.formats == ["96", "9", "0", "8", "101"]
    assert audio.ptime == 20
    assert audio.bandwidths == ["AS:64"]
    assert audio.codecs()[0] == Codec("opus", 48000, 96, 2, "stereo=1;sprop-stereo=1")
    assert [c.name for c in audio.codecs()] == ["opus", "G722", "PCMU", "PCMA", "telephone-event"]
    assert sd.effective_direction(audio) == "sendrecv"
    assert not sd.is_on_hold(audio)


def test_roundtrip_is_byte_exact_and_keeps_unknown_lines():
    text = BARESIP_OFFER.replace("s=-\r\n", "s=-\r\nx=private-extension\r\n")
    sd = SessionDescription.parse(text)
    out = sd.serialize()
    assert b"a=tool:baresip\r\n" in out and b"a=rtcp-mux\r\n" in out
    assert b"x=private-extension\r\n" in out
    assert SessionDescription.parse(out).serialize() == out
    assert SessionDescription.parse(BARESIP_OFFER).serialize() == BARESIP_OFFER.encode()


def test_lf_only_and_bytes_input():
    lf = BARESIP_OFFER.replace("\r\n", "\n").encode()
    assert SessionDescription.parse(lf).serialize() == BARESIP_OFFER.encode()


def test_serialize_puts_fields_in_rfc_order():
    text = (
        "v=0\no=- 1 1 IN IP4 h\ns=x\nt=0 0\na=recvonly\nk=prompt\nc=IN IP4 192.0.2.1\n"
        "i=info\nm=audio 1 RTP/AVP 0\na=ptime:30\nc=IN IP4 192.0.2.2\ni=title\n"
    )
    out = SessionDescription.parse(text).serialize().decode().split("\r\n")
    kinds = [ln[0] for ln in out if ln]
    assert kinds == ["v", "o", "s", "i", "c", "t", "k", "a", "m", "i", "c", "a"]


def test_ipv6_connection_and_media_level_override():
    sd = SessionDescription.parse(
        "v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 2001:db8::1\nt=0 0\n"
        "m=audio 4000 RTP/AVP 0\nc=IN IP6 2001:db8::2\n"
    )
    conn = sd.connection_for(sd.media[0])
    assert conn is not None and conn.address == "2001:db8::2" and conn.addrtype == "IP6"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("o=- 1 1 IN IP4 h\n", 1, "first line must be v="),
        ("v=1\no=- 1 1 IN IP4 h\n", 1, "version"),
        ("v=0\no=- 1 IN IP4 h\n", 2, "o= needs 6"),
        ("v=0\no=- x 1 IN IP4 h\n", 2, "numbers"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4\n", 4, "c= needs 3"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 300.1.1.1\n", 4, "IPv4"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP6 2001:::zz\n", 4, "IPv6"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio x RTP/AVP 0\n", 5, "port"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 70000 RTP/AVP 0\n", 5, "range"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio\n", 5, "m= needs"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\ngarbage\n", 4, "expected"),
        (
            "v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\na=rtpmap:0 PCMU/x\n",
            6,
            "rtpmap",
        ),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\na=ptime:abc\n", 6, "ptime"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\no=- 1 1 IN IP4 h\n", 6, "media"),
        ("v=0\ns=-\nt=0 0\n", 0, "missing o="),
        ("", 0, "empty"),
    ],
)
def test_malformed_input_reports_line_and_reason(text, line, fragment):
    with pytest.raises(SdpError) as ei:
        SessionDescription.parse(text)
    assert ei.value.line == line
    assert fragment in ei.value.reason


def test_hold_detection_zero_address_and_direction():
    base = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 {addr}\nt=0 0\n{sess}m=audio 4000 RTP/AVP 0\n{med}"
    held = SessionDescription.parse(base.format(addr="0.0.0.0", sess="", med=""))
    assert held.is_on_hold(held.media[0])
    s_only = SessionDescription.parse(base.format(addr="192.0.2.1", sess="a=sendonly\n", med=""))
    assert s_only.effective_direction(s_only.media[0]) == "sendonly"
    assert s_only.is_on_hold(s_only.media[0])
    override = SessionDescription.parse(
        base.format(addr="192.0.2.1", sess="a=sendonly\n", med="a=sendrecv\n")
    )
    assert override.effective_direction(override.media[0]) == "sendrecv"
    assert not override.is_on_hold(override.media[0])


def test_make_offer_contents():
    o = make_offer("192.0.2.1", 4000, codecs=("PCMA", "PCMU"), ptime=30, session_id=42)
    sd = SessionDescription.parse(o.serialize())
    m = sd.media[0]
    assert m.formats == ["8", "0", "101"]
    assert [(c.name, c.payload_type) for c in m.codecs()] == [
        ("PCMA", 8), ("PCMU", 0), ("telephone-event", 101)
    ]  # fmt: skip
    assert m.ptime == 30 and m.direction == "sendrecv"
    assert sd.origin.session_id == 42
    o6 = make_offer("2001:db8::5", 4000, telephone_event=False)
    assert o6.connection is not None and o6.connection.addrtype == "IP6"
    assert o6.media[0].formats == ["0", "8"]


def test_answer_picks_offerers_first_supported_codec_and_echoes_pts():
    a = answer(BARESIP_OFFER, "198.51.100.7", 20000, supported=("PCMA", "PCMU"))
    # offerer lists PCMU before PCMA: offerer's order wins
    assert a.codec.name == "PCMU" and a.codec.payload_type == 0
    assert a.telephone_event_pt == 101
    assert (a.remote_address, a.remote_port) == ("192.0.2.10", 10000)
    sd = SessionDescription.parse(a.body)
    assert len(sd.media) == 2
    assert sd.media[0].port == 20000 and sd.media[0].formats == ["0", "101"]
    assert sd.media[0].fmtps[101] == "0-15"  # echoes the offer's fmtp
    assert sd.media[1].media == "video" and sd.media[1].port == 0
    assert sd.connection is not None and sd.connection.address == "198.51.100.7"


def test_answer_dynamic_pt_by_name_case_insensitive_and_rate():
    offer = (
        "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
        "m=audio 4000 RTP/AVP 110 111 97\n"
        "a=rtpmap:110 pcma/16000\na=rtpmap:111 pcma/8000\na=rtpmap:97 TELEPHONE-EVENT/8000\n"
    )
    a = answer(offer, "192.0.2.9", 5000)
    assert a.codec.payload_type == 111 and a.codec.clock_rate == 8000
    assert a.telephone_event_pt == 97
    assert SessionDescription.parse(a.body).media[0].formats == ["111", "97"]


def test_answer_static_pt_without_rtpmap():
    offer = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 18 8\n"
    a = answer(offer, "192.0.2.9", 5000)
    assert a.codec.name == "PCMA" and a.codec.payload_type == 8
    assert a.telephone_event_pt is None


def test_answer_skips_rejected_and_unsupported_streams():
    offer = (
        "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
        "m=audio 0 RTP/AVP 0\n"
        "m=audio 4002 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\n"
        "m=audio 4004 RTP/AVP 0\n"
    )
    a = answer(offer, "192.0.2.9", 5000)
    sd = SessionDescription.parse(a.body)
    assert [m.port for m in sd.media] == [0, 0, 5000]
    assert [m.proto for m in sd.media] == ["RTP/AVP", "RTP/SAVP", "RTP/AVP"]
    assert a.media_index == 2 and a.remote_port == 4004


@pytest.mark.parametrize(
    ("offered", "local", "expected", "hold"),
    [
        ("sendrecv", "sendrecv", "sendrecv", False),
        ("sendonly", "sendrecv", "recvonly", True),
        ("recvonly", "sendrecv", "sendonly", False),
        ("inactive", "sendrecv", "inactive", True),
        ("sendonly", "sendonly", "inactive", True),
        ("sendrecv", "recvonly", "recvonly", False),
    ],
)
def test_answer_direction_mapping(offered, local, expected, hold):
    o = make_offer("192.0.2.1", 4000, direction=offered)
    a = answer(o, "192.0.2.2", 5000, direction=local)
    assert a.direction == expected
    assert SessionDescription.parse(a.body).media[0].direction == expected
    assert a.on_hold is hold


def test_no_acceptable_media_is_488_with_warning():
    offer = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 18 9\n"
    with pytest.raises(NoAcceptableMedia) as ei:
        answer(offer, "192.0.2.9", 5000)
    assert ei.value.status == 488
    assert ei.value.warning == '305 callcore "Incompatible media format"'
    video_only = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=video 4000 RTP/AVP 97\n"
    with pytest.raises(NoAcceptableMedia) as ei:
        answer(video_only, "192.0.2.9", 5000)
    assert ei.value.warning.startswith("304 ")


def test_reoffer_hold_resume_increments_version_only_on_change():
    o = make_offer("192.0.2.1", 4000, session_id=77, session_version=3)
    hold = reoffer(o, direction="sendonly")
    assert (hold.origin.session_id, hold.origin.version) == (77, 4)
    assert hold.media[0].direction == "sendonly"
    resume = reoffer(hold, direction="sendrecv")
    assert resume.origin.version == 5 and resume.media[0].direction == "sendrecv"
    refresh = reoffer(resume)
    assert refresh.origin.version == 5 and refresh.serialize() == resume.serialize()
    legacy = reoffer(resume, zero_address_hold=True)
    assert legacy.is_on_hold(legacy.media[0]) and legacy.origin.version == 6
    moved = reoffer(resume, address="2001:db8::9", port=6000)
    assert moved.origin.addrtype == "IP6" and moved.media[0].port == 6000


def test_answer_to_reoffer_keeps_origin_and_bumps_version():
    o = make_offer("192.0.2.1", 4000)
    first = answer(o, "192.0.2.2", 5000, session_id=900)
    same = answer(reoffer(o), "192.0.2.2", 5000, previous=first.sdp)
    assert same.sdp.origin.version == first.sdp.origin.version
    held = answer(reoffer(o, direction="sendonly"), "192.0.2.2", 5000, previous=first.sdp)
    assert held.sdp.origin.session_id == 900
    assert held.sdp.origin.version == first.sdp.origin.version + 1
    assert held.direction == "recvonly"


def test_negotiated_reads_answer_to_our_offer():
    o = make_offer("192.0.2.1", 4000, codecs=("PCMU", "PCMA"))
    a = answer(o, "198.51.100.2", 5002, supported=("PCMA",), direction="recvonly")
    n = negotiated(a.body, o)
    assert n.codec.name == "PCMA" and n.telephone_event_pt == 101
    assert (n.remote_address, n.remote_port) == ("198.51.100.2", 5002)
    assert n.direction == "sendonly"  # they only receive, so we only send


def test_negotiated_rejects_all_rejected_or_foreign_codec():
    o = make_offer("192.0.2.1", 4000)
    rejected = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 0 RTP/AVP 0\n"
    with pytest.raises(NoAcceptableMedia):
        negotiated(rejected, o)
    foreign = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 5 RTP/AVP 9\n"
    with pytest.raises(NoAcceptableMedia):
        negotiated(foreign, o)
    two = foreign + "m=video 0 RTP/AVP 97\n"
    with pytest.raises(SdpError):
        negotiated(two, o)


def _pyvoip():
    # pyVoIP 1.6.8 has an import cycle: pyVoIP.VoIP must be imported before pyVoIP.SIP
    pytest.importorskip("pyVoIP.VoIP")
    from pyVoIP import RTP, SIP

    client = SIP.SIPClient("127.0.0.1", 5060, "alice", "pw", phone=None,
                           myIP="127.0.0.1", myPort=5070)  # fmt: skip
    return SIP, RTP, client


def _wrap(start: str, body: bytes) -> bytes:
    return (
        f"{start}\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
        "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\nCall-ID: cid\r\n"
        f"CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_real_pyvoip_offer_is_answered_and_our_answer_parses_there():
    sip, rtp, client = _pyvoip()
    media = {40000: {0: rtp.PayloadType.PCMU, 8: rtp.PayloadType.PCMA,
                     101: rtp.PayloadType.EVENT}}  # fmt: skip
    invite = client.gen_invite("1001", "5", media, rtp.TransmitType.SENDRECV, "z9hG4bKx", "cid")
    offer = invite.split("\r\n\r\n", 1)[1]
    a = answer(offer, "127.0.0.1", 30000, supported=("PCMA",))
    assert (a.codec.name, a.telephone_event_pt, a.remote_port) == ("PCMA", 101, 40000)
    parsed = sip.SIPMessage(_wrap("SIP/2.0 200 OK", a.body)).body
    [m] = parsed["m"]
    assert m["port"] == 30000 and m["methods"] == ["8", "101"]
    assert m["attributes"]["101"]["rtpmap"]["name"] == "telephone-event"


def test_real_pyvoip_answer_to_our_offer():
    sip, rtp, client = _pyvoip()
    offer = make_offer("127.0.0.1", 30002)
    request = sip.SIPMessage(_wrap("INVITE sip:alice@127.0.0.1:5070 SIP/2.0", offer.serialize()))
    client.tagLibrary["cid"] = "t"
    media = {40002: {0: rtp.PayloadType.PCMU, 101: rtp.PayloadType.EVENT}}
    ok = client.gen_answer(request, "9", media, rtp.TransmitType.SENDRECV)
    n = negotiated(ok.split("\r\n\r\n", 1)[1], offer)
    assert (n.codec.name, n.codec.payload_type, n.telephone_event_pt) == ("PCMU", 0, 101)
    assert (n.remote_address, n.remote_port, n.direction) == ("127.0.0.1", 40002, "sendrecv")


# -- properties ---------------------------------------------------------------


_line = st.sampled_from(list("vosiuepcbtrzkamx")).flatmap(
    lambda k: st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(
        lambda v: f"{k}={v}"
    )
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=12))
def test_parse_raises_only_sdperror_and_roundtrips(lines):
    text = "v=0\r\no=- 1 1 IN IP4 h\r\n" + "".join(ln + "\r\n" for ln in lines)
    try:
        sd = SessionDescription.parse(text)
    except SdpError as e:
        assert 0 <= e.line <= len(lines) + 2
        return
    out = sd.serialize()
    assert SessionDescription.parse(out).serialize() == out


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["PCMU", "PCMA", "G722", "opus/48000"]), min_size=1, unique=True),
    st.lists(st.sampled_from(["PCMU", "PCMA", "G722"]), min_size=1, unique=True),
    st.sampled_from(["sendrecv", "sendonly", "recvonly", "inactive"]),
)
def test_offer_answer_agree(offered, supported, direction):
    o = make_offer("192.0.2.1", 4000, codecs=offered, direction=direction)
    first_common = next((c for c in offered if c in supported), None)
    if first_common is None:
        with pytest.raises(NoAcceptableMedia):
            answer(o, "192.0.2.2", 5000, supported=supported)
        return
    a = answer(o, "192.0.2.2", 5000, supported=supported)
    assert a.codec.name == first_common
    n = negotiated(a.body, o)
    assert n.codec == a.codec or (n.codec.name, n.codec.payload_type) == (
        a.codec.name, a.codec.payload_type
    )  # fmt: skip
    # what we (offerer) may do is the reverse of what the answerer wrote
    assert {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
            "inactive": "inactive"}[a.direction] == n.direction  # fmt: skip


def test_rtpmap_without_clock_rate_is_tolerated_as_rfc4475_sends_it():
    sd = SessionDescription.parse(
        "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0 31\na=rtpmap:31 LPC\n"
    )
    assert 31 not in sd.media[0].rtpmaps  # ignored, not guessed
