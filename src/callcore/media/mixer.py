"""Conference mixing the way Asterisk's softmix bridge does it, sans-IO.

Every tick (one frame per member, normally 20 ms) :meth:`Conference.mix`:

* decides who is *talking*: a member with a frame, not muted, not
  listen-only, whose frame is louder than ``talk_threshold`` (RMS on the
  0–32767 scale) or was within the last ``hangover`` ticks;
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
        if frame_samples <= 0 or hangover < 0:
            raise ValueError("frame_samples must be positive and hangover non-negative")
        self._fp = _fp if fastpath is None else fastpath
        self.frame_samples = frame_samples
        self.talk_threshold = talk_threshold
        self.hangover = hangover
        self._members: dict[Hashable, Member] = {}
        self._quiet: dict[Hashable, int] = {}
        self._silence = bytes(2 * frame_samples)

    # ------------------------------------------------------------ roster
    def add(
        self,
        member_id: Hashable,
        *,
        gain: float = 1.0,
        muted: bool = False,
        listen_only: bool = False,
    ) -> Member:
        """Add a member; ``ValueError`` if the id is already present."""
        if member_id in self._members:
            raise ValueError(f"member {member_id!r} already in the conference")
        _fp.gain_q12(gain)  # validate
        m = Member(member_id, gain=gain, muted=muted, listen_only=listen_only)
        self._members[member_id] = m
        self._quiet[member_id] = self.hangover + 1
        return m

    def remove(self, member_id: Hashable) -> None:
        """Remove a member; whispers aimed at it stop."""
        del self._members[member_id]
        del self._quiet[member_id]
        for m in self._members.values():
            if m.whisper_to == member_id:
                m.whisper_to = None

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

    def set_gain(self, member_id: Hashable, gain: float) -> None:
        """Scale a member's voice (0.0–8.0; 1.0 leaves it unchanged)."""
        _fp.gain_q12(gain)
        self._members[member_id].gain = gain

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

    # -------------------------------------------------------------- tick
    def _is_loud(self, frame: bytes) -> bool:
        thr = self.talk_threshold
        if thr is None:
            return True
        return self._fp.energy(frame) > thr * thr * self.frame_samples

    def mix(self, frames: Mapping[Hashable, bytes | None]) -> MixResult:
        """Mix one tick. ``frames`` maps member ids to PCM (missing = no audio).

        Frames must hold ``frame_samples`` samples; unknown ids raise ``KeyError``.
        """
        for mid in frames:
            if mid not in self._members:
                raise KeyError(mid)
        index: dict[Hashable, int] = {}
        ids = list(self._members)
        slots: list[bytes | None] = []
        gains: list[float] = []
        whispers: list[tuple[int, bytes, float]] = []
        talkers: list[Hashable] = []
        pending_whispers: list[tuple[Hashable, bytes, float]] = []
        nbytes = 2 * self.frame_samples
        for i, mid in enumerate(ids):
            index[mid] = i
            m = self._members[mid]
            frame = frames.get(mid)
            talking = False
            if frame is not None:
                if len(frame) != nbytes:
                    raise ValueError(f"frame of {mid!r} is {len(frame)} bytes, expected {nbytes}")
                if not (m.muted or m.listen_only):
                    if self._is_loud(frame):
                        self._quiet[mid] = 0
                    else:
                        self._quiet[mid] += 1
                    talking = self._quiet[mid] <= self.hangover
            else:
                self._quiet[mid] += 1
            if talking and m.whisper_to is not None:
                pending_whispers.append((m.whisper_to, frame, m.gain))  # type: ignore[arg-type]
                slots.append(None)
                gains.append(1.0)
                continue
            if talking:
                talkers.append(mid)
                slots.append(frame)
                gains.append(m.gain)
            else:
                slots.append(None)
                gains.append(1.0)
        for target, frame, gain in pending_whispers:
            whispers.append((index[target], frame, gain))
        if not talkers and not whispers:
            silence = self._silence
            return MixResult(dict.fromkeys(ids, silence), silence, ())
        total, outs = self._fp.mix_minus(slots, gains, whispers or None)
        return MixResult(dict(zip(ids, outs, strict=True)), total, tuple(talkers))
