"""Public types of the fast path (``_fastpath`` compiled, ``_fastpath_py`` pure)."""

from collections.abc import Sequence

from typing_extensions import Buffer

__all__: list[str]

GAIN_ONE: int
MAX_GAIN: float

def ulaw_encode(pcm: Buffer) -> bytes: ...
def ulaw_decode(data: Buffer) -> bytes: ...
def alaw_encode(pcm: Buffer) -> bytes: ...
def alaw_decode(data: Buffer) -> bytes: ...
def ulaw_to_alaw(data: Buffer) -> bytes: ...
def alaw_to_ulaw(data: Buffer) -> bytes: ...
def energy(pcm: Buffer) -> float: ...
def peak(pcm: Buffer) -> int: ...
def goertzel(pcm: Buffer, coeffs: Sequence[float]) -> tuple[float, ...]: ...
def dtmf_blocks(
    pcm: Buffer,
    coeffs: Sequence[float],
    block: int,
    threshold: float,
    normal_twist: float,
    reverse_twist: float,
    relative_peak: float,
    min_fraction: float,
) -> bytes: ...
def gain_q12(gain: float) -> int: ...
def talk_mask(
    frames: Sequence[Buffer | None],
    quiet: bytearray,
    samples: int,
    min_energy: float,
    hangover: int,
    clear: bool = False,
) -> bytes: ...
def mix_minus(
    frames: Sequence[Buffer | None],
    gains: Sequence[float] | None = None,
    whispers: Sequence[tuple[int, Buffer, float]] | None = None,
) -> tuple[bytes, list[bytes]]: ...
