"""DTMF against audio made by other programs: sox-synthesized digits, espeak-ng speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from callcore.media.dtmf import COLS, DIGITS, ROWS, detect_digits

RATE = 8000


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed")
    return path


@pytest.fixture(scope="session")
def dtmf_audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dtmf_audio")


def _sox_digit(out: Path, digit: str, seconds: float, gap: float) -> None:
    r, c = divmod(DIGITS.index(digit), 4)
    # one mono channel: sox mixes the two sines at half amplitude each
    subprocess.run(
        [_need("sox"), "-V1", "-n", "-r", str(RATE), "-b", "16", "-c", "1", "-e", "signed",
         str(out), "synth", str(seconds), "sine", str(ROWS[r]), "sine", str(COLS[c]),
         "gain", "-6", "pad", "0", str(gap)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("digits", "on", "gap"),
    [("0123456789*#ABCD", 0.1, 0.05), ("4412#8", 0.045, 0.045), ("99119", 0.06, 0.04)],
)
def test_sox_digit_strings(fastpath, dtmf_audio_dir, digits, on, gap):
    pcm = b""
    for i, d in enumerate(digits):
        out = dtmf_audio_dir / f"{d.replace('*', 'star').replace('#', 'hash')}_{on}_{gap}_{i}.raw"
        if not out.exists():
            _sox_digit(out, d, on, gap)
        pcm += out.read_bytes()
    assert detect_digits(pcm, fastpath=fastpath) == digits


EN = (
    "Thank you for calling the bank. Your call is important to us. Please listen carefully "
    "as our menu options have changed. For card services, press one. For loans and mortgages, "
    "press two. To speak with an agent, stay on the line. Our business hours are Monday to "
    "Friday, nine in the morning until six in the evening. Did you know you can check your "
    "balance, pay bills and transfer money any time in our mobile app? "
)
ZH = (
    "您好，欢迎致电银行客户服务中心。信用卡业务请按一，贷款业务请按二，人工服务请按零。"
    "我们的营业时间是周一至周五上午九点到下午六点。请您耐心等待，我们将尽快为您服务。"
    "您也可以通过手机银行随时查询余额、缴费和转账。"
)
# voice, pitch, speed: male and female-style variants, two speaking rates
SPEAKERS = [
    ("en-us", EN * 2, 50, 160),
    ("en-us+f3", EN, 80, 185),
    ("cmn", ZH * 2, 50, 160),
    ("cmn+f2", ZH, 85, 190),
]


@pytest.fixture(scope="session")
def speech_clips(dtmf_audio_dir: Path) -> list[bytes]:
    espeak, sox = _need("espeak-ng"), _need("sox")
    clips = []
    for i, (voice, text, pitch, speed) in enumerate(SPEAKERS):
        wav, raw = dtmf_audio_dir / f"speech{i}.wav", dtmf_audio_dir / f"speech{i}.raw"
        if not raw.exists():
            subprocess.run(
                [espeak, "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav), text],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            subprocess.run(
                [sox, "-V1", str(wav), "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16",
                 "-c", "1", str(raw), "gain", "-n", "-3"],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        clips.append(raw.read_bytes())
    return clips


@pytest.mark.slow
def test_talk_off_on_english_and_mandarin_speech(fastpath, speech_clips):
    seconds = sum(len(c) for c in speech_clips) / (2 * RATE)
    assert seconds >= 120, f"only {seconds:.0f} s of speech synthesized"
    for clip in speech_clips:
        assert detect_digits(clip, fastpath=fastpath) == ""


@pytest.mark.slow
def test_digits_still_found_after_speech(fastpath, speech_clips, dtmf_audio_dir):
    """Speech does not leave the detector in a state that hides a following digit."""
    out = dtmf_audio_dir / "tail7.raw"
    if not out.exists():
        _sox_digit(out, "7", 0.08, 0.06)
    pcm = speech_clips[2][: 2 * RATE * 5] + out.read_bytes()
    assert detect_digits(pcm, fastpath=fastpath) == "7"
