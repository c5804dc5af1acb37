"""SIP parsing against pyVoIP in the same run (group "sip-parse").

Run: .venv/bin/pytest benchmarks/bench_sip_parse.py --benchmark-enable --benchmark-only

The message is tests/sip/data/invite.sip.txt (an INVITE with SDP) with CRLF
line ends and a correct Content-Length.

* callcore compiled: ``_sipparse.parse_message`` + ``serialize()`` — full
  validation (start line, every Via, From, To, Call-ID, CSeq, Max-Forwards,
  Contact, Content-Length, duplicates, required headers, URIs);
* callcore pure: the same with the pure-Python twin;
* callcore reference: the straightforward parser the twins are checked against;
* callcore compiled/pure **with SDP** — the like-for-like rows: the same, plus the body
  parsed into a ``SessionDescription`` (``SessionDescription.parse``, i.e. the compiled
  ``scan_sdp`` or its twin), since pyVoIP's ``SIPMessage`` parses the SDP body too;
* pyVoIP 1.6.8 ``SIPMessage(raw)`` (the baseline): parse of headers and SDP body, no
  serialize.

The message is not changed between parse and serialize, so ``serialize()`` hands back
the head octets kept at parse time (about 0.3 µs); a changed message writes its lines
out again (about 1 µs for this one).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callcore import fastpath
from callcore.sip import message, sdp

try:  # pyVoIP's SIP module has a circular import: enter through VoIP first
    from pyVoIP.VoIP import VoIPPhone  # noqa: F401, I001
    from pyVoIP.SIP import SIPMessage
except ImportError:  # pragma: no cover
    SIPMessage = None


def _invite() -> bytes:
    text = Path(__file__).resolve().parents[1] / "tests" / "sip" / "data" / "invite.sip.txt"
    raw = text.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    head = re.sub(rb"(?m)^Content-Length: *[0-9]+", b"Content-Length: %d" % len(body), head)
    return head + b"\r\n\r\n" + body


INVITE = _invite()
NAME = "callcore.sip._sipparse"


def _round_trip(parse):
    def run() -> bytes:
        return parse(INVITE, False, 65535).serialize()

    return run


@pytest.mark.benchmark(group="sip-parse")
def test_callcore_compiled_parse_serialize(benchmark):
    try:
        impl = fastpath.load(pure=False, name=NAME)
    except ImportError:
        pytest.skip("compiled SIP parser not built")
    assert benchmark(_round_trip(impl.parse_message)) == INVITE


@pytest.mark.benchmark(group="sip-parse")
def test_callcore_compiled_parse_sdp_serialize(benchmark, monkeypatch):
    try:
        impl = fastpath.load(pure=False, name=NAME)
    except ImportError:
        pytest.skip("compiled SIP parser not built")
    monkeypatch.setattr(sdp, "_SCAN", impl.scan_sdp)
    parse = impl.parse_message
    parse_sdp = sdp.SessionDescription.parse

    def run() -> tuple[bytes, sdp.SessionDescription]:
        msg = parse(INVITE, False, 65535)
        return msg.serialize(), parse_sdp(msg.body)

    wire, body = benchmark(run)
    assert wire == INVITE and body.media[0].port == 40000


@pytest.mark.benchmark(group="sip-parse")
def test_callcore_pure_parse_sdp_serialize(benchmark, monkeypatch):
    impl = fastpath.load(pure=True, name=NAME)
    monkeypatch.setattr(sdp, "_SCAN", impl.scan_sdp)
    parse = impl.parse_message
    parse_sdp = sdp.SessionDescription.parse

    def run() -> tuple[bytes, sdp.SessionDescription]:
        msg = parse(INVITE, False, 65535)
        return msg.serialize(), parse_sdp(msg.body)

    wire, body = benchmark(run)
    assert wire == INVITE and body.media[0].port == 40000


@pytest.mark.benchmark(group="sip-parse")
def test_callcore_pure_parse_serialize(benchmark):
    impl = fastpath.load(pure=True, name=NAME)
    assert benchmark(_round_trip(impl.parse_message)) == INVITE


@pytest.mark.benchmark(group="sip-parse")
def test_callcore_reference_parse_serialize(benchmark):
    def run() -> bytes:
        return message.parse_message_reference(INVITE).serialize()

    assert benchmark(run) == INVITE


@pytest.mark.benchmark(group="sip-parse")
def test_pyvoip_sipmessage_parse_baseline(benchmark):
    if SIPMessage is None:
        pytest.skip("pyVoIP not installed")
    msg = benchmark(SIPMessage, INVITE)
    assert msg.method == "INVITE"
