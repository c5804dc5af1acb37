"""Conference mixing the way Asterisk's softmix bridge does it, sans-IO.

Every tick (one frame per member, normally 20 ms) :meth:`Conference.mix`:

* decides who is *talking* (fast path ``talk_mask``): a member with a
  frame, not muted, not listen-only, whose frame is louder than
  ``talk_threshold`` (RMS on the 0–32767 scale) or was within the last
  ``hangover`` ticks;
* sums the talkers' linear audio, each scaled by its gain, with 32-bit
  headroom, and saturates the total to 16 bits;
* gives each talker the total minus its own contribution (nobody hears
  themselves), and gives every member who did not talk the *same* bytes
  object, so a caller encoding the result can encode that frame once per
  codec instead of once per member;
* routes *whispers*: a member set to whisper to another (a supervisor
  coaching an agent) is heard by that one member only, while still hearing
  the conference.

The loops run in the fast path's :func:`mix_minus`; gains are applied in Q12
fixed point (see :func:`callcore._fastpath_py.gain_q12`) so the compiled and
pure implementations produce identical bytes.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from itertools import compress
from types import ModuleType

from callcore.fastpath import impl as _fp

__all__ = ["Conference", "Member", "MixResult", "mix_minus"]

#: The fast-path kernel, re-exported: ``mix_minus(frames, gains=None, whispers=None)``.
mix_minus = _fp.mix_minus


@dataclass(slots=True)
class Member:
    """One conference member's settings (read them via :meth:`Conference.member`)."""

    member_id: Hashable
    #: gain applied to this member's voice, 0.0–8.0
    gain: float = 1.0
    #: muted members are heard by nobody but still hear the conference
    muted: bool = False
    #: listen-only members (monitors, recorders) never contribute
    listen_only: bool = False
    #: when set, this member is heard only by that member (whisper/coaching)
    whisper_to: Hashable | None = None


@dataclass(frozen=True, slots=True)
class MixResult:
    """One tick's output.

    ``outputs`` maps every member to the PCM it should hear. Members that did
    not talk and received no whisper map to the very same ``shared`` object.
    """

    outputs: dict[Hashable, bytes]
    shared: bytes
    talkers: tuple[Hashable, ...]


