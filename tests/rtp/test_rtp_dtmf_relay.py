"""SIP INFO DTMF bodies."""

from __future__ import annotations

import pytest

from callcore.rtp.dtmf_relay import (
    DtmfRelayError,
    InfoDigit,
    build_dtmf_relay,
    parse_dtmf,
    parse_dtmf_info,
    parse_dtmf_relay,
)


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"Signal=5\r\nDuration=160\r\n", InfoDigit("5", 160)),
        (b"Signal=5\r\nDuration=160", InfoDigit("5", 160)),
        ("signal= #\nduration = 250\n", InfoDigit("#", 250)),
        (b"Signal=*\r\n", InfoDigit("*", None)),
        (b"Signal=11\r\nDuration=100\r\n", InfoDigit("#", 100)),
        (b"Signal=10\r\n", InfoDigit("*", None)),
        (b"Signal=a\r\nDuration=100\r\n", InfoDigit("A", 100)),
    ],
)
def test_dtmf_relay_bodies(body, expected):
    assert parse_dtmf_relay(body) == expected


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "no Signal"),
        (b"Duration=160\r\n", "no Signal"),
        (b"Signal=E\r\n", "not a DTMF signal"),
        (b"Signal=55\r\n", "not a DTMF signal"),
        (b"Signal=5\r\nDuration=abc\r\n", "Duration"),
        (b"Signal 5\r\n", "without '='"),
        (b"Signal=\xff\r\n", "UTF-8"),
    ],
)
def test_dtmf_relay_errors(body, message):
    with pytest.raises(DtmfRelayError, match=message):
        parse_dtmf_relay(body)


def test_application_dtmf():
    assert parse_dtmf(b"7") == InfoDigit("7")
    assert parse_dtmf(" 11\r\n") == InfoDigit("#")
    with pytest.raises(DtmfRelayError):
        parse_dtmf(b"  ")
    with pytest.raises(DtmfRelayError):
        parse_dtmf(b"77")


def test_dispatch_by_content_type():
    assert parse_dtmf_info("Application/DTMF-Relay; charset=utf-8", b"Signal=1\r\n").digit == "1"
    assert parse_dtmf_info("application/dtmf", b"9").digit == "9"
    with pytest.raises(DtmfRelayError, match="content type"):
        parse_dtmf_info("application/sdp", b"v=0")


def test_build_roundtrip():
    body = build_dtmf_relay("#", 200)
    assert body == b"Signal=#\r\nDuration=200\r\n"
    assert parse_dtmf_relay(body) == InfoDigit("#", 200)
    with pytest.raises(DtmfRelayError):
        build_dtmf_relay("x")
