from __future__ import annotations

import numpy as np
import pytest

from callcore.media.player import ItemFinished, ItemInterrupted, ItemStarted, Player
from callcore.media.prompts import Prompt, PromptCache
from callcore.media.tones import TONE_PLANS, ToneSequence, beep, render


def _ramp(n: int, base: int) -> bytes:
    return (np.arange(n, dtype=np.int32) % 1000 + base).astype("<i2").tobytes()


def _prompt(pcm: bytes) -> Prompt:
    return Prompt(pcm, 8000, "<mem>", 8000, 1, 2)


def _run(player: Player, frames: int) -> np.ndarray:
    return np.frombuffer(b"".join(player.next_frame() for _ in range(frames)), "<i2")


def test_queue_order_is_gapless():
    p = Player()
    a, b, c = _ramp(250, 1), _ramp(90, 2000), _ramp(333, 5000)
    ids = [p.enqueue(_prompt(a), tag="a"), p.enqueue(b, tag="b"), p.enqueue(_prompt(c), tag="c")]
    out = _run(p, 5)
    assert len(out) == 800
    assert out[:673].tobytes() == a + b + c
    assert not out[673:].any()
    ev = p.events()
    assert [type(e) for e in ev] == [ItemStarted, ItemFinished] * 3
    assert [(e.item_id, e.sample) for e in ev] == [
        (ids[0], 0), (ids[0], 250), (ids[1], 250), (ids[1], 340), (ids[2], 340), (ids[2], 673)
    ]  # fmt: skip
    assert [e.tag for e in ev if isinstance(e, ItemStarted)] == ["a", "b", "c"]
    assert p.idle


def test_tone_and_silence_cadence_in_samples():
    p = Player()
    p.enqueue(beep(1000, 30))
    p.enqueue_silence(45)
    p.enqueue(ToneSequence.of([((425,), 10, 5)], repeat=2))
    out = _run(p, 8)
    ev = [e for e in p.events() if isinstance(e, ItemFinished)]
    assert [e.sample for e in ev] == [240, 240 + 360, 240 + 360 + 240]
    assert out[:240].tobytes() == render(beep(1000, 30))
    assert not out[240:600].any()
    assert out[600:840].tobytes() == render(ToneSequence.of([((425,), 10, 5)], repeat=2))


def test_dtmf_during_non_interruptible_item_is_ignored():
    p = Player()
    legal = p.enqueue(_ramp(400, 7), interruptible=False, tag="legal")
    menu = p.enqueue(_ramp(800, 9), tag="menu")
    _run(p, 1)
    p.events()
    assert p.on_dtmf("5") is False
    assert p.events() == []
    out = _run(p, 8)
    assert out[: 400 - 160].tobytes() == _ramp(400, 7)[320:]
    assert out[240:1040].tobytes() == _ramp(800, 9)
    assert [(type(e), e.item_id) for e in p.events()] == [
        (ItemFinished, legal), (ItemStarted, menu), (ItemFinished, menu)
    ]  # fmt: skip


def test_dtmf_stops_playing_prompt_and_queued_menu():
    p = Player()
    menu1 = p.enqueue(_ramp(800, 9), tag="welcome")
    menu2 = p.enqueue(_ramp(800, 11), tag="options")
    notice = p.enqueue(_ramp(100, 13), interruptible=False, tag="notice")
    _run(p, 2)
    p.events()
    assert p.on_dtmf("1") is True
    ev = p.events()
    assert ev == [
        ItemInterrupted(menu1, "welcome", 320, "dtmf", "1", True),
        ItemInterrupted(menu2, "options", 320, "dtmf", "1", False),
    ]
    out = _run(p, 1)
    assert out[:100].tobytes() == _ramp(100, 13)
    assert not out[100:].any()
    assert [type(e) for e in p.events()] == [ItemStarted, ItemFinished]
    assert p.events() == [] and p.idle and notice


def test_endless_tone_until_interrupt_and_stop():
    p = Player()
    rid = p.enqueue(TONE_PLANS["us"].ringback)
    keep = p.enqueue(_ramp(10, 1), interruptible=False)
    out = _run(p, 500)  # 10 s of ringback
    assert out.any() and not p.idle
    assert p.interrupt() == [rid]
    assert p.stop() == [keep]
    assert p.idle
    assert not _run(p, 2).any()


def test_paths_need_a_cache(tmp_path):
    import wave

    path = tmp_path / "p.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(_ramp(300, 3))
    with pytest.raises(TypeError):
        Player().enqueue(str(path))
    p = Player(prompts=PromptCache())
    p.enqueue(path)
    assert _run(p, 2)[:300].tobytes() == _ramp(300, 3)
    with pytest.raises(ValueError):
        p.enqueue(Prompt(b"\0\0", 16000, "x", 16000, 1, 2))
    with pytest.raises(TypeError):
        p.enqueue(42)  # type: ignore[arg-type]
