"""Call progress of an outbound attempt: who (or what) is at the other end.

Two halves, one vocabulary (:class:`Outcome`):

* **Unanswered attempts** are classified from the final SIP status by
  :func:`outcome_from_sip` — one table (:data:`SIP_OUTCOMES`), a fallback by
  status class, and RFC 3326 ``Q.850`` causes when a gateway sends them:

  =======================================  ===================
  SIP final status                          outcome
  =======================================  ===================
  486 Busy Here, 600 Busy Everywhere        ``busy``
  408 Request Timeout, 480 Temporarily      ``no_answer``
  Unavailable, 487 Request Terminated
  (our CANCEL when the ring timeout ends)
  404, 410, 484, 485, 604                   ``invalid_number``
  401, 403, 407, 488, 603, 606              ``rejected``
  500, 502, 503, 504                        ``network_failure``
  other 3xx (redirects are not followed)    ``network_failure``
  other 4xx / 6xx                           ``rejected``
  other 5xx                                 ``network_failure``
  no final response at all (``None``)       ``network_failure``
  2xx (answered: analyse the audio)         ``unknown``
  =======================================  ===================

* **Answered attempts** are classified from the callee's audio by
  :class:`ProgressAnalyzer` (sans-IO: 20 ms frames in, a :class:`Verdict`
  out), which runs :class:`~callcore.media.amd.AnsweringMachineDetector`
  (Asterisk ``app_amd`` rules) and
  :class:`~callcore.media.cpa.CallProgressAnalyzer` (fax CNG/CED, beeps)
  side by side. :func:`analyze_call` is the thin asyncio adapter over a live
  :class:`~callcore.switch.call.Call`, and :func:`classify_attempt` combines
  both halves for a :class:`~callcore.switch.call.DialResult`.

How the analyzer decides, frame by frame:

1. a fax tone (CNG 1100 Hz bursts or CED 2100 Hz) → ``fax`` at once;
2. a beep heard before AMD has decided → ``machine`` (people don't beep;
   voicemail greetings end with one), with ``beep_at_ms`` set;
3. AMD ``HUMAN`` → ``human``; AMD ``NOTSURE`` (nothing decisive within
   ``total_analysis_ms``) → ``notsure_as`` (``human`` by default: sending an
   uncertain call to an agent costs a few seconds of agent time, hanging up
   on a person is an abandoned call, and AMD false positives count against
   the 3 % abandon cap under Ofcom's method);
4. AMD ``MACHINE`` → ``machine``. With ``wait_for_beep=True`` that first
   verdict is provisional (``final=False``): the analyzer keeps listening for
   the end of the greeting's beep and then gives the final verdict with
   ``beep_at_ms`` — the moment to start leaving a message — or, after
   ``beep_timeout_ms`` without a beep, the final verdict without one.

Frames that hold a fax-like tone (most of their energy at 1100 or 2100 Hz)
are kept from AMD, which would otherwise call a 3 s CED a "long greeting"
(``MACHINE``) half a second before the tone detector can be sure; and an
``INITIALSILENCE`` machine verdict is held for ``fax_guard_ms``, because a
fax answers with up to 2.5 s of silence before its CED (ITU-T T.30).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from callcore.fastpath import impl as _fp
from callcore.media.amd import AmdConfig, AmdStatus, AnsweringMachineDetector
from callcore.media.cpa import Beep, CallProgressAnalyzer, CpaConfig, FaxTone
from callcore.media.vad import VoiceActivityDetector

if TYPE_CHECKING:
    from callcore.switch.call import Call, DialResult

__all__ = [
    "Q850_TO_SIP",
    "SIP_OUTCOMES",
    "Outcome",
    "ProgressAnalyzer",
    "Verdict",
    "analyze_call",
    "classify_attempt",
    "outcome_from_sip",
]

RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
FRAME_BYTES = 2 * FRAME_SAMPLES


class Outcome(StrEnum):
    """What an outbound attempt reached."""

    HUMAN = "human"
    MACHINE = "machine"
    FAX = "fax"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    NETWORK_FAILURE = "network_failure"
    #: answered, but the analysis could not tell (or was not run)
    UNKNOWN = "unknown"


#: final SIP status of an unanswered attempt -> outcome (see the module table)
SIP_OUTCOMES: dict[int, Outcome] = {
    486: Outcome.BUSY,
    600: Outcome.BUSY,
    408: Outcome.NO_ANSWER,
    480: Outcome.NO_ANSWER,
    487: Outcome.NO_ANSWER,
    404: Outcome.INVALID_NUMBER,
    410: Outcome.INVALID_NUMBER,
    484: Outcome.INVALID_NUMBER,
    485: Outcome.INVALID_NUMBER,
    604: Outcome.INVALID_NUMBER,
    401: Outcome.REJECTED,
    403: Outcome.REJECTED,
    407: Outcome.REJECTED,
    488: Outcome.REJECTED,
    603: Outcome.REJECTED,
    606: Outcome.REJECTED,
    500: Outcome.NETWORK_FAILURE,
    502: Outcome.NETWORK_FAILURE,
    503: Outcome.NETWORK_FAILURE,
    504: Outcome.NETWORK_FAILURE,
}

#: by status class, for statuses not in :data:`SIP_OUTCOMES`
_CLASS_OUTCOMES: dict[int, Outcome] = {
    2: Outcome.UNKNOWN,
    3: Outcome.NETWORK_FAILURE,
    4: Outcome.REJECTED,
    5: Outcome.NETWORK_FAILURE,
    6: Outcome.REJECTED,
}

#: ISDN (Q.850) cause -> SIP status, after RFC 3398 section 7.2.4.1; used when a
#: gateway explains a failure with ``Reason: Q.850;cause=N`` (RFC 3326)
Q850_TO_SIP: dict[int, int] = {
    1: 404,  # unallocated number
    2: 404,  # no route to network
    3: 404,  # no route to destination
    17: 486,  # user busy
    18: 408,  # no user responding
    19: 480,  # no answer from user
    20: 480,  # subscriber absent
    21: 403,  # call rejected
    22: 410,  # number changed
    27: 502,  # destination out of order
    28: 484,  # invalid number format (address incomplete)
    31: 480,  # normal, unspecified
    34: 503,  # no circuit available
    38: 503,  # network out of order
    41: 503,  # temporary failure
    42: 503,  # switching equipment congestion
    47: 503,  # resource unavailable
    102: 504,  # recovery on timer expiry
    127: 500,  # interworking, unspecified
}

_Q850 = re.compile(r"Q\.850\s*;\s*cause\s*=\s*(\d+)", re.IGNORECASE)


def outcome_from_sip(status: int | None, reason: str = "") -> Outcome:
    """The outcome of an attempt that was not answered, from its final SIP status.

    ``status`` ``None`` means no final response came at all (the far end or
    the route is dead): ``network_failure``. ``reason`` is the reason phrase
    or, better, the value of a ``Reason`` header: a ``Q.850;cause=N`` in it
    wins over the status (gateways often send a generic 480 or 503 with the
    precise ISDN cause, e.g. cause 17 "user busy"). See the module table.
    """
    if reason:
        m = _Q850.search(reason)
        if m is not None and int(m.group(1)) in Q850_TO_SIP:
            status = Q850_TO_SIP[int(m.group(1))]
    if status is None:
        return Outcome.NETWORK_FAILURE
    found = SIP_OUTCOMES.get(status)
    if found is not None:
        return found
    return _CLASS_OUTCOMES.get(status // 100, Outcome.NETWORK_FAILURE)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The classification of one attempt.

    * ``outcome`` — see :class:`Outcome`;
    * ``decided_ms`` — audio analysed after the answer when it was decided
      (0 for unanswered attempts);
    * ``amd_cause`` — why: the ``app_amd`` cause (``HUMAN-800-800``,
      ``LONGGREETING-1500-1500``, ``TOOLONG-5000``…), ``FAX-CED-2100`` /
      ``FAX-CNG-1100``, ``BEEP-1000``, or how analysis stopped early
      (``HANGUP``, ``TIMEOUT``, ``NOMEDIA``, ``NODECISION-<ms>``);
    * ``beep_at_ms`` — for machines, when the greeting's beep ended (start
      the message then); ``None`` when no beep was heard;
    * ``sip_status`` — the final SIP status of the INVITE;
    * ``final`` — ``False`` only for the provisional machine verdict given
      while the analyzer still waits for the beep.
    """

    outcome: Outcome
    decided_ms: int = 0
    amd_cause: str = ""
    beep_at_ms: int | None = None
    sip_status: int | None = None
    final: bool = True


