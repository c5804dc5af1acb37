"""Conference mixer (softmix semantics) and the mix_minus kernel, on both twins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore import _fastpath_py
from callcore.fastpath import load
from callcore.media.dtmf import tone
from callcore.media.mixer import Conference

N = 160
FREQS = {"a": 500.0, "b": 1000.0, "c": 2000.0}


def frames_of(freq: float, count: int, level: float = -12.0) -> list[bytes]:
    pcm = tone([freq], count * N / 8, level)
    return [pcm[2 * N * i : 2 * N * (i + 1)] for i in range(count)]


def pcm(x) -> bytes:
    return np.asarray(x, dtype="<i2").tobytes()


def arr(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<i2").astype(np.int64)


def band_power(signal: np.ndarray, freq: float) -> float:
    spec = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    k = round(freq * len(signal) / 8000)
    return float(spec[k - 2 : k + 3].max())


def run(conf: Conference, sources: dict, ticks: int = 10) -> dict:
    per = {mid: frames_of(FREQS[mid], ticks) for mid in sources if sources[mid]}
    outs: dict = {mid: [] for mid in conf.members}
    for t in range(ticks):
        res = conf.mix({mid: fr[t] for mid, fr in per.items()})
        for mid, out in res.outputs.items():
            outs[mid].append(out)
    return {mid: np.concatenate([arr(o) for o in seq]) for mid, seq in outs.items()}


def hears(sig: np.ndarray, mid: str) -> bool:
    ref = max(band_power(sig, f) for f in FREQS.values())
    return ref > 0 and band_power(sig, FREQS[mid]) > 0.1 * ref


def test_three_members_hear_the_other_two(fastpath):
    conf = Conference(fastpath=fastpath)
    for mid in "abc":
        conf.add(mid)
    out = run(conf, dict.fromkeys("abc", True))
    for me in "abc":
        heard = {other for other in "abc" if hears(out[me], other)}
        assert heard == set("abc") - {me}
        # and not a trace of its own tone (exact cancellation, no saturation here)
        own = band_power(out[me], FREQS[me])
        assert own < 1e-6 * band_power(out[me], FREQS[(set("abc") - {me}).pop()])


def test_kernel_saturates(fastpath):
    hi = pcm([30000] * N)
    lo = pcm([-30000] * N)
    total, outs = fastpath.mix_minus([hi, hi, lo, lo, lo])
    # 32-bit headroom: partial sums (60000) are not clipped, only the result
    assert arr(total).tolist() == [-30000] * N
    assert arr(outs[0]).tolist() == [-32768] * N  # -60000 saturates
    assert arr(outs[2]).tolist() == [0] * N
    total, outs = fastpath.mix_minus([hi, hi, hi])
    assert set(arr(total)) == {32767}
    assert all(set(arr(o)) == {32767} for o in outs)  # 60000 each
    total, outs = fastpath.mix_minus([hi, lo])
    assert set(arr(total)) == {0}
    assert arr(outs[0]).tolist() == [-30000] * N and arr(outs[1]).tolist() == [30000] * N


def test_kernel_gains_and_minus(fastpath):
    a = pcm(np.arange(N) - 80)
    b = pcm(np.full(N, 1000))
    total, (oa, ob) = fastpath.mix_minus([a, b], [0.5, 2.0])
    ca = (arr(a) * 2048) >> 12
    cb = arr(b) * 2
    assert arr(total).tolist() == (ca + cb).tolist()
    assert arr(oa).tolist() == cb.tolist() and arr(ob).tolist() == ca.tolist()


def test_kernel_silent_members_share_the_total_object(fastpath):
    a = pcm([100] * N)
    total, outs = fastpath.mix_minus([a, None, None, a])
    assert outs[1] is total and outs[2] is total
    assert outs[0] is not total
    assert fastpath.mix_minus([]) == (b"", [])


def test_kernel_whisper_goes_to_target_only(fastpath):
    a = pcm([100] * N)
    w = pcm([7] * N)
    total, outs = fastpath.mix_minus([a, None, None], None, [(2, w, 1.0)])
    assert set(arr(total)) == {100}
    assert outs[1] is total
    assert set(arr(outs[0])) == {0}
    assert set(arr(outs[2])) == {107}


def test_kernel_rejects_bad_input(fastpath):
    a = pcm([1] * N)
    with pytest.raises(ValueError):
        fastpath.mix_minus([a, a[:-2]])
    with pytest.raises(ValueError):
        fastpath.mix_minus([a], [9.0])
    with pytest.raises(ValueError):
        fastpath.mix_minus([a], [1.0, 1.0])
    with pytest.raises(IndexError):
        fastpath.mix_minus([a], None, [(3, a, 1.0)])
    with pytest.raises(ValueError):
        fastpath.mix_minus([a[:-1]])


def test_listen_only_and_muted_are_not_heard(fastpath):
    conf = Conference(fastpath=fastpath)
    conf.add("a")
    conf.add("b", listen_only=True)
    conf.add("c", muted=True)
    out = run(conf, dict.fromkeys("abc", True))
    assert not hears(out["a"], "b") and not hears(out["a"], "c")
    assert hears(out["b"], "a") and hears(out["c"], "a")
    conf.mute("c", False)
    out = run(conf, dict.fromkeys("abc", True))
    assert hears(out["a"], "c") and hears(out["b"], "c")


def test_whisper_is_heard_by_its_target_only(fastpath):
    conf = Conference(fastpath=fastpath)
    for mid in ("a", "b", "c"):  # a: customer, b: agent, c: supervisor
        conf.add(mid)
    conf.whisper("c", to="b")
    out = run(conf, dict.fromkeys("abc", True))
    assert hears(out["b"], "c") and hears(out["b"], "a")
    assert not hears(out["a"], "c")
    assert hears(out["c"], "a") and hears(out["c"], "b")
    assert not hears(out["c"], "c")
    conf.whisper("c", None)
    out = run(conf, dict.fromkeys("abc", True))
    assert hears(out["a"], "c")


def test_inactive_members_share_one_frame(fastpath):
    conf = Conference(fastpath=fastpath)
    for i in range(6):
        conf.add(i)
    talk = frames_of(500.0, 1)[0]
    quiet = bytes(2 * N)
    res = conf.mix({0: talk, 1: talk, 2: quiet, 3: quiet})
    assert res.talkers == (0, 1)
    shared = {id(res.outputs[i]) for i in (2, 3, 4, 5)}
    assert shared == {id(res.shared)}
    assert res.outputs[0] is not res.shared and res.outputs[0] == talk


def test_nobody_talking_gives_silence(fastpath):
    conf = Conference(fastpath=fastpath, hangover=0)
    conf.add("x")
    conf.add("y")
    res = conf.mix({"x": bytes(2 * N)})
    assert res.talkers == () and res.shared == bytes(2 * N)
    assert res.outputs["x"] is res.outputs["y"]


def test_hangover_keeps_a_talker_through_a_pause(fastpath):
    conf = Conference(fastpath=fastpath, hangover=2)
    conf.add("a")
    conf.add("b")
    loud = frames_of(500.0, 1)[0]
    quiet = pcm([3] * N)
    talkers = [conf.mix({"a": f}).talkers for f in (loud, quiet, quiet, quiet)]
    assert talkers == [("a",), ("a",), ("a",), ()]


def test_gain(fastpath):
    conf = Conference(fastpath=fastpath, talk_threshold=None)
    conf.add("a", gain=0.5)
    conf.add("b")
    a = pcm([1000] * N)
    assert set(arr(conf.mix({"a": a}).outputs["b"])) == {500}
    conf.set_gain("a", 2.0)
    assert set(arr(conf.mix({"a": a}).outputs["b"])) == {2000}


def test_roster_errors():
    conf = Conference()
    conf.add("a")
    with pytest.raises(ValueError):
        conf.add("a")
    with pytest.raises(KeyError):
        conf.whisper("a", to="zz")
    with pytest.raises(ValueError):
        conf.whisper("a", to="a")
    with pytest.raises(KeyError):
        conf.mix({"zz": bytes(2 * N)})
    with pytest.raises(ValueError):
        conf.mix({"a": bytes(10)})
    with pytest.raises(ValueError):
        conf.set_gain("a", -1.0)
    conf.add("b")
    conf.whisper("a", to="b")
    conf.remove("b")
    assert conf.member("a").whisper_to is None
    assert len(conf) == 1 and "a" in conf and conf.members == ("a",)


# ---------------------------------------------------------------- twins agree
def _compiled():
    try:
        return load(pure=False)
    except ImportError:
        pytest.skip("compiled fast path not built")


frame_st = st.binary(min_size=2 * 40, max_size=2 * 40)
gain_st = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.3, 2.0, 8.0])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), frame_st), min_size=0, max_size=8),
    st.data(),
)
def test_twins_mix_identically(frames, data):
    fast = _compiled()
    gains = data.draw(st.lists(gain_st, min_size=len(frames), max_size=len(frames)))
    whispers = None
    if frames:
        whispers = data.draw(
            st.lists(st.tuples(st.integers(0, len(frames) - 1), frame_st, gain_st), max_size=3)
        )
    assert fast.mix_minus(frames, gains, whispers) == _fastpath_py.mix_minus(
        frames, gains, whispers
    )
    assert fast.mix_minus(frames) == _fastpath_py.mix_minus(frames)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2 * 500).map(lambda b: b[: len(b) & ~1]))
def test_twins_goertzel_and_dtmf_blocks_identical(pcm_bytes):
    fast = _compiled()
    coeffs = (1.7, 0.3, -1.99, 1.0, 0.0, -0.5, 1.95, 0.77)
    assert fast.goertzel(pcm_bytes, coeffs) == _fastpath_py.goertzel(pcm_bytes, coeffs)
    args = (coeffs, 102, 1e5, 8.9, 3.5, 6.3, 0.6)
    assert fast.dtmf_blocks(pcm_bytes, *args) == _fastpath_py.dtmf_blocks(pcm_bytes, *args)


def test_no_threshold_counts_every_frame(fastpath):
    conf = Conference(fastpath=fastpath, talk_threshold=None, hangover=0)
    conf.add("a")
    conf.add("b")
    res = conf.mix({"a": bytes(2 * N), "b": bytes(2 * N)})
    assert res.talkers == ("a", "b")
    assert conf.mix({}).talkers == ()


def test_talk_mask_kernel(fastpath):
    quiet = bytearray([255, 255, 0])
    loud, soft = pcm([100] * N), pcm([1] * N)
    mask = fastpath.talk_mask([loud, soft, None], quiet, N, 50.0 * 50.0 * N, 1)
    assert mask == b"\x01\x00\x01" and quiet == bytearray([0, 255, 1])
    mask = fastpath.talk_mask([None, None, None], quiet, N, 0.0, 1)
    assert mask == b"\x01\x00\x00" and quiet == bytearray([1, 255, 2])
    with pytest.raises(ValueError):
        fastpath.talk_mask([loud[:-2], None, None], quiet, N, 0.0, 1)
    with pytest.raises(ValueError):
        fastpath.talk_mask([loud], quiet, N, 0.0, 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), frame_st), max_size=8), st.data())
def test_twins_talk_mask_identical(frames, data):
    fast = _compiled()
    q = data.draw(st.binary(min_size=len(frames), max_size=len(frames)))
    limit = data.draw(st.sampled_from([-1.0, 0.0, 1e6, 4e8]))
    qa, qb = bytearray(q), bytearray(q)
    assert fast.talk_mask(frames, qa, 40, limit, 3) == _fastpath_py.talk_mask(
        frames, qb, 40, limit, 3
    )
    assert qa == qb


def test_talk_mask_clear_in_place(fastpath):
    loud, soft = pcm([100] * N), pcm([1] * N)
    frames = [loud, soft, None]
    mask = fastpath.talk_mask(frames, bytearray(3), N, 50.0 * 50.0 * N, 0, True)
    assert mask == b"\x01\x00\x00" and frames == [loud, None, None]


def test_mix_frames_list_api_matches_mix(fastpath):
    a, b = Conference(fastpath=fastpath), Conference(fastpath=fastpath)
    for conf in (a, b):
        for mid in "abc":
            conf.add(mid)
        conf.whisper("c", to="b")
    fr = {m: frames_of(FREQS[m], 1)[0] for m in "abc"}
    res = a.mix(fr)
    shared, outs = b.mix_frames([fr["a"], fr["b"], fr["c"]])
    assert shared == res.shared and outs == [res.outputs[m] for m in "abc"]
    assert res.talkers == ("a", "b")
    with pytest.raises(ValueError):
        b.mix_frames([None])
    quiet = Conference(fastpath=fastpath, hangover=0)
    quiet.add("x")
    assert quiet.mix_frames([None]) == (bytes(2 * N), [bytes(2 * N)])
