"""DTMF detector requirements (REFERENCE.md), one parametrized test each, on both twins."""

from __future__ import annotations

import numpy as np
import pytest

from callcore.media.dtmf import (
    COLS,
    DIGITS,
    ROWS,
    DtmfDetector,
    DtmfDigit,
    DtmfStart,
    detect_digits,
    dtmf_sequence,
    dtmf_tone,
    tone,
)

RATE = 8000


def silence(ms: float) -> bytes:
    return bytes(2 * round(RATE * ms / 1000))


def detect(fp, pcm: bytes, **kw) -> str:
    return detect_digits(pcm, fastpath=fp, **kw)


def framed(fp, pcm: bytes, chunk: int) -> list:
    det = DtmfDetector(fastpath=fp)
    events = []
    for i in range(0, len(pcm), 2 * chunk):
        events += det.feed(pcm[i : i + 2 * chunk])
    return events + det.flush()


@pytest.mark.parametrize("digit", list(DIGITS))
def test_every_digit(fastpath, digit):
    assert detect(fastpath, silence(30) + dtmf_tone(digit, 60) + silence(60)) == digit


def _digit_with(freq_index: int) -> str:
    """A digit using the given frequency (rows 0-3, columns 4-7)."""
    return DIGITS[freq_index * 4 + 1] if freq_index < 4 else DIGITS[4 + freq_index - 4]


FREQS = [(i, f) for i, f in enumerate(ROWS + COLS)]


@pytest.mark.parametrize("offset", [0.015, -0.015])
@pytest.mark.parametrize(("index", "freq"), FREQS, ids=[f"{f:.0f}Hz" for _, f in FREQS])
def test_frequency_within_1_5_percent_accepted(fastpath, index, freq, offset):
    digit = _digit_with(index)
    fo = (offset, 0.0) if index < 4 else (0.0, offset)
    pcm = silence(20) + dtmf_tone(digit, 80, freq_offset=fo) + silence(60)
    assert detect(fastpath, pcm) == digit


@pytest.mark.parametrize("offset", [0.035, -0.035, 0.05, -0.05])
@pytest.mark.parametrize(("index", "freq"), FREQS, ids=[f"{f:.0f}Hz" for _, f in FREQS])
def test_frequency_beyond_3_5_percent_rejected(fastpath, index, freq, offset):
    digit = _digit_with(index)
    fo = (offset, 0.0) if index < 4 else (0.0, offset)
    pcm = silence(20) + dtmf_tone(digit, 80, freq_offset=fo) + silence(60)
    assert detect(fastpath, pcm) == ""


ALIGNMENTS = list(range(0, 102, 7))


@pytest.mark.parametrize("digit", ["1", "5", "9", "0", "D"])
def test_40ms_tone_detected_at_every_alignment(fastpath, digit):
    for lead in ALIGNMENTS:
        pcm = bytes(2 * lead) + dtmf_tone(digit, 40) + silence(60)
        assert detect(fastpath, pcm) == digit, f"lead {lead} samples"


@pytest.mark.parametrize("ms", [22, 22.9])
@pytest.mark.parametrize("digit", ["1", "5", "9", "0", "D"])
def test_tone_under_23ms_not_detected(fastpath, digit, ms):
    for lead in ALIGNMENTS:
        pcm = bytes(2 * lead) + dtmf_tone(digit, ms) + silence(60)
        assert detect(fastpath, pcm) == "", f"lead {lead} samples"


@pytest.mark.parametrize("twist", [8.0, -4.0], ids=["normal8dB", "reverse4dB"])
@pytest.mark.parametrize("digit", list(DIGITS))
def test_twist_within_limits_accepted(fastpath, digit, twist):
    pcm = silence(20) + dtmf_tone(digit, 60, level_dbm0=-6, twist_db=twist) + silence(60)
    assert detect(fastpath, pcm) == digit


@pytest.mark.parametrize("twist", [12.0, -8.0], ids=["normal12dB", "reverse8dB"])
@pytest.mark.parametrize("digit", list(DIGITS))
def test_twist_clearly_beyond_limits_rejected(fastpath, digit, twist):
    pcm = silence(20) + dtmf_tone(digit, 60, level_dbm0=-6, twist_db=twist) + silence(60)
    assert detect(fastpath, pcm) == ""


def _with_noise(pcm: bytes, snr_db: float, rng: np.random.Generator, ref: bytes) -> bytes:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    r = np.frombuffer(ref, dtype="<i2").astype(np.float64)
    sigma = np.sqrt(np.mean(r * r) / 10 ** (snr_db / 10))
    y = x + rng.normal(0.0, sigma, len(x))
    return np.clip(np.rint(y), -32768, 32767).astype("<i2").tobytes()


@pytest.mark.parametrize("digit", list(DIGITS))
def test_white_noise_at_15db_snr(fastpath, digit):
    rng = np.random.default_rng(1500 + DIGITS.index(digit))
    for _ in range(3):
        t = dtmf_tone(digit, 60, level_dbm0=-15)
        pcm = _with_noise(silence(40) + t + silence(60), 15.0, rng, t)
        assert detect(fastpath, pcm) == digit


