"""G.711 in both fast-path twins: exhaustive against audioop, anchors, transcoding."""

from __future__ import annotations

import array
import sys
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore import _fastpath_py
from callcore.fastpath import load
from callcore.media import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

ALL_PCM = array.array("h", range(-32768, 32768))
if sys.byteorder != "little":  # pragma: no cover
    ALL_PCM.byteswap()
ALL_PCM_BYTES = ALL_PCM.tobytes()
ALL_CODES = bytes(range(256))


def test_encoders_match_audioop_on_every_sample(fastpath):
    assert fastpath.ulaw_encode(ALL_PCM_BYTES) == audioop.lin2ulaw(ALL_PCM_BYTES, 2)
    assert fastpath.alaw_encode(ALL_PCM_BYTES) == audioop.lin2alaw(ALL_PCM_BYTES, 2)


def test_decoders_match_audioop_on_every_code(fastpath):
    assert fastpath.ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert fastpath.alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_transcoding_equals_decode_then_encode(fastpath):
    assert fastpath.ulaw_to_alaw(ALL_CODES) == audioop.lin2alaw(audioop.ulaw2lin(ALL_CODES, 2), 2)
    assert fastpath.alaw_to_ulaw(ALL_CODES) == audioop.lin2ulaw(audioop.alaw2lin(ALL_CODES, 2), 2)


def _sample(x: int) -> bytes:
    return x.to_bytes(2, "little", signed=True)


@pytest.mark.parametrize(("code", "value"), [(0x00, -32124), (0x80, 32124), (0xFF, 0), (0x7F, 0)])
def test_ulaw_anchors(fastpath, code, value):
    assert fastpath.ulaw_decode(bytes([code])) == _sample(value)


@pytest.mark.parametrize(("code", "value"), [(0x55, -8), (0xD5, 8), (0xAA, 32256)])
def test_alaw_anchors(fastpath, code, value):
    assert fastpath.alaw_decode(bytes([code])) == _sample(value)


def test_encode_anchors(fastpath):
    assert fastpath.ulaw_encode(_sample(0)) == b"\xff"
    assert fastpath.alaw_encode(_sample(0)) == b"\xd5"
    assert fastpath.ulaw_encode(_sample(32767)) == b"\x80"
    assert fastpath.ulaw_encode(_sample(-32768)) == b"\x00"


@pytest.mark.parametrize("fn", ["ulaw_encode", "alaw_encode", "energy", "peak"])
@pytest.mark.parametrize("size", [1, 3, 321])
def test_odd_pcm_length_is_rejected(fastpath, fn, size):
    with pytest.raises(ValueError, match="16-bit"):
        getattr(fastpath, fn)(bytes(size))


@pytest.mark.parametrize("fn", ["ulaw_decode", "alaw_decode", "ulaw_to_alaw", "alaw_to_ulaw"])
def test_codes_of_any_length(fastpath, fn):
    for n in (0, 1, 7, 161):
        out = getattr(fastpath, fn)(ALL_CODES[:n])
        assert len(out) == (n if "_to_" in fn else 2 * n)


def test_bytes_like_inputs(fastpath):
    pcm = ALL_PCM_BYTES[1000:1320]
    want = audioop.lin2ulaw(pcm, 2)
    assert fastpath.ulaw_encode(bytearray(pcm)) == want
    assert fastpath.ulaw_encode(memoryview(pcm)) == want
    # an unaligned slice of a larger buffer
    big = b"x" + pcm
    assert fastpath.ulaw_encode(memoryview(big)[1:]) == want
    assert fastpath.ulaw_encode(array.array("h", pcm)) == want
    codes = memoryview(b"?" + ALL_CODES)[1:]
    assert fastpath.alaw_decode(codes) == audioop.alaw2lin(ALL_CODES, 2)
    assert fastpath.ulaw_to_alaw(bytearray(ALL_CODES)) == fastpath.ulaw_to_alaw(ALL_CODES)


def test_empty(fastpath):
    assert fastpath.ulaw_encode(b"") == b""
    assert fastpath.alaw_decode(b"") == b""


def test_all_names_exported_by_both_twins(fastpath):
    assert set(fastpath.__all__) == set(_fastpath_py.__all__)
    for name in fastpath.__all__:
        assert callable(getattr(fastpath, name)) or name in {"GAIN_ONE", "MAX_GAIN"}


# ---------------------------------------------------- compiled == pure (hypothesis)
def _compiled():
    try:
        return load(pure=False)
    except ImportError:
        pytest.skip("compiled fast path not built")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=1200).map(lambda b: b[: len(b) & ~1]))
def test_twins_encode_identically(pcm):
    fast = _compiled()
    for fn in ("ulaw_encode", "alaw_encode"):
        assert getattr(fast, fn)(pcm) == getattr(_fastpath_py, fn)(pcm)
    assert fast.energy(pcm) == _fastpath_py.energy(pcm)
    assert fast.peak(pcm) == _fastpath_py.peak(pcm)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_twins_decode_identically(codes):
    fast = _compiled()
    for fn in ("ulaw_decode", "alaw_decode", "ulaw_to_alaw", "alaw_to_ulaw"):
        assert getattr(fast, fn)(codes) == getattr(_fastpath_py, fn)(codes)


# --------------------------------------------------------------- codec objects
def test_codec_registry():
    assert g711.by_name("pcmu") is g711.PCMU
    assert g711.by_name("PCMA/8000") is g711.PCMA
    assert g711.by_payload_type(0) is g711.PCMU
    assert g711.by_payload_type(8) is g711.PCMA
    assert g711.PCMU.rtpmap == "PCMU/8000"
    assert g711.PCMA.frame_bytes(20) == 160
    assert {c.name for c in g711.codecs()} >= {"PCMU", "PCMA"}
    with pytest.raises(KeyError):
        g711.by_name("opus")
    with pytest.raises(KeyError):
        g711.by_payload_type(18)
    with pytest.raises(ValueError):
        g711.register(g711.PCMU)


def test_codec_objects_round_trip_like_audioop():
    pcm = ALL_PCM_BYTES[40000:40320]
    assert g711.PCMU.decode(g711.PCMU.encode(pcm)) == audioop.ulaw2lin(audioop.lin2ulaw(pcm, 2), 2)
    assert g711.PCMA.decode(g711.PCMA.encode(pcm)) == audioop.alaw2lin(audioop.lin2alaw(pcm, 2), 2)
    u = g711.PCMU.encode(pcm)
    assert g711.transcode(u, g711.PCMU, g711.PCMA) == audioop.lin2alaw(audioop.ulaw2lin(u, 2), 2)
    assert g711.transcode(u, g711.PCMU, g711.PCMU) == u
