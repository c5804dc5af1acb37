"""Pure-Python twin of ``_fastpath.pyx``: same functions, bit-exact results.

G.711 follows the ITU-T G.191 reference (the same arithmetic as CPython's
``audioop``): μ-law quantises the 14 most significant bits, A-law the 13 most
significant bits of a 16-bit sample. Tables are built once at import.
"""

from __future__ import annotations

from array import array

__all__ = [
    "alaw_decode",
    "alaw_encode",
    "alaw_to_ulaw",
    "ulaw_decode",
    "ulaw_encode",
    "ulaw_to_alaw",
]

_SEG_UEND = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_SEG_AEND = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for i, end in enumerate(ends):
        if value <= end:
            return i
    return 8


def _linear2ulaw(sample: int) -> int:
    pcm = sample >> 2  # 14-bit
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, 8159) + 33
    seg = _segment(pcm, _SEG_UEND)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0xF)) ^ mask


def _ulaw2linear(code: int) -> int:
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - t) if u & 0x80 else (t - 0x84)


def _linear2alaw(sample: int) -> int:
    pcm = sample >> 3  # 13-bit
    if pcm >= 0:
        mask = 0xD5
    else:
        mask, pcm = 0x55, -pcm - 1
    seg = _segment(pcm, _SEG_AEND)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= ((pcm >> 1) if seg < 2 else (pcm >> seg)) & 0x0F
    return aval ^ mask


def _alaw2linear(code: int) -> int:
    a = code ^ 0x55
    t = a & 0x0F
    seg = (a & 0x70) >> 4
    if seg == 0:
        t = (t << 4) + 8
    else:
        t = ((t << 4) + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


_ULAW_DEC = [_ulaw2linear(c).to_bytes(2, "little", signed=True) for c in range(256)]
_ALAW_DEC = [_alaw2linear(c).to_bytes(2, "little", signed=True) for c in range(256)]
# encode tables indexed by the unsigned 16-bit pattern of the sample
_ULAW_ENC = bytes(_linear2ulaw(i - 65536 if i >= 32768 else i) for i in range(65536))
_ALAW_ENC = bytes(_linear2alaw(i - 65536 if i >= 32768 else i) for i in range(65536))
_U2A = bytes(_ALAW_ENC[_ulaw2linear(c) & 0xFFFF] for c in range(256))
_A2U = bytes(_ULAW_ENC[_alaw2linear(c) & 0xFFFF] for c in range(256))


def _samples(pcm) -> array:
    data = bytes(pcm)
    if len(data) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    a = array("H")
    a.frombytes(data)
    if array("H", [1]).tobytes() != b"\x01\x00":  # pragma: no cover - big-endian host
        a.byteswap()
    return a


def ulaw_encode(pcm) -> bytes:
    """16-bit little-endian PCM → μ-law."""
    table = _ULAW_ENC
    return bytes([table[s] for s in _samples(pcm)])


def ulaw_decode(data) -> bytes:
    """μ-law → 16-bit little-endian PCM."""
    table = _ULAW_DEC
    return b"".join([table[c] for c in bytes(data)])


def alaw_encode(pcm) -> bytes:
    """16-bit little-endian PCM → A-law."""
    table = _ALAW_ENC
    return bytes([table[s] for s in _samples(pcm)])


def alaw_decode(data) -> bytes:
    """A-law → 16-bit little-endian PCM."""
    table = _ALAW_DEC
    return b"".join([table[c] for c in bytes(data)])


def ulaw_to_alaw(data) -> bytes:
    """μ-law → A-law (equal to decoding then encoding)."""
    return bytes(data).translate(_U2A)


def alaw_to_ulaw(data) -> bytes:
    """A-law → μ-law (equal to decoding then encoding)."""
    return bytes(data).translate(_A2U)