class Conference:
    """A conference bridge mixer (sans-IO: frames in, frames out).

    ``frame_samples`` fixes the frame length (160 = 20 ms at 8 kHz).
    ``talk_threshold`` is the RMS level above which a frame counts as talk;
    ``None`` counts every frame a member supplies. ``hangover`` keeps a
    member talking for that many ticks after its last loud frame so word
    endings are not clipped. ``fastpath`` overrides the kernel module.
    """

    def __init__(
        self,
        frame_samples: int = 160,
        *,
        talk_threshold: float | None = 64.0,
        hangover: int = 10,
        fastpath: ModuleType | None = None,
    ) -> None:
        if frame_samples <= 0 or not 0 <= hangover < 255:
            raise ValueError("frame_samples must be positive and hangover within 0..254")
        self._fp = _fp if fastpath is None else fastpath
        self.frame_samples = frame_samples
        self.talk_threshold = talk_threshold
        self.hangover = hangover
        self._members: dict[Hashable, Member] = {}
        self._silence = bytes(2 * frame_samples)
        # the mixing plan, rebuilt after any roster or setting change
        self._ids: list[Hashable] = []
        self._quiet = bytearray()
        self._gains: list[float] | None = None
        self._blocked: list[int] = []
        self._whisperers: list[tuple[int, int, float]] = []

    def _replan(self, quiet: dict[Hashable, int] | None = None) -> None:
        old = quiet if quiet is not None else dict(zip(self._ids, self._quiet, strict=True))
        ids = list(self._members)
        index = {mid: i for i, mid in enumerate(ids)}
        ms = [self._members[mid] for mid in ids]
        self._ids = ids
        self._quiet = bytearray(old.get(mid, 255) for mid in ids)
        gains = [m.gain for m in ms]
        self._gains = None if all(g == 1.0 for g in gains) else gains
        self._blocked = [i for i, m in enumerate(ms) if m.muted or m.listen_only]
        self._whisperers = [
            (i, index[m.whisper_to], m.gain)
            for i, m in enumerate(ms)
            if m.whisper_to is not None and not (m.muted or m.listen_only)
        ]

    # ------------------------------------------------------------ roster
    def add(
        self,
        member_id: Hashable,
        *,
        gain: float = 1.0,
        muted: bool = False,
        listen_only: bool = False,
    ) -> Member:
        """Add a member; ``ValueError`` if the id is already present.

        The returned :class:`Member` is a live view: change it through the
        conference's methods, not by assigning its fields.
        """
        if member_id in self._members:
            raise ValueError(f"member {member_id!r} already in the conference")
        _fp.gain_q12(gain)  # validate
        m = Member(member_id, gain=gain, muted=muted, listen_only=listen_only)
        self._members[member_id] = m
        self._replan()
        return m

    def remove(self, member_id: Hashable) -> None:
        """Remove a member; whispers aimed at it stop."""
        del self._members[member_id]
        for m in self._members.values():
            if m.whisper_to == member_id:
                m.whisper_to = None
        self._replan()

    def member(self, member_id: Hashable) -> Member:
        """The settings of ``member_id`` (``KeyError`` if absent)."""
        return self._members[member_id]

    def __contains__(self, member_id: object) -> bool:
        return member_id in self._members

    def __len__(self) -> int:
        return len(self._members)

    @property
    def members(self) -> tuple[Hashable, ...]:
        """Member ids in joining order."""
        return tuple(self._members)

    def mute(self, member_id: Hashable, muted: bool = True) -> None:
        """Mute (or unmute) a member's voice."""
        self._members[member_id].muted = muted
        self._replan()

    def set_gain(self, member_id: Hashable, gain: float) -> None:
        """Scale a member's voice (0.0–8.0; 1.0 leaves it unchanged)."""
        _fp.gain_q12(gain)
        self._members[member_id].gain = gain
        self._replan()

    def whisper(self, member_id: Hashable, to: Hashable | None) -> None:
        """Make ``member_id`` heard by ``to`` only; ``to=None`` rejoins the conference.

        This is supervisor coaching: the agent hears the supervisor, the
        customer does not; the supervisor keeps hearing everyone.
        """
        if to is not None:
            if to not in self._members:
                raise KeyError(to)
            if to == member_id:
                raise ValueError("a member cannot whisper to itself")
        self._members[member_id].whisper_to = to
        self._replan()

    # -------------------------------------------------------------- tick
    def mix(self, frames: Mapping[Hashable, bytes | None]) -> MixResult:
        """Mix one tick. ``frames`` maps member ids to PCM (missing = no audio).

        Frames must hold ``frame_samples`` samples; unknown ids raise ``KeyError``.
        """
        fl = [frames.get(mid) for mid in self._ids]
        if len(fl) - fl.count(None) != len(frames):  # a None value or an unknown id
            for k in frames:
                if k not in self._members:
                    raise KeyError(k)
        ids = self._ids
        total, outs, mask = self._tick(fl)
        if outs is None:
            return MixResult(dict.fromkeys(ids, total), total, ())
        return MixResult(dict(zip(ids, outs, strict=True)), total, tuple(compress(ids, mask)))

    def mix_frames(self, frames: list[bytes | None]) -> tuple[bytes, list[bytes]]:
        """Mix one tick given as a list in :attr:`members` order (the list is consumed).

        Returns ``(shared, outputs)`` with ``outputs[i]`` for member ``i``;
        the leanest entry point for a media clock that keeps legs in a list.
        """
        if len(frames) != len(self._ids):
            raise ValueError(f"expected {len(self._ids)} frames, got {len(frames)}")
        total, outs, _ = self._tick(frames)
        return total, outs if outs is not None else [total] * len(frames)

    def _tick(self, fl: list[bytes | None]) -> tuple[bytes, list[bytes] | None, bytes]:
        n = self.frame_samples
        for i in self._blocked:
            f = fl[i]
            if f is not None and len(f) != 2 * n:
                raise ValueError(f"frame of {self._ids[i]!r} is {len(f)} bytes, expected {2 * n}")
            fl[i] = None
        thr = self.talk_threshold
        limit = -1.0 if thr is None else thr * thr * n
        mask = self._fp.talk_mask(fl, self._quiet, n, limit, self.hangover, True)
        whispers: list[tuple[int, bytes, float]] | None = None
        if self._whisperers:
            whispers = []
            for i, target, gain in self._whisperers:
                if mask[i]:
                    whispers.append((target, fl[i], gain))  # type: ignore[arg-type]
                    fl[i] = None
            mask = bytes(0 if fl[i] is None else 1 for i in range(len(fl)))
        if 1 not in mask and not whispers:
            return self._silence, None, mask
        total, outs = self._fp.mix_minus(fl, self._gains, whispers or None)
        return total, outs, mask
