"""Test audio synthesized at test time with espeak-ng and sox, cached per session.

Import the fixture into a test module with
``from audio_fixtures import audio_cache  # noqa: F401`` and call helpers
with the cache directory. Every clip is 16-bit signed LE mono PCM at 8 kHz.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

RATE = 8000
FRAME = 160  # 20 ms


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed")
    return path


@pytest.fixture(scope="session")
def audio_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Session-wide directory where synthesized clips are cached."""
    return tmp_path_factory.mktemp("media_audio")


def _key(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def _raw(cache: Path, key: str, build) -> bytes:
    out = cache / f"{key}.raw"
    if not out.exists():
        tmp = cache / f"{key}.tmp.raw"
        build(tmp)
        tmp.rename(out)
    return out.read_bytes()


def _sox_to_raw(src: list[str], dst: Path, effects: list[str]) -> None:
    sox = _need("sox")
    cmd = [sox, "-V1", *src, "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16", "-c", "1",
           str(dst), *effects]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def sox_synth(cache: Path, seconds: float, *synth: str, effects: tuple[str, ...] = ()) -> bytes:
    """``sox -n ... synth <seconds> <synth...> <effects...>`` as 8 kHz PCM."""
    key = _key("synth", seconds, synth, effects)
    return _raw(
        cache,
        key,
        lambda dst: _sox_to_raw(["-n"], dst, ["synth", str(seconds), *synth, *effects]),
    )


def speech(
    cache: Path,
    text: str,
    voice: str = "en-us",
    speed: int = 160,
    pitch: int = 50,
    gain_db: float = 0.0,
) -> bytes:
    """``text`` spoken by espeak-ng, converted to 8 kHz PCM with a gain in dB."""
    espeak = _need("espeak-ng")
    key = _key("speech", text, voice, speed, pitch, gain_db)

    def build(dst: Path) -> None:
        wav = dst.with_suffix(".wav")
        subprocess.run(
            [espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        _sox_to_raw([str(wav)], dst, ["gain", str(gain_db)])
        wav.unlink()

    return _raw(cache, key, build)


def trim_silence(pcm: bytes, threshold: int = 64) -> bytes:
    """Strip leading/trailing samples under ``threshold`` (espeak pads its output)."""
    x = np.frombuffer(pcm, dtype="<i2")
    idx = np.flatnonzero(np.abs(x.astype(np.int32)) >= threshold)
    if idx.size == 0:
        return b""
    return x[idx[0] : idx[-1] + 1].tobytes()


def silence(ms: float) -> bytes:
    return bytes(2 * int(RATE * ms / 1000))


def noise(ms: float, rms: float, seed: int) -> bytes:
    """Gaussian comfort noise at ``rms`` (16-bit units)."""
    rng = np.random.default_rng(seed)
    n = int(RATE * ms / 1000)
    return np.clip(rng.normal(0, rms, n), -32768, 32767).astype("<i2").tobytes()


def mix(a: bytes, b: bytes) -> bytes:
    """Saturating sum; the result has the longer length."""
    x = np.frombuffer(a, dtype="<i2").astype(np.int32)
    y = np.frombuffer(b, dtype="<i2").astype(np.int32)
    n = max(len(x), len(y))
    out = np.zeros(n, dtype=np.int32)
    out[: len(x)] += x
    out[: len(y)] += y
    return np.clip(out, -32768, 32767).astype("<i2").tobytes()


def frames(pcm: bytes, size: int = FRAME):
    """Whole 20 ms frames (the tail is zero-padded)."""
    step = 2 * size
    for i in range(0, len(pcm), step):
        f = pcm[i : i + step]
        yield f if len(f) == step else f + bytes(step - len(f))


def tone_peak_hz(pcm: bytes, rate: int = RATE) -> float:
    """Frequency of the strongest spectral peak (Hann window)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))
