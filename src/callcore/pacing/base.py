"""The pacing-policy interface."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .state import PacingState


class PolicyError(RuntimeError):
    """A policy raised or returned something that is not a dial count."""


@runtime_checkable
class PacingPolicy(Protocol):
    """Decides how many new calls to launch now.

    ``decide`` is called at every decision point (each second in the simulator and
    the live dialer) with the current :class:`PacingState` and the clock reading
    ``now`` (seconds). It returns a count ``>= 0``. Policies keep whatever memory
    they need on themselves; ``reset`` forgets it before a new campaign/replication.
    """

    name: str

    def decide(self, state: PacingState, now: float) -> int: ...

    def reset(self) -> None: ...


def checked(n: object, policy: object) -> int:
    """Validate a policy's answer, raising :class:`PolicyError` when it is not an int >= 0."""
    if isinstance(n, bool) or not isinstance(n, int):
        try:
            import numpy as np

            if isinstance(n, np.integer):
                n = int(n)
            else:
                raise TypeError
        except TypeError:
            raise PolicyError(f"{policy!r} returned {n!r}, not an int") from None
    if n < 0:
        raise PolicyError(f"{policy!r} returned a negative dial count {n}")
    return n
