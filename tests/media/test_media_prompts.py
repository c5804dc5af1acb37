from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from audio_fixtures import tone_peak_hz

from callcore.media.prompts import PromptCache, PromptError, load_prompt


def _sox(path, rate, bits, channels, seconds=0.5, extra=(), synth=("sine", "1000")):
    cmd = ["sox", "-V1", "-n", "-r", str(rate), "-b", str(bits), "-c", str(channels), *extra, str(path),
           "synth", str(seconds), *synth, "vol", "0.5"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return path


@pytest.mark.parametrize(
    "rate,bits,channels,extra",
    [
        (8000, 16, 1, ()),
        (16000, 16, 1, ()),
        (44100, 16, 2, ()),
        (48000, 16, 1, ()),
        (8000, 8, 1, ()),
        (16000, 24, 1, ()),  # WAVE_FORMAT_EXTENSIBLE (sox default above 16 bit)
        (16000, 24, 1, ("-t", "wavpcm")),  # plain PCM header, read by stdlib wave
        (48000, 32, 2, ()),
        (22050, 32, 1, ("-e", "floating-point")),
    ],
)
def test_load_formats(tmp_path, rate, bits, channels, extra):
    p = _sox(tmp_path / "p.wav", rate, bits, channels, extra=extra)
    pr = load_prompt(p)
    assert pr.rate == 8000 and pr.source_rate == rate and pr.source_channels == channels
    assert pr.samples == 4000
    x = np.frombuffer(pr.pcm, "<i2").astype(float)
    assert abs(tone_peak_hz(pr.pcm) - 1000) < 5
    peak = np.abs(x[200:-200]).max()
    assert abs(peak - 16384) < 16384 * 0.03


def test_stereo_is_averaged(tmp_path):
    p = tmp_path / "s.wav"
    args = "-V1 -n -r 16000 -b 16 -c 2 {} synth 0.5 sine 1000 sine 1000 vol 0.5 remix 1 0"
    subprocess.run(["sox", *args.format(p).split()], check=True, capture_output=True)
    x = np.frombuffer(load_prompt(p).pcm, "<i2").astype(float)
    assert abs(np.abs(x[200:-200]).max() - 8192) < 8192 * 0.03


def test_other_target_rate(tmp_path):
    p = _sox(tmp_path / "p.wav", 8000, 16, 1)
    pr = load_prompt(p, rate=16000)
    assert pr.samples == 8000 and abs(pr.duration_ms - 500) < 1e-9


def test_cache_hits_and_reloads_on_change(tmp_path):
    p = _sox(tmp_path / "p.wav", 8000, 16, 1, synth=("sine", "500"))
    cache = PromptCache()
    a = cache.get(p)
    b = cache.get(str(p))
    assert a is b and cache.hits == 1 and cache.misses == 1
    _sox(p, 8000, 16, 1, seconds=0.25, synth=("sine", "1500"))
    st = os.stat(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    c = cache.get(p)
    assert c is not a and c.samples == 2000 and abs(tone_peak_hz(c.pcm) - 1500) < 10


def test_cache_evicts(tmp_path):
    cache = PromptCache(max_bytes=10_000)
    for i in range(3):
        cache.get(_sox(tmp_path / f"p{i}.wav", 8000, 16, 1))  # 8000 bytes each
    assert len(cache) == 1


def test_errors(tmp_path):
    with pytest.raises(PromptError, match="no such file"):
        load_prompt(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not a wav file at all" * 10)
    with pytest.raises(PromptError, match="not a readable WAV"):
        load_prompt(junk)
    with pytest.raises(PromptError):
        load_prompt(tmp_path)
    with pytest.raises(PromptError):
        PromptCache().get(tmp_path / "missing.wav")
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(_sox(tmp_path / "ok.wav", 8000, 16, 1).read_bytes()[:30])
    with pytest.raises(PromptError):
        load_prompt(trunc)
