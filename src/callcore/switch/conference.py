"""Conferences of call legs on the media clock: roles, background music, three-way calls.

A :class:`Conference` wraps the sans-IO mixer :class:`callcore.media.mixer.Conference`
(sum-minus-own, talker detection, whisper routing) and plugs it into the one
:class:`~callcore.switch.media.MediaClock` that drives every leg:

* each member leg's ``session.source`` becomes a callable returning that
  member's mix-minus output;
* the mix is computed **once per tick** for all members, lazily, by whichever
  member's source the clock asks first in its send pass. The clock runs the
  receive pass (every leg's ``heard`` is fresh) before the send pass, and its
  ``ticks`` counter only moves after the send pass, so ``clock.ticks`` is the
  tick identity: no change to the clock is needed.

Roles: ``moderator`` and ``speaker`` talk and listen; ``listener`` only listens
(never contributes, like a monitor); ``muted`` is a speaker whose voice is off
until :meth:`Conference.set_role` or :meth:`Conference.mute` says otherwise.
With ``end_with_last_moderator=True`` the conference ends (every remaining
member is hung up) once no moderator is left after at least one joined.

Background music is a :class:`~callcore.media.player.Player`-driven source
mixed in as a member (:meth:`Conference.play_music`). :func:`three_way` turns a
bridged pair into a three-member conference.

Audio *taps* (:attr:`Conference.taps`) receive the full mix (everybody
talking) once per tick — a conference recording attaches there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from callcore.media.mixer import Conference as Mixer
from callcore.media.player import Player
from callcore.media.tones import ToneSequence
from callcore.switch.call import CallError

if TYPE_CHECKING:
    from callcore.switch.call import Call
    from callcore.switch.media import MediaClock

__all__ = ["ROLES", "Conference", "ConferenceEnded", "Participant", "Role", "three_way"]

log = logging.getLogger("callcore.conference")

Role = Literal["moderator", "speaker", "listener", "muted"]
ROLES: tuple[str, ...] = ("moderator", "speaker", "listener", "muted")
Source = Callable[[], "bytes | None"]

_MUSIC = ("music",)  # member id of the background music (a tuple: never a Call)


class ConferenceEnded(CallError):
    """The conference has ended; nobody can join it any more."""


@dataclass(slots=True)
class Participant:
    """A member leg: its role and whether it is muted (read-only view; change
    them through :class:`Conference`)."""

    call: Call
    role: Role
    muted: bool
    joined_tick: int


class Conference:
    """A live conference of :class:`~callcore.switch.call.Call` legs.

    ``talk_threshold``/``hangover`` tune talker detection (see the mixer);
    ``end_with_last_moderator`` hangs everybody up when the last moderator
    leaves; ``fastpath`` overrides the mixing kernel (tests run both twins).
    """

    def __init__(
        self,
        name: str = "",
        *,
        end_with_last_moderator: bool = False,
        talk_threshold: float | None = 64.0,
        hangover: int = 10,
        fastpath: ModuleType | None = None,
    ) -> None:
        self.name = name
        self.end_with_last_moderator = end_with_last_moderator
        self.mixer = Mixer(160, talk_threshold=talk_threshold, hangover=hangover, fastpath=fastpath)
        #: called once per tick with the full mix (every talker), e.g. a recorder
        self.taps: list[Callable[[bytes], None]] = []
        self._parts: dict[Hashable, Participant] = {}
        self._inputs: list[Source] = []  # in mixer member order
        self._index: dict[Hashable, int] = {}
        self._outs: list[bytes] = []
        self._shared: bytes = bytes(320)
        self._clock: MediaClock | None = None
        self._tick = -1
        self._music: Source | None = None
        self._watchers: dict[Hashable, asyncio.Task] = {}
        self._had_moderator = False
        self._ended: asyncio.Event | None = None
        self.closed = False
        #: ticks on which a mix was computed (one per clock tick while anyone listens)
        self.mixes = 0

    # ------------------------------------------------------------------ roster
    @property
    def participants(self) -> tuple[Participant, ...]:
        """Member legs in joining order (background music excluded)."""
        return tuple(self._parts.values())

    def __contains__(self, call: object) -> bool:
        return call in self._parts

    def __len__(self) -> int:
        return len(self._parts)

    def participant(self, call: Call) -> Participant:
        return self._parts[call]

    def join(self, call: Call, role: Role = "speaker", *, gain: float = 1.0) -> Participant:
        """Add an answered leg with a role; from the next tick it hears the
        conference (minus itself) and, unless listener/muted, is heard."""
        if self.closed:
            raise ConferenceEnded("the conference has ended")
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if call in self._parts:
            raise ValueError(f"{call!r} is already in the conference")
        session = call._need_media()
        if call.state != "answered":
            raise CallError("only answered legs can join a conference")
        if self._clock is None:
            self._clock = session.clock
        elif session.clock is not self._clock:
            raise CallError("all members must share one media clock (one Endpoint)")
        self.mixer.add(call, gain=gain, muted=role == "muted", listen_only=role == "listener")
        part = Participant(call, role, role == "muted", self._clock.ticks)
        self._parts[call] = part
        if role == "moderator":
            self._had_moderator = True
        self._rebuild()
        session.source = self._source_for(call)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - joined outside a loop
            loop = None
        if loop is not None:
            self._watchers[call] = loop.create_task(self._watch(call))
        call._emit("conference", self)
        return part

    async def leave(
        self, call: Call, *, hangup: bool = False, cause: str = "normal_clearing"
    ) -> None:
        """Remove a leg (it stops sending unless given a new source); optionally hang it up."""
        self._remove(call)
        if hangup and not call.ended:
            await call.hangup(cause)
        await self._maybe_end()

    def set_role(self, call: Call, role: Role) -> None:
        """Change a member's role on the fly (e.g. promote a listener to speaker)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        part = self._parts[call]
        part.role = role
        part.muted = role == "muted"
        m = self.mixer
        m.remove(call)
        m.add(call, gain=1.0, muted=part.muted, listen_only=role == "listener")
        if role == "moderator":
            self._had_moderator = True
        self._rebuild()

    def mute(self, call: Call, muted: bool = True) -> None:
        """Mute or unmute a member (keeps its role)."""
        self._parts[call].muted = muted
        self.mixer.mute(call, muted)

    def whisper(self, call: Call, to: Call | None) -> None:
        """Let ``call`` be heard by ``to`` only (``None``: by everybody again)."""
        self.mixer.whisper(call, to)

    def set_gain(self, call: Call, gain: float) -> None:
        self.mixer.set_gain(call, gain)

    # ------------------------------------------------------------ music
    def play_music(
        self, what: str | bytes | ToneSequence | Source, *, gain: float = 0.5, loop: bool = True
    ) -> None:
        """Mix background music in as a member (a WAV path, PCM, tones, or a
        source callable); replaces any music already playing."""
        self.stop_music()
        if callable(what):
            source: Source = what
        else:
            player = Player()
            item = what

            def source() -> bytes:
                if loop and player.idle:
                    player.enqueue(item, interruptible=False)
                return player.next_frame()

            player.enqueue(item, interruptible=False)
        self._music = source
        # music is never muted by the talk detector: it always contributes
        self.mixer.add(_MUSIC, gain=gain)
        self._rebuild()

    def stop_music(self) -> None:
        if self._music is not None:
            self._music = None
            self.mixer.remove(_MUSIC)
            self._rebuild()

    # ------------------------------------------------------------ ending
    async def wait_ended(self) -> None:
        """Until the conference has ended (see :meth:`end`)."""
        if self.closed:
            return
        if self._ended is None:
            self._ended = asyncio.Event()
        await self._ended.wait()

    async def end(self, *, hangup: bool = True, cause: str = "conference_ended") -> None:
        """End the conference; by default hang up every remaining member."""
        if self.closed:
            return
        calls = self.close()
        if hangup:
            await asyncio.gather(
                *(c.hangup(cause) for c in calls if not c.ended), return_exceptions=True
            )
        if self._ended is not None:
            self._ended.set()

    def close(self) -> list[Call]:
        """End without hanging anyone up: every member stops hearing the mix
        (its source is cleared). Returns the legs that were members."""
        self.closed = True
        calls = [p.call for p in self._parts.values()]
        for call in calls:
            self._remove(call)
        self.stop_music()
        if self._ended is not None:
            self._ended.set()
        return calls

    # ------------------------------------------------------------ internals
    def _remove(self, call: Call) -> None:
        part = self._parts.pop(call, None)
        if part is None:
            return
        self.mixer.remove(call)
        self._rebuild()
        task = self._watchers.pop(call, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        s = call.session
        if s is not None and isinstance(s.source, _MemberSource) and s.source.conference is self:
            s.source = None
        call._emit("conference_left", self)

    async def _maybe_end(self) -> None:
        if self.closed:
            return
        moderators = any(p.role == "moderator" for p in self._parts.values())
        if self.end_with_last_moderator and self._had_moderator and not moderators:
            await self.end(cause="moderator_left")
            return
        if not self._parts and self._ended is not None and self._had_moderator:
            await self.end(hangup=False)

    async def _watch(self, call: Call) -> None:
        try:
            await call.wait_hangup()
        except asyncio.CancelledError:
            return
        if call in self._parts:
            self._remove(call)
            await self._maybe_end()

    def _rebuild(self) -> None:
        ids = self.mixer.members
        self._index = {mid: i for i, mid in enumerate(ids)}
        inputs: list[Source] = []
        for mid in ids:
            if mid == _MUSIC:
                inputs.append(self._music)  # type: ignore[arg-type]
            else:
                inputs.append(_heard_of(mid))
        self._inputs = inputs
        self._tick = -1  # force a fresh mix with the new roster
        self._outs = [self._shared] * len(ids)

    def _source_for(self, call: Call) -> Source:
        return _MemberSource(self, call)

    def _mix(self) -> None:
        clock = self._clock
        t = clock.ticks if clock is not None else 0
        if t == self._tick:
            return
        self._tick = t
        shared, outs = self.mixer.mix_frames([src() for src in self._inputs])
        self._shared = shared
        self._outs = outs
        self.mixes += 1
        for tap in self.taps:
            try:
                tap(shared)
            except Exception:  # a broken tap must not silence the conference
                log.exception("conference tap failed")

    def output_for(self, call: Call) -> bytes:
        """What ``call`` hears this tick (computes the tick's mix if needed)."""
        self._mix()
        i = self._index.get(call)
        return self._outs[i] if i is not None else self._shared


class _MemberSource:
    """A member's ``session.source``: bound to the conference so it can be recognised."""

    __slots__ = ("call", "conference")

    def __init__(self, conf: Conference, call: Call) -> None:
        self.conference = conf
        self.call = call

    def __call__(self) -> bytes:
        return self.conference.output_for(self.call)


def _heard_of(call: Call) -> Source:
    session = call.session

    def heard() -> bytes | None:
        if session is None or session.closed:
            return None
        return session.heard

    return heard


def three_way(a: Call, c: Call, *, name: str = "", **options) -> Conference:
    """Add a third leg ``c`` to ``a``'s bridge: ``a``, its partner and ``c`` all hear
    each other. The original bridge's lifetime rules still hold for ``a`` and its
    partner (if :func:`~callcore.switch.bridge.bridge` runs, one of them hanging up
    still hangs up the other); ``c`` simply leaves when it hangs up."""
    b = a.partner
    if b is None or b.ended:
        raise CallError("three_way() needs a leg that is bridged to a live partner")
    conf = Conference(name, **options)
    conf.join(a)
    conf.join(b)
    conf.join(c)
    return conf
