"""Sans-IO playback source: a queue of prompts, tones and silences → 20 ms frames.

The media clock calls :meth:`Player.next_frame` once per tick and sends what
it returns. Items play back to back with no gap, even when one ends in the
middle of a frame. Items marked ``interruptible`` (the default) are dropped
by :meth:`Player.interrupt` and by :meth:`Player.on_dtmf` (barge-in: the
playing item and the interruptible items right behind it); the rest (legal
notices) always play to the end unless :meth:`Player.stop` is called. Progress is reported as events with the player's sample clock::

    player = Player(prompts=PromptCache())
    player.enqueue(prompt_welcome)                        # Prompt, PCM bytes,
    player.enqueue(TONE_PLANS["us"].ringback)             # ToneSequence, or a path
    frame = player.next_frame()                           # 320 bytes
    for ev in player.events(): ...                        # ItemStarted/Finished/Interrupted

Paths are loaded through the :class:`~callcore.media.prompts.PromptCache`
when enqueued; in an event loop, warm the cache off the loop first
(``await asyncio.to_thread(cache.get, path)``) so enqueueing never reads disk.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from typing import Literal

from callcore.media.prompts import Prompt, PromptCache
from callcore.media.tones import ToneGenerator, ToneSequence, silence

__all__ = ["ItemFinished", "ItemInterrupted", "ItemStarted", "Player", "PlayerEvent"]

ItemKind = Literal["prompt", "pcm", "tone", "silence"]


@dataclass(frozen=True, slots=True)
class ItemStarted:
    item_id: int
    tag: object
    kind: ItemKind
    sample: int


@dataclass(frozen=True, slots=True)
class ItemFinished:
    item_id: int
    tag: object
    sample: int


@dataclass(frozen=True, slots=True)
class ItemInterrupted:
    """An item stopped early (``started=False``: removed from the queue unplayed)."""

    item_id: int
    tag: object
    sample: int
    reason: str
    digit: str | None = None
    started: bool = True


PlayerEvent = ItemStarted | ItemFinished | ItemInterrupted


class _PcmSource:
    __slots__ = ("_pcm", "_pos")

    def __init__(self, pcm: bytes) -> None:
        self._pcm = pcm
        self._pos = 0

    def remaining(self) -> int:
        return (len(self._pcm) - self._pos) // 2

    def read(self, n: int) -> bytes:
        b = self._pcm[self._pos : self._pos + 2 * n]
        self._pos += len(b)
        return b


class _Item:
    __slots__ = ("interruptible", "item_id", "kind", "source", "started", "tag")

    def __init__(self, item_id, kind, source, interruptible, tag) -> None:
        self.item_id = item_id
        self.kind = kind
        self.source = source
        self.interruptible = interruptible
        self.tag = tag
        self.started = False


class Player:
    """Queue of playback items rendered into fixed frames (see module doc)."""

    def __init__(
        self, rate: int = 8000, frame_samples: int = 160, prompts: PromptCache | None = None
    ) -> None:
        self.rate = rate
        self.frame_samples = frame_samples
        self._prompts = prompts
        self._queue: deque[_Item] = deque()
        self._events: deque[PlayerEvent] = deque()
        self._next_id = 1
        self._sample = 0
        self._silence = bytes(2 * frame_samples)

    # -- queueing ---------------------------------------------------------
    def enqueue(
        self,
        source: Prompt | ToneSequence | bytes | str | os.PathLike[str],
        *,
        interruptible: bool = True,
        tag: object = None,
    ) -> int:
        """Queue a prompt, tone sequence, raw PCM (at the player's rate) or a path.

        Returns the item id used in events.
        """
        if isinstance(source, Prompt):
            if source.rate != self.rate:
                raise ValueError(f"prompt is at {source.rate} Hz, player at {self.rate} Hz")
            kind: ItemKind = "prompt"
            src: object = _PcmSource(source.pcm)
        elif isinstance(source, ToneSequence):
            kind = "silence" if source.name == "silence" else "tone"
            src = ToneGenerator(source, self.rate, self.frame_samples)
        elif isinstance(source, (bytes, bytearray, memoryview)):
            if len(source) % 2:
                raise ValueError("PCM length must be even (16-bit samples)")
            kind, src = "pcm", _PcmSource(bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            if self._prompts is None:
                raise TypeError("enqueueing a path needs Player(prompts=PromptCache(...))")
            return self.enqueue(self._prompts.get(source), interruptible=interruptible, tag=tag)
        else:
            raise TypeError(f"cannot play {type(source).__name__}")
        item_id = self._next_id
        self._next_id += 1
        self._queue.append(_Item(item_id, kind, src, interruptible, tag))
        return item_id

    def enqueue_silence(self, ms: int, *, interruptible: bool = True, tag: object = None) -> int:
        return self.enqueue(silence(ms), interruptible=interruptible, tag=tag)

    # -- control ----------------------------------------------------------
    def interrupt(self, reason: str = "interrupt", digit: str | None = None) -> list[int]:
        """Drop every interruptible item, playing or queued; returns their ids."""
        return self._drop(lambda it: it.interruptible, reason, digit)

    def on_dtmf(self, digit: str) -> bool:
        """Barge-in: a digit stops the playing item if it is interruptible, and the
        interruptible items queued right behind it (the rest of that menu), up to
        the next non-interruptible item. A digit during a non-interruptible item
        stops nothing. True if anything stopped.
        """
        run = set()
        for it in self._queue:
            if not it.interruptible:
                break
            run.add(it.item_id)
        return bool(self._drop(lambda it: it.item_id in run, "dtmf", digit))

    def stop(self, reason: str = "stop") -> list[int]:
        """Drop everything, interruptible or not."""
        return self._drop(lambda it: True, reason, None)

    def _drop(self, pred, reason: str, digit: str | None) -> list[int]:
        keep: deque[_Item] = deque()
        dropped = []
        for it in self._queue:
            if pred(it):
                dropped.append(it.item_id)
                self._events.append(
                    ItemInterrupted(it.item_id, it.tag, self._sample, reason, digit, it.started)
                )
            else:
                keep.append(it)
        self._queue = keep
        return dropped

    # -- output -----------------------------------------------------------
    def next_frame(self) -> bytes:
        """The next ``frame_samples`` samples (silence when idle)."""
        need = self.frame_samples
        if not self._queue:
            self._sample += need
            return self._silence
        parts = []
        while need and self._queue:
            it = self._queue[0]
            if not it.started:
                it.started = True
                self._events.append(ItemStarted(it.item_id, it.tag, it.kind, self._sample))
            left = it.source.remaining()
            n = need if left is None else min(need, left)
            if n:
                parts.append(it.source.read(n))
                need -= n
                self._sample += n
            if left is not None and left - n <= 0:
                self._queue.popleft()
                self._events.append(ItemFinished(it.item_id, it.tag, self._sample))
        if need:
            parts.append(bytes(2 * need))
            self._sample += need
        return b"".join(parts)

    def events(self) -> list[PlayerEvent]:
        """Events since the last call, oldest first."""
        out = list(self._events)
        self._events.clear()
        return out

    @property
    def sample(self) -> int:
        """Samples output so far (the player's clock)."""
        return self._sample

    @property
    def idle(self) -> bool:
        return not self._queue

    def __len__(self) -> int:
        return len(self._queue)