_NOTSURE_CHOICES = (Outcome.HUMAN, Outcome.MACHINE, Outcome.UNKNOWN)


class ProgressAnalyzer:
    """Sans-IO classifier of an answered call's first seconds of audio.

    Feed the far end's audio — 20 ms frames of 8 kHz 16-bit mono PCM — from
    the moment of answer with :meth:`feed`; it returns a :class:`Verdict`
    when one is reached (and, with ``wait_for_beep``, a second, final one
    for machines once the beep has ended). :attr:`done` tells when to stop;
    :meth:`stop` gives the verdict from what is known if the call ends first.

    ``amd_config``/``cpa_config``/``vad`` configure the two detectors;
    ``notsure_as`` maps AMD ``NOTSURE`` (``"human"``, ``"machine"`` or
    ``"unknown"``); ``beep_means_machine`` makes a beep heard before AMD has
    decided a machine verdict; ``no_decision_ms`` caps the analysis (a line
    that carries nothing decisive, e.g. a steady tone, ends ``unknown``).
    """

    def __init__(
        self,
        amd_config: AmdConfig | None = None,
        cpa_config: CpaConfig | None = None,
        *,
        wait_for_beep: bool = False,
        beep_timeout_ms: int = 15_000,
        notsure_as: Outcome | str = Outcome.HUMAN,
        beep_means_machine: bool = True,
        fax_guard_ms: int = 1000,
        fax_tone_fraction: float = 0.5,
        no_decision_ms: int | None = None,
        vad: VoiceActivityDetector | None = None,
    ) -> None:
        mapped = Outcome(notsure_as)
        if mapped not in _NOTSURE_CHOICES:
            raise ValueError(f"notsure_as must be human, machine or unknown, not {notsure_as!r}")
        self.amd = AnsweringMachineDetector(amd_config, RATE, vad)
        self.cpa = CallProgressAnalyzer(cpa_config, RATE, FRAME_MS)
        #: keep listening after a machine verdict until the beep (may be set before feeding)
        self.wait_for_beep = wait_for_beep
        self.beep_timeout_ms = beep_timeout_ms
        self.notsure_as = mapped
        self.beep_means_machine = beep_means_machine
        self.fax_guard_ms = fax_guard_ms
        self.fax_tone_fraction = fax_tone_fraction
        self.no_decision_ms = (
            no_decision_ms
            if no_decision_ms is not None
            else 2 * self.amd.config.total_analysis_ms + fax_guard_ms
        )
        cpa = self.cpa.cfg
        freqs = [f + d for f in (cpa.cng_hz, cpa.ced_hz) for d in (-20.0, 0.0, 20.0)]
        self._coeffs = tuple(2.0 * math.cos(2.0 * math.pi * f / RATE) for f in freqs)
        self._min_energy = cpa.min_rms**2 * FRAME_SAMPLES
        self._now = 0
        self._tone_ms = 0
        self._verdict: Verdict | None = None
        self._done = False
        self._held: Verdict | None = None  # a machine verdict held back for a fax check
        self._held_until = 0
        self._beep_deadline: int | None = None  # waiting for the beep until then
        self._beep: Beep | None = None  # the latest beep heard

    # -- state -----------------------------------------------------------------
    @property
    def verdict(self) -> Verdict | None:
        """The latest verdict given (provisional or final), if any."""
        return self._verdict

    @property
    def done(self) -> bool:
        """True once the final verdict has been given: stop feeding."""
        return self._done

    @property
    def elapsed_ms(self) -> int:
        """Audio analysed so far, in ms."""
        return self._now

    @property
    def budget_ms(self) -> int:
        """The most audio the analyzer can need before its final verdict."""
        return self.no_decision_ms + (self.beep_timeout_ms if self.wait_for_beep else 0)

    # -- input -----------------------------------------------------------------
    def feed(self, frame: bytes) -> Verdict | None:
        """Analyse one 20 ms frame; returns a verdict when one is reached, else ``None``."""
        if self._done:
            return None
        if len(frame) != FRAME_BYTES:
            raise ValueError(f"expected {FRAME_BYTES} bytes (20 ms), got {len(frame)}")
        self._now += FRAME_MS
        tonal = self._fax_like(frame)
        self._tone_ms = self._tone_ms + FRAME_MS if tonal else 0
        beep: Beep | None = None
        for ev in self.cpa.feed(frame):
            if isinstance(ev, FaxTone):
                # a fax overrides a held or provisional machine verdict
                return self._give(Outcome.FAX, f"FAX-{ev.kind}-{ev.freq_hz:.0f}")
            if isinstance(ev, Beep):
                beep = self._beep = ev
        if self._beep_deadline is not None:  # a machine: waiting for its beep
            assert self._verdict is not None
            if beep is not None:
                return self._finish_machine(self._verdict, beep)
            if self._now >= self._beep_deadline:
                return self._finish_machine(self._verdict, None)
            return None
        if self._held is not None:
            if (
                self._tone_ms == 0 and self._now >= self._held_until
            ) or self._now >= self.no_decision_ms:
                held, self._held = self._held, None
                return self._machine(replace(held, decided_ms=self._now))
            return None
        if beep is not None and self.beep_means_machine:
            v = Verdict(Outcome.MACHINE, self._now, f"BEEP-{beep.freq_hz:.0f}")
            return self._finish_machine(v, beep)
        if not tonal:
            r = self.amd.feed(frame)
            if r is not None:
                if r.status is AmdStatus.HUMAN:
                    return self._give(Outcome.HUMAN, r.cause)
                if r.status is AmdStatus.MACHINE:
                    v = Verdict(Outcome.MACHINE, self._now, r.cause)
                    if r.cause.startswith("INITIALSILENCE") and self.fax_guard_ms > 0:
                        self._held, self._held_until = v, self._now + self.fax_guard_ms
                        return None
                    return self._machine(v)
                return self._give(self.notsure_as, r.cause)  # NOTSURE
        if self._now >= self.no_decision_ms:
            return self._give(Outcome.UNKNOWN, f"NODECISION-{self._now}")
        return None

    def stop(self, cause: str = "HANGUP") -> Verdict:
        """The final verdict from what is known (the call ended, or time ran out):
        a machine stays a machine (without a beep); undecided is ``unknown``."""
        if self._done:
            assert self._verdict is not None
            return self._verdict
        if self._beep_deadline is not None and self._verdict is not None:
            return self._finish_machine(self._verdict, None)
        if self._held is not None:
            held, self._held = self._held, None
            return self._finish_machine(held, None)
        return self._give(Outcome.UNKNOWN, cause)

    # -- internals ---------------------------------------------------------------
    def _fax_like(self, frame: bytes) -> bool:
        """Most of the frame's energy sits at a fax frequency (cheap: 6 Goertzel bins)."""
        energy = _fp.energy(frame)
        if energy < self._min_energy:
            return False
        peak = max(_fp.goertzel(frame, self._coeffs))
        # a pure sine on a bin gives peak = (A N / 2)^2 and energy = A^2 N / 2
        return 2.0 * peak / (FRAME_SAMPLES * energy) >= self.fax_tone_fraction

    def _give(self, outcome: Outcome, cause: str) -> Verdict:
        v = Verdict(outcome, self._now, cause)
        self._verdict, self._done = v, True
        self._held, self._beep_deadline = None, None
        return v

    def _machine(self, v: Verdict) -> Verdict:
        if not self.wait_for_beep:
            return self._finish_machine(v, None)
        if self._beep is not None:  # the greeting's beep came before the verdict
            return self._finish_machine(v, self._beep)
        v = replace(v, final=False)
        self._verdict = v
        self._beep_deadline = self._now + self.beep_timeout_ms
        return v

    def _finish_machine(self, v: Verdict, beep: Beep | None) -> Verdict:
        v = replace(v, final=True, beep_at_ms=beep.end_ms if beep is not None else None)
        self._verdict, self._done = v, True
        self._held, self._beep_deadline = None, None
        return v


