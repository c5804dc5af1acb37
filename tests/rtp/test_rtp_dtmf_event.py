"""RFC 4733 payload codec, sender → receiver under loss, SIPp's packaged pcaps."""

from __future__ import annotations

import random
from pathlib import Path

import dpkt
import pytest

from callcore.rtp.dtmf_event import (
    DtmfBegin,
    DtmfDigit,
    DtmfError,
    DtmfReceiver,
    DtmfSender,
    TelephoneEvent,
    digit_to_event,
    event_to_digit,
)
from callcore.rtp.packet import RtpPacket

PCAP_DIR = Path("/usr/share/sip-tester")
PCAP_DIGITS = {str(d): str(d) for d in range(10)} | {"star": "*", "pound": "#"}


def digits(outputs):
    return "".join(o.digit for o in outputs if isinstance(o, DtmfDigit))


def test_payload_codec():
    # event 5, E=1, volume 10, duration 800
    raw = bytes.fromhex("058a0320")
    ev = TelephoneEvent.parse(raw)
    assert ev == TelephoneEvent(5, True, 10, 800)
    assert ev.digit == "5"
    assert ev.serialize() == raw
    assert TelephoneEvent.parse(bytes.fromhex("0b3f0000")) == TelephoneEvent(11, False, 63, 0)
    with pytest.raises(DtmfError):
        TelephoneEvent.parse(b"\x05\x8a\x03")
    with pytest.raises(DtmfError):
        TelephoneEvent(1, volume=64).serialize()


def test_event_digit_mapping():
    assert [event_to_digit(i) for i in range(16)] == list("0123456789*#ABCD")
    assert digit_to_event("#") == 11 and digit_to_event("d") == 15
    with pytest.raises(DtmfError):
        digit_to_event("E")
    with pytest.raises(DtmfError):
        event_to_digit(16)


def test_sender_packet_train():
    tx = DtmfSender(ssrc=42, payload_type=101, interval=0.02)
    train = tx.packets("7", sequence_number=65534, timestamp=2**32 - 80, duration=0.1)
    pkts = [t.packet for t in train]
    evs = [TelephoneEvent.parse(p.payload) for p in pkts]
    assert len(pkts) == 4 + 3
    assert [p.marker for p in pkts] == [True] + [False] * 6
    assert {p.timestamp for p in pkts} == {2**32 - 80}
    assert [p.sequence_number for p in pkts] == [65534, 65535, 0, 1, 2, 3, 4]
    assert [e.duration for e in evs] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in evs] == [False] * 4 + [True] * 3
    assert {e.event for e in evs} == {7}
    assert [t.at for t in train] == pytest.approx([0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12])


def send_digits(seq_digits, drop=lambda i, k, n: False, gap=0.1, duration=0.1):
    """Sender packets for each digit (distinct timestamps), as (arrival, packet)."""
    tx = DtmfSender(ssrc=9)
    seq, ts, t = 100, 5000, 0.0
    out = []
    for i, d in enumerate(seq_digits):
        train = tx.packets(d, sequence_number=seq, timestamp=ts, duration=duration)
        for k, tp in enumerate(train):
            if not drop(i, k, len(train)):
                out.append((t + tp.at, tp.packet))
        seq += len(train)
        ts += round((duration + gap) * 8000)
        t += train[-1].at + gap
    return out


def run(rx, arrivals):
    outs = []
    for t, p in arrivals:
        if (timer := rx.get_timer()) is not None and timer <= t:
            outs += rx.handle_timer(timer)
        outs += rx.receive(p, t)
    outs += rx.flush()
    return outs


@pytest.mark.parametrize(
    "name, drop",
    [
        ("no loss", lambda i, k, n: False),
        ("first two lost", lambda i, k, n: k < 2),
        ("all updates lost", lambda i, k, n: k < n - 3),
        ("two of three ends lost", lambda i, k, n: k >= n - 2),
        ("all ends lost", lambda i, k, n: k >= n - 3),
        ("only one end survives", lambda i, k, n: k != n - 2),
    ],
)
def test_roundtrip_under_loss(name, drop):
    sent = "1255#*9AA0"
    outs = run(DtmfReceiver(), send_digits(sent, drop))
    assert digits(outs) == sent
    assert sum(isinstance(o, DtmfBegin) for o in outs) == len(sent)