def test_noise_alone_gives_nothing(fastpath):
    rng = np.random.default_rng(7)
    loud = (rng.normal(0, 3000, RATE * 10)).astype("<i2").tobytes()
    assert detect(fastpath, loud) == ""


@pytest.mark.parametrize("level", [-4.0, -30.0])
def test_dynamic_range_26db(fastpath, level):
    assert detect(fastpath, silence(20) + dtmf_tone("8", 60, level) + silence(60)) == "8"


def test_too_weak_tone_ignored(fastpath):
    assert detect(fastpath, silence(20) + dtmf_tone("8", 60, -45.0) + silence(60)) == ""


@pytest.mark.parametrize(("on_ms", "off_ms"), [(40, 40), (45, 45), (50, 50), (100, 40)])
def test_sequences_with_short_pauses(fastpath, on_ms, off_ms):
    digits = "0123456789*#ABCD"
    assert detect(fastpath, dtmf_sequence(digits, on_ms, off_ms)) == digits


@pytest.mark.parametrize("off_ms", [40, 50])
def test_repeated_digit_separated_by_40ms(fastpath, off_ms):
    assert detect(fastpath, dtmf_sequence("55555", 50, off_ms)) == "55555"


def test_long_tone_is_one_digit(fastpath):
    events = framed(fastpath, silence(30) + dtmf_tone("#", 3000) + silence(100), 160)
    digits = [e for e in events if isinstance(e, DtmfDigit)]
    assert [d.digit for d in digits] == ["#"]
    assert [e.digit for e in events if isinstance(e, DtmfStart)] == ["#"]


def test_single_block_dropout_does_not_split_a_digit(fastpath):
    # 6 ms of silence inside a long tone breaks at most one block
    pcm = dtmf_tone("3", 200) + silence(6) + dtmf_tone("3", 200) + silence(80)
    assert detect(fastpath, pcm) == "3"


def test_event_positions_and_streaming(fastpath):
    lead, on = 1000, 800  # samples
    pcm = bytes(2 * lead) + dtmf_tone("7", on / 8) + silence(100)
    whole = framed(fastpath, pcm, len(pcm))
    for chunk in (1, 33, 160, 441):
        assert framed(fastpath, pcm, chunk) == whole
    (digit,) = [e for e in whole if isinstance(e, DtmfDigit)]
    (start,) = [e for e in whole if isinstance(e, DtmfStart)]
    assert digit.digit == "7" and start.start_sample == digit.start_sample
    assert abs(digit.start_sample - lead) <= 102 + 102
    assert abs(digit.end_sample - (lead + on)) <= 102
    assert digit.duration_samples == digit.end_sample - digit.start_sample


def test_flush_ends_a_sounding_digit(fastpath):
    det = DtmfDetector(fastpath=fastpath)
    assert [e.digit for e in det.feed(dtmf_tone("A", 200))] == ["A"]
    (end,) = det.flush()
    assert isinstance(end, DtmfDigit) and end.digit == "A"
    assert det.flush() == []


def test_reset(fastpath):
    det = DtmfDetector(fastpath=fastpath)
    det.feed(dtmf_tone("1", 100))
    det.reset()
    events = det.feed(silence(20) + dtmf_tone("2", 60) + silence(60)) + det.flush()
    assert [e.digit for e in events if isinstance(e, DtmfDigit)] == ["2"]


def test_single_tones_and_triads_are_not_digits(fastpath):
    for f in ROWS + COLS:
        assert detect(fastpath, tone([f], 200, -6) + silence(60)) == ""
    assert detect(fastpath, tone([697, 1209, 1336], 200, -8) + silence(60)) == ""
    assert detect(fastpath, tone([697, 770, 1209], 200, -8) + silence(60)) == ""


def test_sample_rate_16k(fastpath):
    pcm = dtmf_sequence("159#", 60, 50, rate=16000)
    assert detect_digits(pcm, rate=16000, fastpath=fastpath) == "159#"


def test_generator_levels_and_validation():
    x = np.frombuffer(tone([1000.0], 1000, 3.14), dtype="<i2")
    assert 32700 <= int(np.abs(x.astype(np.int32)).max()) <= 32767
    t = np.frombuffer(dtmf_tone("1", 1000, -10.0, twist_db=6.0), dtype="<i2").astype(float)
    spec = np.abs(np.fft.rfft(t))
    lo, hi = spec[697], spec[1209]  # 1 Hz bins over one second
    assert 20 * np.log10(lo / hi) == pytest.approx(6.0, abs=0.05)
    assert len(dtmf_tone("5", 40)) == 2 * 320
    with pytest.raises(ValueError):
        dtmf_tone("X", 40)
    with pytest.raises(ValueError):
        tone([440.0, 480.0], 10, [-10.0])
    assert len(COLS) == len(ROWS) == 4
