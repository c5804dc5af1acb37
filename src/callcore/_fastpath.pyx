# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Hot loops of callcore's media path, compiled with Cython.

Every public function here has a bit-exact twin in ``_fastpath_py.py``;
``callcore.fastpath`` chooses between them. G.711 is table-driven with the
tables computed at import by the same G.191 arithmetic as the twin.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int16_t, uint8_t, uint16_t

__all__ = ["alaw_decode", "alaw_encode", "alaw_to_ulaw", "ulaw_decode", "ulaw_encode", "ulaw_to_alaw"]

cdef uint8_t ULAW_ENC[65536]
cdef uint8_t ALAW_ENC[65536]
cdef int16_t ULAW_DEC[256]
cdef int16_t ALAW_DEC[256]
cdef uint8_t U2A[256]
cdef uint8_t A2U[256]

cdef int _segment(int value, const int* ends) noexcept:
    cdef int i
    for i in range(8):
        if value <= ends[i]:
            return i
    return 8

cdef int SEG_UEND[8]
cdef int SEG_AEND[8]
SEG_UEND[:] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]
SEG_AEND[:] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]

cdef uint8_t _linear2ulaw(int sample) noexcept:
    cdef int pcm = sample >> 2
    cdef int mask, seg
    if pcm < 0:
        pcm = -pcm
        mask = 0x7F
    else:
        mask = 0xFF
    if pcm > 8159:
        pcm = 8159
    pcm += 33
    seg = _segment(pcm, SEG_UEND)
    if seg >= 8:
        return <uint8_t>(0x7F ^ mask)
    return <uint8_t>(((seg << 4) | ((pcm >> (seg + 1)) & 0xF)) ^ mask)

cdef int _ulaw2linear(int code) noexcept:
    cdef int u = (~code) & 0xFF
    cdef int t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - t) if (u & 0x80) else (t - 0x84)

cdef uint8_t _linear2alaw(int sample) noexcept:
    cdef int pcm = sample >> 3
    cdef int mask, seg, aval
    if pcm >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm = -pcm - 1
    seg = _segment(pcm, SEG_AEND)
    if seg >= 8:
        return <uint8_t>(0x7F ^ mask)
    aval = seg << 4
    if seg < 2:
        aval |= (pcm >> 1) & 0x0F
    else:
        aval |= (pcm >> seg) & 0x0F
    return <uint8_t>(aval ^ mask)

cdef int _alaw2linear(int code) noexcept:
    cdef int a = code ^ 0x55
    cdef int t = a & 0x0F
    cdef int seg = (a & 0x70) >> 4
    if seg == 0:
        t = (t << 4) + 8
    else:
        t = ((t << 4) + 0x108) << (seg - 1)
    return t if (a & 0x80) else -t

cdef void _build_tables() noexcept:
    cdef int i, s
    for i in range(65536):
        s = i - 65536 if i >= 32768 else i
        ULAW_ENC[i] = _linear2ulaw(s)
        ALAW_ENC[i] = _linear2alaw(s)
    for i in range(256):
        ULAW_DEC[i] = <int16_t>_ulaw2linear(i)
        ALAW_DEC[i] = <int16_t>_alaw2linear(i)
    for i in range(256):
        U2A[i] = ALAW_ENC[(<uint16_t>ULAW_DEC[i])]
        A2U[i] = ULAW_ENC[(<uint16_t>ALAW_DEC[i])]

_build_tables()


cdef inline bytes _as_bytes(obj):
    return obj if type(obj) is bytes else bytes(obj)


cdef bytes _encode(bytes pcm, const uint8_t* table):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(pcm)
    if n & 1:
        raise ValueError("16-bit PCM must have an even number of bytes")
    n >>= 1
    cdef const uint8_t* src = <const uint8_t*>PyBytes_AS_STRING(pcm)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef uint8_t* o = <uint8_t*>PyBytes_AS_STRING(out)
    cdef Py_ssize_t i
    for i in range(n):
        o[i] = table[<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8))]
    return out


cdef bytes _decode(bytes data, const int16_t* table):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef const uint8_t* src = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 2 * n)
    cdef uint8_t* o = <uint8_t*>PyBytes_AS_STRING(out)
    cdef Py_ssize_t i
    cdef uint16_t v
    for i in range(n):
        v = <uint16_t>table[src[i]]
        o[2 * i] = v & 0xFF
        o[2 * i + 1] = v >> 8
    return out


cdef bytes _translate(bytes data, const uint8_t* table):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef const uint8_t* src = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef uint8_t* o = <uint8_t*>PyBytes_AS_STRING(out)
    cdef Py_ssize_t i
    for i in range(n):
        o[i] = table[src[i]]
    return out


def ulaw_encode(pcm) -> bytes:
    """16-bit little-endian PCM → μ-law."""
    return _encode(_as_bytes(pcm), ULAW_ENC)


def ulaw_decode(data) -> bytes:
    """μ-law → 16-bit little-endian PCM."""
    return _decode(_as_bytes(data), ULAW_DEC)


def alaw_encode(pcm) -> bytes:
    """16-bit little-endian PCM → A-law."""
    return _encode(_as_bytes(pcm), ALAW_ENC)


def alaw_decode(data) -> bytes:
    """A-law → 16-bit little-endian PCM."""
    return _decode(_as_bytes(data), ALAW_DEC)


def ulaw_to_alaw(data) -> bytes:
    """μ-law → A-law (equal to decoding then encoding)."""
    return _translate(_as_bytes(data), U2A)


def alaw_to_ulaw(data) -> bytes:
    """A-law → μ-law (equal to decoding then encoding)."""
    return _translate(_as_bytes(data), A2U)