def test_random_loss_and_duplication_seeded():
    rng = random.Random(4733)
    sent = "".join(rng.choice("0123456789*#") for _ in range(40))
    arrivals = []
    for t, p in send_digits(sent, drop=lambda i, k, n: rng.random() < 0.3 and k != n - 1):
        arrivals.append((t, p))
        if rng.random() < 0.2:
            arrivals.append((t + 0.001, p))  # network duplicate
    outs = run(DtmfReceiver(), arrivals)
    assert digits(outs) == sent


def test_end_duration_and_timeout():
    rx = DtmfReceiver()
    arr = send_digits("8", drop=lambda i, k, n: k >= n - 3)  # ends lost
    outs = []
    for t, p in arr:
        outs += rx.receive(p, t)
    assert digits(outs) == ""
    timer = rx.get_timer()
    assert timer == pytest.approx(arr[-1][0] + 0.5)
    assert rx.handle_timer(timer - 0.01) == []
    (d,) = rx.handle_timer(timer)
    assert d.digit == "8" and d.end_seen is False and d.duration == 640
    assert rx.get_timer() is None


def test_late_packet_of_previous_event_ignored():
    arr = send_digits("12")
    late = arr[2]  # an update of digit 1
    first_of_2 = next(i for i, (_, p) in enumerate(arr) if p.timestamp != arr[0][1].timestamp)
    arr.insert(first_of_2 + 1, (arr[first_of_2][0] + 0.001, late[1]))
    assert digits(run(DtmfReceiver(), arr)) == "12"


def test_other_payload_types_and_events_ignored():
    rx = DtmfReceiver(payload_type=101)
    assert rx.receive(RtpPacket(payload_type=0, payload=bytes(160)), 0.0) == []
    flash = RtpPacket(payload_type=101, payload=TelephoneEvent(16, True).serialize())
    assert rx.receive(flash, 0.0) == []
    assert rx.receive(RtpPacket(payload_type=101, payload=b"\x01"), 0.0) == []
    assert rx.malformed == 1 and rx.ignored == 2


# -- SIPp's packaged pcaps -----------------------------------------------------


def read_pcap(path: Path) -> list[tuple[float, RtpPacket]]:
    out = []
    with path.open("rb") as f:
        for ts, frame in dpkt.pcap.Reader(f):
            udp = dpkt.ethernet.Ethernet(frame).data.data
            out.append((ts, RtpPacket.parse(bytes(udp.data))))
    return out


def pcap_files():
    files = sorted(PCAP_DIR.glob("dtmf_2833_*.pcap"))
    if not files:
        pytest.skip("SIPp pcaps not installed")
    return files


def play(files, pause=0.2):
    """Arrival trace of several pcaps replayed one after another like SIPp does."""
    arrivals, t = [], 0.0
    for f in files:
        pkts = read_pcap(f)
        t0 = pkts[0][0]
        for ts, p in pkts:
            arrivals.append((t + ts - t0, p))
        t = arrivals[-1][0] + pause
    return arrivals


def test_every_packaged_pcap_yields_its_digit_once():
    files = pcap_files()
    assert len(files) >= 12
    for f in files:
        name = f.stem.removeprefix("dtmf_2833_")
        outs = run(DtmfReceiver(), play([f]))
        assert digits(outs) == PCAP_DIGITS[name], f.name
        (d,) = [o for o in outs if isinstance(o, DtmfDigit)]
        assert d.end_seen and d.duration > 0


@pytest.mark.parametrize("pause", [0.06, 0.2, 1.0])
@pytest.mark.parametrize("sequence", ["1223", "5555", "91#*0", "2112"])
def test_concatenated_pcaps(sequence, pause):
    names = {v: k for k, v in PCAP_DIGITS.items()}
    pcap_files()
    files = [PCAP_DIR / f"dtmf_2833_{names[d]}.pcap" for d in sequence]
    assert digits(run(DtmfReceiver(), play(files, pause))) == sequence


def test_concatenated_pcaps_with_first_packets_lost():
    pcap_files()
    files = [PCAP_DIR / f"dtmf_2833_{d}.pcap" for d in "3443"]
    arr = play(files)
    # drop the first 3 packets of every replay (marker included)
    kept = [a for i, a in enumerate(arr) if i % 10 >= 3]
    assert digits(run(DtmfReceiver(), kept)) == "3443"