async def analyze_call(
    call: Call,
    analyzer: ProgressAnalyzer | None = None,
    *,
    wait_for_beep: bool | None = None,
    timeout: float | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> Verdict:
    """Classify an answered call from its audio; returns the final :class:`Verdict`.

    Attaches a tap to the call's media session: on the media clock the tap
    only queues the frame (no DSP in the 20 ms tick); this coroutine feeds
    the queued frames to ``analyzer`` (a fresh :class:`ProgressAnalyzer`
    when ``None``) and detaches the tap when done. ``wait_for_beep``, when
    given, overrides the analyzer's setting. Ends early with what is known
    when the call ends (``HANGUP``) or after ``timeout`` seconds (default:
    the analyzer's budget plus 3 s; ``TIMEOUT``). ``on_verdict`` sees every
    verdict, including the provisional machine verdict given before the beep
    (when a dialer can already release the agent it had reserved).
    """
    analyzer = analyzer or ProgressAnalyzer()
    if wait_for_beep is not None:
        analyzer.wait_for_beep = wait_for_beep
    session = call.session
    if call.ended:
        return analyzer.stop("HANGUP")
    if session is None or session.closed:
        return analyzer.stop("NOMEDIA")
    loop = asyncio.get_running_loop()
    limit = timeout if timeout is not None else analyzer.budget_ms / 1000 + 3.0
    deadline = loop.time() + limit
    frames: deque[bytes] = deque()
    wake: list[asyncio.Future[None]] = []

    def tap(frame: bytes) -> None:  # runs in the media tick: keep it O(1)
        frames.append(frame)
        if wake and not wake[0].done():
            wake[0].set_result(None)

    ended = asyncio.ensure_future(call.wait_hangup())
    session.taps.append(tap)
    try:
        while True:
            while frames:
                v = analyzer.feed(frames.popleft())
                if v is not None:
                    if on_verdict is not None:
                        on_verdict(v)
                    if analyzer.done:
                        return v
            if ended.done():
                return _report(analyzer.stop("HANGUP"), on_verdict)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return _report(analyzer.stop("TIMEOUT"), on_verdict)
            waiter: asyncio.Future[None] = loop.create_future()
            wake[:] = [waiter]
            await asyncio.wait(
                {waiter, ended}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
    finally:
        wake.clear()
        with contextlib.suppress(ValueError):
            session.taps.remove(tap)
        ended.cancel()


def _report(v: Verdict, on_verdict: Callable[[Verdict], None] | None) -> Verdict:
    if on_verdict is not None:
        on_verdict(v)
    return v


async def classify_attempt(
    result: DialResult,
    analyzer_factory: Callable[[], ProgressAnalyzer] = ProgressAnalyzer,
    **kw,
) -> Verdict:
    """The :class:`Verdict` of one :meth:`Endpoint.dial
    <callcore.switch.endpoint.Endpoint.dial>` result.

    Unanswered: :func:`outcome_from_sip` on its status (``decided_ms`` 0) —
    except that a status-less ``no_answer``/``busy`` result (a ring group
    that rang out) keeps its outcome. Answered: :func:`analyze_call` on the
    call with a fresh analyzer from ``analyzer_factory`` (``kw`` go to
    :func:`analyze_call`: ``timeout``, ``wait_for_beep``, ``on_verdict``).
    """
    if result.answered and result.call is not None:
        v = await analyze_call(result.call, analyzer_factory(), **kw)
        return replace(v, sip_status=result.status)
    if result.status is None and result.outcome in ("no_answer", "busy"):
        outcome = Outcome(result.outcome)
    else:
        outcome = outcome_from_sip(result.status, result.reason)
    return Verdict(outcome, 0, "", None, result.status)
