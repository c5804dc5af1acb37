"""What a campaign is: its dialing mode, caller id, call-progress handling and messages.

A :class:`Campaign` is configuration only (frozen, validated). The live
:class:`~callcore.outbound.dialer.Dialer` runs it; the pacing policy that
decides *how many* calls to place is injected separately, so the same policy
object the pacing lab measured runs here unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from callcore.pacing.compliance import ComplianceRules

__all__ = ["Campaign", "CampaignError", "DialMode", "MachineAction"]

DialMode = Literal["preview", "progressive", "predictive", "agentless"]
MachineAction = Literal["hangup", "message", "agent"]

_PURPOSES = ("collections", "telesales", "service", "reminder", "survey")


class CampaignError(ValueError):
    """A campaign setting that cannot work (names the setting and the reason)."""


@dataclass(frozen=True, slots=True)
class Campaign:
    """An outbound campaign's settings.

    * ``queue`` — the ACD queue whose members are the campaign's agents (the
      dialer connects answered humans to them through the ACD, so an agent
      shared with inbound queues is never offered two calls);
    * ``caller_id`` — the company number presented to customers (From and
      P-Asserted-Identity), which must be callable back (Ofcom);
    * ``ring_timeout`` — how long an attempt rings before the dialer gives up;
      never below ``rules.min_ring`` (15 s by default);
    * ``amd`` — run answering-machine detection on answered calls;
      ``machine_action`` — ``"hangup"``, ``"message"`` (leave
      ``machine_message`` after the beep) or ``"agent"`` (send machines to
      agents too: no AMD false positives, no AMD abandons);
      ``notsure_as`` — where an uncertain verdict goes;
    * ``compliance_message`` — played to a human no agent could take within
      ``rules.connect_window`` seconds (an abandoned call), naming the caller
      and a number to call back;
    * ``opt_out_digit`` — a digit the callee presses at any point before an
      agent takes the call to be put on the do-not-call list.
    """

    name: str
    queue: str = ""
    mode: DialMode = "predictive"
    purpose: str = "collections"
    caller_id: str = "95588"
    caller_name: str = ""
    dial_uri: str = "sip:{number}@127.0.0.1"
    ring_timeout: float = 25.0
    amd: bool = True
    machine_action: MachineAction = "hangup"
    machine_message: str = ""
    notsure_as: Literal["human", "machine"] = "human"
    compliance_message: str = (
        "This is a call from your bank. We are sorry we could not connect you. "
        "Please call us back on {caller_id}."
    )
    opt_out_digit: str | None = "9"
    max_lines: int = 50
    decide_every: float = 1.0
    rules: ComplianceRules = field(default_factory=ComplianceRules)

    def __post_init__(self) -> None:
        if not self.name:
            raise CampaignError("campaign needs a name")
        if self.mode not in ("preview", "progressive", "predictive", "agentless"):
            raise CampaignError(f"mode: unknown dial mode {self.mode!r}")
        if self.mode != "agentless" and not self.queue:
            raise CampaignError(f"queue: a {self.mode} campaign needs its agents' queue")
        if self.purpose not in _PURPOSES:
            raise CampaignError(f"purpose: {self.purpose!r} is not one of {_PURPOSES}")
        if self.ring_timeout < self.rules.min_ring:
            raise CampaignError(
                f"ring_timeout: {self.ring_timeout} s is below the minimum ring time "
                f"{self.rules.min_ring} s"
            )
        if self.machine_action not in ("hangup", "message", "agent"):
            raise CampaignError(f"machine_action: {self.machine_action!r}")
        if self.machine_action == "message" and not self.machine_message:
            raise CampaignError("machine_message: needed when machine_action='message'")
        if "{number}" not in self.dial_uri:
            raise CampaignError("dial_uri: must contain {number}")
        if self.opt_out_digit is not None and self.opt_out_digit not in "0123456789*#":
            raise CampaignError(f"opt_out_digit: {self.opt_out_digit!r} is not a DTMF digit")
        if self.max_lines < 1 or self.decide_every <= 0:
            raise CampaignError("max_lines must be >= 1 and decide_every > 0")

    @property
    def agents_needed(self) -> bool:
        return self.mode != "agentless"

    def compliance_text(self) -> str:
        return self.compliance_message.format(caller_id=self.caller_id, campaign=self.name)
