"""Media fast path (G.711, conference mixing, DTMF) against named baselines.

Run: .venv/bin/pytest benchmarks/bench_media_fastpath.py --benchmark-enable --benchmark-only

* g711-{ulaw,alaw}-{encode,decode}: one 20 ms frame (160 samples), μ-law and
  A-law. Baselines: the stdlib ``audioop`` (C) and a numpy lookup table; ours
  compiled and pure.
* mix-32-all / mix-32-3talk: one 20 ms tick of a 32-member conference with
  everyone talking, or 3 talkers and 29 silent members. Baseline: a
  straightforward numpy mix-minus over all 32 frames. Ours: the
  ``mix_minus`` kernel, the whole :meth:`Conference.mix` (talk detection,
  roster, result dict) and its list form :meth:`Conference.mix_frames`.
* dtmf: 1 s of audio (50 frames of 20 ms, digits and silence) through the
  streaming detector, compiled and pure. Real-time channels per core =
  1 s / mean time.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from callcore import _fastpath_py
from callcore.fastpath import load
from callcore.media.dtmf import DtmfDetector, dtmf_sequence
from callcore.media.mixer import Conference

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

try:
    FAST = load(pure=False)
except ImportError:  # pragma: no cover
    FAST = None

needs_ext = pytest.mark.skipif(FAST is None, reason="compiled fast path not built")
RNG = np.random.default_rng(2026)
FRAME = (RNG.normal(0, 4000, 160)).astype("<i2").tobytes()

# law -> (audioop encoder, audioop decoder); our kernels are <law>_encode / <law>_decode
AUDIOOP = {
    "ulaw": (audioop.lin2ulaw, audioop.ulaw2lin),
    "alaw": (audioop.lin2alaw, audioop.alaw2lin),
}
LAWS = list(AUDIOOP)
CODED = {law: enc(FRAME, 2) for law, (enc, _) in AUDIOOP.items()}
DECODED = {law: dec(CODED[law], 2) for law, (_, dec) in AUDIOOP.items()}

# numpy lookup-table baseline (tables built from audioop, so bit-exact)
_ALL = np.arange(-32768, 32768, dtype="<i2").tobytes()
_ENC_LUT = {law: np.frombuffer(enc(_ALL, 2), np.uint8) for law, (enc, _) in AUDIOOP.items()}
_DEC_LUT = {
    law: np.frombuffer(dec(bytes(range(256)), 2), "<i2") for law, (_, dec) in AUDIOOP.items()
}


def np_encode(law: str, pcm: bytes) -> bytes:
    return _ENC_LUT[law][np.frombuffer(pcm, "<i2").astype(np.int32) + 32768].tobytes()


def np_decode(law: str, data: bytes) -> bytes:
    return _DEC_LUT[law][np.frombuffer(data, np.uint8)].tobytes()


# ------------------------------------------------------------------ G.711
@pytest.mark.parametrize("law", LAWS)
@pytest.mark.benchmark(group="g711-encode")
def test_encode_baseline_audioop(benchmark, law):
    benchmark.group = f"g711-{law}-encode"
    assert benchmark(AUDIOOP[law][0], FRAME, 2) == CODED[law]


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.benchmark(group="g711-encode")
def test_encode_baseline_numpy_lut(benchmark, law):
    benchmark.group = f"g711-{law}-encode"
    assert benchmark(np_encode, law, FRAME) == CODED[law]


@needs_ext
@pytest.mark.parametrize("law", LAWS)
@pytest.mark.benchmark(group="g711-encode")
def test_encode_compiled(benchmark, law):
    benchmark.group = f"g711-{law}-encode"
    assert benchmark(getattr(FAST, f"{law}_encode"), FRAME) == CODED[law]


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.benchmark(group="g711-encode")
def test_encode_pure(benchmark, law):
    benchmark.group = f"g711-{law}-encode"
    assert benchmark(getattr(_fastpath_py, f"{law}_encode"), FRAME) == CODED[law]


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.benchmark(group="g711-decode")
def test_decode_baseline_audioop(benchmark, law):
    benchmark.group = f"g711-{law}-decode"
    assert benchmark(AUDIOOP[law][1], CODED[law], 2) == DECODED[law]


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.benchmark(group="g711-decode")
def test_decode_baseline_numpy_lut(benchmark, law):
    benchmark.group = f"g711-{law}-decode"
    assert benchmark(np_decode, law, CODED[law]) == DECODED[law]


@needs_ext
@pytest.mark.parametrize("law", LAWS)
@pytest.mark.benchmark(group="g711-decode")
def test_decode_compiled(benchmark, law):
    benchmark.group = f"g711-{law}-decode"
    assert benchmark(getattr(FAST, f"{law}_decode"), CODED[law]) == DECODED[law]


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.benchmark(group="g711-decode")
def test_decode_pure(benchmark, law):
    benchmark.group = f"g711-{law}-decode"
    assert benchmark(getattr(_fastpath_py, f"{law}_decode"), CODED[law]) == DECODED[law]


# ----------------------------------------------------------------- mixing
MEMBERS = 32
TALK = [(RNG.normal(0, 3000, 160)).astype("<i2").tobytes() for _ in range(MEMBERS)]
SILENT = bytes(320)


def np_mix_minus(frames: list[bytes]) -> tuple[bytes, list[bytes]]:
    """Straightforward numpy: stack, sum, subtract each row, clip, convert."""
    a = np.frombuffer(b"".join(frames), "<i2").reshape(len(frames), -1).astype(np.int32)
    total = a.sum(axis=0)
    outs = np.clip(total - a, -32768, 32767).astype("<i2")
    return np.clip(total, -32768, 32767).astype("<i2").tobytes(), [o.tobytes() for o in outs]


def _scenario(talkers: int) -> list[bytes]:
    return TALK[:talkers] + [SILENT] * (MEMBERS - talkers)


def _conference(fp) -> Conference:
    conf = Conference(fastpath=fp)
    for i in range(MEMBERS):
        conf.add(i)
    return conf


@pytest.mark.parametrize("talkers", [32, 3], ids=["all", "3talk"])
@pytest.mark.benchmark(group="mix-32")
def test_mix_baseline_numpy(benchmark, talkers):
    benchmark.group = f"mix-32-{'all' if talkers == 32 else '3talk'}"
    frames = _scenario(talkers)
    total, _ = benchmark(np_mix_minus, frames)
    assert total == _fastpath_py.mix_minus(frames)[0]


@needs_ext
@pytest.mark.parametrize("talkers", [32, 3], ids=["all", "3talk"])
@pytest.mark.benchmark(group="mix-32")
def test_mix_kernel_compiled(benchmark, talkers):
    benchmark.group = f"mix-32-{'all' if talkers == 32 else '3talk'}"
    frames = TALK[:talkers] + [None] * (MEMBERS - talkers)
    total, _ = benchmark(FAST.mix_minus, frames)
    assert total == np_mix_minus(_scenario(talkers))[0]


@needs_ext
@pytest.mark.parametrize("talkers", [32, 3], ids=["all", "3talk"])
@pytest.mark.benchmark(group="mix-32")
def test_mix_conference_compiled(benchmark, talkers):
    benchmark.group = f"mix-32-{'all' if talkers == 32 else '3talk'}"
    conf = _conference(FAST)
    tick = dict(enumerate(_scenario(talkers)))
    res = benchmark(conf.mix, tick)
    assert len(res.talkers) == talkers


@needs_ext
@pytest.mark.parametrize("talkers", [32, 3], ids=["all", "3talk"])
@pytest.mark.benchmark(group="mix-32")
def test_mix_conference_frames_compiled(benchmark, talkers):
    """The list entry point (members in order), as a media clock would call it."""
    benchmark.group = f"mix-32-{'all' if talkers == 32 else '3talk'}"
    conf = _conference(FAST)
    frames = _scenario(talkers)
    shared, _ = benchmark(lambda: conf.mix_frames(list(frames)))
    assert shared == np_mix_minus(frames)[0]


@pytest.mark.parametrize("talkers", [32, 3], ids=["all", "3talk"])
@pytest.mark.benchmark(group="mix-32")
def test_mix_kernel_pure(benchmark, talkers):
    benchmark.group = f"mix-32-{'all' if talkers == 32 else '3talk'}"
    frames = TALK[:talkers] + [None] * (MEMBERS - talkers)
    benchmark(_fastpath_py.mix_minus, frames)


# ------------------------------------------------------------------- DTMF
SECOND = (dtmf_sequence("1234", 100, 150) + bytes(16000))[:16000]
FRAMES_1S = [SECOND[i : i + 320] for i in range(0, 16000, 320)]


def _detect_second(det: DtmfDetector) -> None:
    for f in FRAMES_1S:
        det.feed(f)


@needs_ext
@pytest.mark.benchmark(group="dtmf-1s")
def test_dtmf_compiled(benchmark):
    det = DtmfDetector(fastpath=FAST)
    benchmark(_detect_second, det)


@pytest.mark.benchmark(group="dtmf-1s")
def test_dtmf_pure(benchmark):
    det = DtmfDetector(fastpath=_fastpath_py)
    benchmark(_detect_second, det)
