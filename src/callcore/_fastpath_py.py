"""Pure-Python twin of ``_fastpath.pyx``: same functions, bit-exact results.

PCM is 16-bit signed little-endian mono in any bytes-like object. Floating
point work (Goertzel) is written in the same operation order as the Cython
code, and energies are exact integer sums converted once to ``float``, so
both implementations return identical bits. This module uses the standard
library only; it is the fallback when the extension is not built and the
reference the compiled code is tested against.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

__all__ = [
    "GAIN_ONE",
    "MAX_GAIN",
    "alaw_decode",
    "alaw_encode",
    "alaw_to_ulaw",
    "dtmf_blocks",
    "energy",
    "gain_q12",
    "goertzel",
    "mix_minus",
    "peak",
    "talk_mask",
    "ulaw_decode",
    "ulaw_encode",
    "ulaw_to_alaw",
]

#: Gains are applied in Q12 fixed point: 1.0 is 4096.
GAIN_ONE = 4096
#: Largest accepted mixing gain (keeps every sum inside 32 bits).
MAX_GAIN = 8.0

_LITTLE = sys.byteorder == "little"

# --------------------------------------------------------------------- G.711
_SEG_UEND = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_SEG_AEND = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for i, end in enumerate(ends):
        if value <= end:
            return i
    return 8


def _lin2ulaw(sample: int) -> int:
    """G.711 mu-law code of one 16-bit sample (ITU-T G.191 algorithm)."""
    v = sample >> 2  # 14-bit
    if v < 0:
        v, mask = -v, 0x7F
    else:
        mask = 0xFF
    v = min(v, 8159) + 33
    seg = _segment(v, _SEG_UEND)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((v >> (seg + 1)) & 0xF)) ^ mask


def _ulaw2lin(code: int) -> int:
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def _lin2alaw(sample: int) -> int:
    """G.711 A-law code of one 16-bit sample (ITU-T G.191 algorithm)."""
    v = sample >> 3  # 13-bit
    if v >= 0:
        mask = 0xD5
    else:
        mask, v = 0x55, -v - 1
    seg = _segment(v, _SEG_AEND)
    if seg >= 8:
        return 0x7F ^ mask
    quant = (v >> 1) if seg < 2 else (v >> seg)
    return ((seg << 4) | (quant & 0x0F)) ^ mask


def _alaw2lin(code: int) -> int:
    a = code ^ 0x55
    i = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t = i + 8
    elif seg == 1:
        t = i + 0x108
    else:
        t = (i + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


# Encoders index by the sample's unsigned 16-bit pattern.
_ULAW_ENC = bytes(_lin2ulaw(u - 65536 if u >= 32768 else u) for u in range(65536))
_ALAW_ENC = bytes(_lin2alaw(u - 65536 if u >= 32768 else u) for u in range(65536))
_ULAW_DEC = [_ulaw2lin(c) for c in range(256)]
_ALAW_DEC = [_alaw2lin(c) for c in range(256)]
_ULAW_DEC_B = [v.to_bytes(2, "little", signed=True) for v in _ULAW_DEC]
_ALAW_DEC_B = [v.to_bytes(2, "little", signed=True) for v in _ALAW_DEC]
_U2A = bytes(_ALAW_ENC[_ULAW_DEC[c] & 0xFFFF] for c in range(256))
_A2U = bytes(_ULAW_ENC[_ALAW_DEC[c] & 0xFFFF] for c in range(256))


def _bytes_view(data: object) -> memoryview:
    mv = memoryview(data)  # type: ignore[arg-type]
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


def _u16(pcm: object) -> Sequence[int]:
    """Unsigned 16-bit view of little-endian PCM (raises on odd length)."""
    mv = _bytes_view(pcm)
    if len(mv) & 1:
        raise ValueError("PCM length must be a whole number of 16-bit samples")
    if _LITTLE:
        return mv.cast("H")
    arr = array("H", mv.tobytes())  # pragma: no cover - big-endian hosts
    arr.byteswap()  # pragma: no cover
    return arr  # pragma: no cover


def _s16(pcm: object) -> Sequence[int]:
    """Signed 16-bit samples of little-endian PCM (raises on odd length)."""
    mv = _bytes_view(pcm)
    if len(mv) & 1:
        raise ValueError("PCM length must be a whole number of 16-bit samples")
    if _LITTLE:
        return mv.cast("h")
    arr = array("h", mv.tobytes())  # pragma: no cover
    arr.byteswap()  # pragma: no cover
    return arr  # pragma: no cover


def ulaw_encode(pcm: object) -> bytes:
    """16-bit PCM to G.711 mu-law, one byte per sample (equal to ``audioop.lin2ulaw``)."""
    return bytes(map(_ULAW_ENC.__getitem__, _u16(pcm)))


def alaw_encode(pcm: object) -> bytes:
    """16-bit PCM to G.711 A-law, one byte per sample (equal to ``audioop.lin2alaw``)."""
    return bytes(map(_ALAW_ENC.__getitem__, _u16(pcm)))


def ulaw_decode(data: object) -> bytes:
    """G.711 mu-law to 16-bit PCM (equal to ``audioop.ulaw2lin``)."""
    return b"".join(map(_ULAW_DEC_B.__getitem__, _bytes_view(data)))


def alaw_decode(data: object) -> bytes:
    """G.711 A-law to 16-bit PCM (equal to ``audioop.alaw2lin``)."""
    return b"".join(map(_ALAW_DEC_B.__getitem__, _bytes_view(data)))


def ulaw_to_alaw(data: object) -> bytes:
    """Transcode mu-law to A-law (decode then encode, as one table lookup)."""
    return bytes(_bytes_view(data)).translate(_U2A)


def alaw_to_ulaw(data: object) -> bytes:
    """Transcode A-law to mu-law (decode then encode, as one table lookup)."""
    return bytes(_bytes_view(data)).translate(_A2U)


# ------------------------------------------------------------ level, energy
def energy(pcm: object) -> float:
    """Sum of squared samples, summed exactly and returned as a double."""
    s = _s16(pcm)
    return float(sum(map(int.__mul__, s, s)))


def peak(pcm: object) -> int:
    """Largest absolute sample value (0 for empty input; 32768 for -32768)."""
    s = _s16(pcm)
    if not len(s):
        return 0
    return max(max(s), -min(s))


# ------------------------------------------------------------------ Goertzel
def _goertzel_one(samples: Sequence[int], c: float) -> float:
    s1 = 0.0
    s2 = 0.0
    for x in samples:
        s0 = x + c * s1 - s2
        s2 = s1
        s1 = s0
    return s1 * s1 + s2 * s2 - c * s1 * s2


def goertzel(pcm: object, coeffs: Sequence[float]) -> tuple[float, ...]:
    """Goertzel power at each coefficient ``2*cos(2*pi*f/fs)`` over the whole buffer.

    A sine of amplitude ``A`` exactly on a bin's frequency over ``N`` samples
    gives about ``(A*N/2)**2``.
    """
    s = _s16(pcm)
    return tuple(_goertzel_one(s, float(c)) for c in coeffs)


def dtmf_blocks(
    pcm: object,
    coeffs: Sequence[float],
    block: int,
    threshold: float,
    normal_twist: float,
    reverse_twist: float,
    relative_peak: float,
    min_fraction: float,
) -> bytes:
    """Classify each whole ``block`` of ``pcm`` as a DTMF digit code or 255.

    ``coeffs`` holds the 4 row (low group) then 4 column (high group)
    Goertzel coefficients. A block's code is ``row * 4 + col`` when: both
    best powers reach ``threshold``; ``row <= col * normal_twist`` and
    ``col <= row * reverse_twist`` (power ratios); every other power of the
    same group is below ``best / relative_peak``; and the two tones hold at
    least ``min_fraction`` of the block's energy (``2*(row+col) /
    (block*energy)``, 1.0 for a clean on-frequency dual tone). Trailing
    samples short of a block are ignored.
    """
    if len(coeffs) != 8:
        raise ValueError("dtmf_blocks needs 4 row and 4 column coefficients")
    if block <= 0:
        raise ValueError("block must be positive")
    s = _s16(pcm)
    cs = [float(c) for c in coeffs]
    out = bytearray()
    for start in range(0, len(s) - block + 1, block):
        blk = s[start : start + block]
        p = [_goertzel_one(blk, c) for c in cs]
        out.append(
            _classify(
                p,
                float(sum(map(int.__mul__, blk, blk))),
                block,
                threshold,
                normal_twist,
                reverse_twist,
                relative_peak,
                min_fraction,
            )
        )
    return bytes(out)


def _classify(
    p: list[float],
    e: float,
    block: int,
    threshold: float,
    normal_twist: float,
    reverse_twist: float,
    relative_peak: float,
    min_fraction: float,
) -> int:
    r = 0
    for i in (1, 2, 3):
        if p[i] > p[r]:
            r = i
    c = 4
    for i in (5, 6, 7):
        if p[i] > p[c]:
            c = i
    pr = p[r]
    pc = p[c]
    if pr < threshold or pc < threshold:
        return 255
    if pr > pc * normal_twist or pc > pr * reverse_twist:
        return 255
    for i in range(4):
        if i != r and p[i] * relative_peak > pr:
            return 255
    for i in range(4, 8):
        if i != c and p[i] * relative_peak > pc:
            return 255
    if 2.0 * (pr + pc) < min_fraction * (block * e):
        return 255
    return r * 4 + (c - 4)


# -------------------------------------------------------------------- mixing
def talk_mask(
    frames: Sequence[object | None],
    quiet: bytearray,
    samples: int,
    min_energy: float,
    hangover: int,
    clear: bool = False,
) -> bytes:
    """Per-member talk decision for one mixing tick, with hangover.

    ``quiet[i]`` counts ticks since member ``i`` was last loud (saturating at
    255) and is updated in place. A frame is loud when its energy (sum of
    squares) exceeds ``min_energy`` — ``rms**2 * samples`` for an RMS
    threshold; a negative value makes every frame loud. ``None`` is quiet. Member ``i`` talks (``mask[i] == 1``) while ``quiet[i] <=
    hangover``. Every frame must hold ``samples`` samples (``ValueError``).
    With ``clear``, ``frames`` (a list) has the entries of members that do not
    talk replaced by ``None``, ready for :func:`mix_minus`.
    """
    if len(quiet) != len(frames):
        raise ValueError("quiet must have one counter per frame")
    limit = min_energy
    out = bytearray(len(frames))
    for i, f in enumerate(frames):
        q = quiet[i]
        if f is None:
            q = q + 1 if q < 255 else 255
        else:
            s = _s16(f)
            if len(s) != samples:
                raise ValueError("all frames must have the same length")
            loud = float(sum(map(int.__mul__, s, s))) > limit
            q = 0 if loud else (q + 1 if q < 255 else 255)
        quiet[i] = q
        out[i] = 1 if q <= hangover else 0
        if clear and not out[i]:
            frames[i] = None  # type: ignore[index]
    return bytes(out)


def gain_q12(gain: float) -> int:
    """A mixing gain as the Q12 integer the mixers apply (1.0 -> 4096)."""
    g = float(gain)
    if not 0.0 <= g <= MAX_GAIN:
        raise ValueError(f"gain must be within [0, {MAX_GAIN}], got {gain!r}")
    return round(g * GAIN_ONE)


def _sat_bytes(acc: Sequence[int]) -> bytes:
    out = array("h", [32767 if v > 32767 else -32768 if v < -32768 else v for v in acc])
    if not _LITTLE:  # pragma: no cover
        out.byteswap()
    return out.tobytes()


def _contribution(frame: object, gq: int, n: int) -> list[int]:
    s = _s16(frame)
    if len(s) != n:
        raise ValueError("all frames must have the same length")
    if gq == GAIN_ONE:
        return list(s)
    return [(x * gq) >> 12 for x in s]


def mix_minus(
    frames: Sequence[object | None],
    gains: Sequence[float] | None = None,
    whispers: Sequence[tuple[int, object, float]] | None = None,
) -> tuple[bytes, list[bytes]]:
    """Conference mix: the total and, per member, the total minus its own voice.

    ``frames[i]`` is member ``i``'s 16-bit PCM for this tick, or ``None`` when
    it contributes nothing. Each contribution is ``(sample * q) >> 12`` with
    ``q = gain_q12(gains[i])``. The total is the saturated sum of all
    contributions; ``outs[i]`` is the saturated ``sum - own contribution``,
    plus every whisper ``(target, frame, gain)`` whose target is ``i`` (a
    whisper is heard by its target only). A member with no frame and no
    whisper gets the total object itself, so silent members share one frame.
    """
    n = -1
    for f in frames:
        if f is not None:
            n = len(_s16(f))
            break
    if whispers:
        for _, wf, _ in whispers:
            if n < 0:
                n = len(_s16(wf))
    if n < 0:
        n = 0
    if gains is not None and len(gains) != len(frames):
        raise ValueError("gains must have one entry per frame")
    acc = [0] * n
    contribs: list[list[int] | None] = []
    for i, f in enumerate(frames):
        if f is None:
            contribs.append(None)
            continue
        gq = GAIN_ONE if gains is None else gain_q12(gains[i])
        c = _contribution(f, gq, n)
        contribs.append(c)
        acc = list(map(int.__add__, acc, c))
    extra: dict[int, list[int]] = {}
    if whispers:
        for target, wf, wg in whispers:
            if not 0 <= target < len(frames):
                raise IndexError("whisper target out of range")
            w = _contribution(wf, gain_q12(wg), n)
            prev = extra.get(target)
            extra[target] = w if prev is None else list(map(int.__add__, prev, w))
    total = _sat_bytes(acc)
    outs: list[bytes] = []
    for i, c in enumerate(contribs):
        w = extra.get(i)
        if c is None and w is None:
            outs.append(total)
            continue
        mine = acc if c is None else list(map(int.__sub__, acc, c))
        if w is not None:
            mine = list(map(int.__add__, mine, w))
        outs.append(_sat_bytes(mine))
    return total, outs
