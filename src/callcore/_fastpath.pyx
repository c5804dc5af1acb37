# cython: language_level=3
"""Hot loops of callcore's media path, compiled with Cython.

Every public function here has a bit-exact twin in ``_fastpath_py.py`` (read
its docstrings for the semantics); ``callcore.fastpath`` chooses between them.
Declarations live in ``_fastpath.pxd``, public types in ``_fastpath.pyi``.

Inputs are any C-contiguous bytes-like object, read through the buffer
protocol (bytes take a shortcut): acquiring a typed memoryview costs more than
a 160-sample G.711 frame takes to encode. Samples are assembled from two bytes,
so unaligned slices and big-endian hosts read the same little-endian PCM.
Loops over long buffers run without the GIL.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t
from libc.math cimport lrint
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from callcore import _fastpath_py as _py

__all__ = list(_py.__all__)

GAIN_ONE = _py.GAIN_ONE
MAX_GAIN = _py.MAX_GAIN
gain_q12 = _py.gain_q12

# Tables built from the twin's, so both share one source of truth.
cdef uint8_t ULAW_ENC[65536]
cdef uint8_t ALAW_ENC[65536]
cdef int16_t ULAW_DEC[256]
cdef int16_t ALAW_DEC[256]
cdef uint8_t U2A[256]
cdef uint8_t A2U[256]

cdef _init_tables():
    cdef int i
    cdef bytes ue = _py._ULAW_ENC
    cdef bytes ae = _py._ALAW_ENC
    memcpy(ULAW_ENC, PyBytes_AS_STRING(ue), 65536)
    memcpy(ALAW_ENC, PyBytes_AS_STRING(ae), 65536)
    for i in range(256):
        ULAW_DEC[i] = _py._ULAW_DEC[i]
        ALAW_DEC[i] = _py._ALAW_DEC[i]
        U2A[i] = _py._U2A[i]
        A2U[i] = _py._A2U[i]

_init_tables()

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    #define CC_LE 1
    #else
    #define CC_LE 0
    #endif
    /* 16-bit little-endian load/store at any alignment. */
    static inline int32_t cc_ld(const uint8_t* p, Py_ssize_t i) {
    #if CC_LE
        int16_t v; memcpy(&v, p + 2 * i, 2); return v;
    #else
        return (int16_t)(uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
    #endif
    }
    static inline void cc_st(uint8_t* o, Py_ssize_t i, int32_t v) {
    #if CC_LE
        int16_t w = (int16_t)v; memcpy(o + 2 * i, &w, 2);
    #else
        o[2 * i] = (uint8_t)(v & 0xFF); o[2 * i + 1] = (uint8_t)(((uint16_t)v) >> 8);
    #endif
    }
    static inline int32_t cc_sat(int32_t v) {
        return v > 32767 ? 32767 : (v < -32768 ? -32768 : v);
    }
    static void cc_decode(uint8_t* restrict o, const uint8_t* restrict p, Py_ssize_t n,
                          const int16_t* restrict table) {
        for (Py_ssize_t i = 0; i < n; i++) cc_st(o, i, table[p[i]]);
    }
    static void cc_add(int32_t* restrict acc, const uint8_t* restrict p, Py_ssize_t n,
                       int32_t gq) {
        if (gq == 4096) { for (Py_ssize_t i = 0; i < n; i++) acc[i] += cc_ld(p, i); }
        else { for (Py_ssize_t i = 0; i < n; i++) acc[i] += (cc_ld(p, i) * gq) >> 12; }
    }
    static void cc_sub(int32_t* restrict acc, const uint8_t* restrict p, Py_ssize_t n,
                       int32_t gq) {
        if (gq == 4096) { for (Py_ssize_t i = 0; i < n; i++) acc[i] -= cc_ld(p, i); }
        else { for (Py_ssize_t i = 0; i < n; i++) acc[i] -= (cc_ld(p, i) * gq) >> 12; }
    }
    static void cc_store_sat(uint8_t* restrict o, const int32_t* restrict acc, Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) cc_st(o, i, cc_sat(acc[i]));
    }
    /* Goertzel powers of 8 frequencies in one pass: eight independent
       recursions interleaved, each with exactly the operations of
       goertzel_power, so results are bit-identical. */
    static void cc_goertzel8(const uint8_t* p, Py_ssize_t n, const double* c, double* out) {
        double s1[8] = {0}, s2[8] = {0};
        for (Py_ssize_t i = 0; i < n; i++) {
            double x = (double)cc_ld(p, i);
            for (int k = 0; k < 8; k++) {
                double s0 = x + c[k] * s1[k] - s2[k];
                s2[k] = s1[k];
                s1[k] = s0;
            }
        }
        for (int k = 0; k < 8; k++)
            out[k] = s1[k] * s1[k] + s2[k] * s2[k] - c[k] * s1[k] * s2[k];
    }
    /* o = saturate(acc - contribution of p), in one pass. */
    static void cc_minus_sat(uint8_t* restrict o, const int32_t* restrict acc,
                             const uint8_t* restrict p, Py_ssize_t n, int32_t gq) {
        if (gq == 4096) {
            for (Py_ssize_t i = 0; i < n; i++) cc_st(o, i, cc_sat(acc[i] - cc_ld(p, i)));
        } else {
            for (Py_ssize_t i = 0; i < n; i++)
                cc_st(o, i, cc_sat(acc[i] - ((cc_ld(p, i) * gq) >> 12)));
        }
    }
    """
    void cc_decode(uint8_t* o, const uint8_t* p, Py_ssize_t n, const int16_t* table) noexcept nogil
    void cc_add(int32_t* acc, const uint8_t* p, Py_ssize_t n, int32_t gq) noexcept nogil
    void cc_sub(int32_t* acc, const uint8_t* p, Py_ssize_t n, int32_t gq) noexcept nogil
    void cc_store_sat(uint8_t* o, const int32_t* acc, Py_ssize_t n) noexcept nogil
    void cc_goertzel8(const uint8_t* p, Py_ssize_t n, const double* c, double* out) noexcept nogil
    void cc_minus_sat(uint8_t* o, const int32_t* acc, const uint8_t* p, Py_ssize_t n, int32_t gq) noexcept nogil


cdef Py_ssize_t NOGIL_SAMPLES = 4096


cdef inline int _open(object obj, Py_buffer* view, const uint8_t** ptr, Py_ssize_t* size) except -1:
    """Point at obj's bytes; returns 1 when ``view`` must be released."""
    if PyBytes_CheckExact(obj):
        ptr[0] = <const uint8_t*>PyBytes_AS_STRING(obj)
        size[0] = PyBytes_GET_SIZE(obj)
        return 0
    PyObject_GetBuffer(obj, view, PyBUF_SIMPLE)
    ptr[0] = <const uint8_t*>view.buf
    size[0] = view.len
    return 1


cdef inline int _pcm_len(Py_ssize_t size) except -1:
    if size & 1:
        raise ValueError("PCM length must be a whole number of 16-bit samples")
    return 0


# ------------------------------------------------------------------- G.711
cdef bytes _encode(object pcm, const uint8_t* table):
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef Py_ssize_t size, n, i
    cdef int held = _open(pcm, &view, &p, &size)
    cdef bytes out
    cdef uint8_t* o
    try:
        _pcm_len(size)
        n = size >> 1
        out = PyBytes_FromStringAndSize(NULL, n)
        o = <uint8_t*>PyBytes_AS_STRING(out)
        if n >= NOGIL_SAMPLES:
            with nogil:
                for i in range(n):
                    o[i] = table[usample_at(p, i)]
        else:
            for i in range(n):
                o[i] = table[usample_at(p, i)]
        return out
    finally:
        if held:
            PyBuffer_Release(&view)


cdef bytes _decode(object data, const int16_t* table):
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef Py_ssize_t n, i
    cdef int held = _open(data, &view, &p, &n)
    cdef bytes out
    cdef uint8_t* o
    try:
        out = PyBytes_FromStringAndSize(NULL, 2 * n)
        o = <uint8_t*>PyBytes_AS_STRING(out)
        cc_decode(o, p, n, table)
        return out
    finally:
        if held:
            PyBuffer_Release(&view)


cdef bytes _translate(object data, const uint8_t* table):
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef Py_ssize_t n, i
    cdef int held = _open(data, &view, &p, &n)
    cdef bytes out
    cdef uint8_t* o
    try:
        out = PyBytes_FromStringAndSize(NULL, n)
        o = <uint8_t*>PyBytes_AS_STRING(out)
        for i in range(n):
            o[i] = table[p[i]]
        return out
    finally:
        if held:
            PyBuffer_Release(&view)


def ulaw_encode(pcm):
    return _encode(pcm, ULAW_ENC)


def alaw_encode(pcm):
    return _encode(pcm, ALAW_ENC)


def ulaw_decode(data):
    return _decode(data, ULAW_DEC)


def alaw_decode(data):
    return _decode(data, ALAW_DEC)


def ulaw_to_alaw(data):
    return _translate(data, U2A)


def alaw_to_ulaw(data):
    return _translate(data, A2U)


# ----------------------------------------------------------- level, energy
cdef int64_t sum_squares(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef int64_t acc = 0
    cdef int32_t x
    cdef Py_ssize_t i
    for i in range(n):
        x = sample_at(p, i)
        acc += x * x
    return acc


def energy(pcm):
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef Py_ssize_t size, n
    cdef int held = _open(pcm, &view, &p, &size)
    cdef int64_t acc
    try:
        _pcm_len(size)
        n = size >> 1
        if n >= NOGIL_SAMPLES:
            with nogil:
                acc = sum_squares(p, n)
        else:
            acc = sum_squares(p, n)
        return <double>acc
    finally:
        if held:
            PyBuffer_Release(&view)


def peak(pcm):
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef Py_ssize_t size, n, i
    cdef int held = _open(pcm, &view, &p, &size)
    cdef int32_t x, best = 0
    try:
        _pcm_len(size)
        n = size >> 1
        for i in range(n):
            x = sample_at(p, i)
            if x < 0:
                x = -x
            if x > best:
                best = x
        return best
    finally:
        if held:
            PyBuffer_Release(&view)


# ---------------------------------------------------------------- Goertzel
cdef double goertzel_power(const uint8_t* p, Py_ssize_t n, double c) noexcept nogil:
    cdef double s0, s1 = 0.0, s2 = 0.0
    cdef Py_ssize_t i
    for i in range(n):
        s0 = <double>sample_at(p, i) + c * s1 - s2
        s2 = s1
        s1 = s0
    return s1 * s1 + s2 * s2 - c * s1 * s2


def goertzel(pcm, coeffs):
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef Py_ssize_t size, n, k, m
    cdef int held = _open(pcm, &view, &p, &size)
    cdef double* cs = NULL
    cdef double* ps = NULL
    try:
        _pcm_len(size)
        n = size >> 1
        m = len(coeffs)
        cs = <double*>malloc((2 * m + 1) * sizeof(double))
        if cs == NULL:
            raise MemoryError()
        ps = cs + m
        for k in range(m):
            cs[k] = float(coeffs[k])
        if n * m >= NOGIL_SAMPLES:
            with nogil:
                for k in range(m):
                    ps[k] = goertzel_power(p, n, cs[k])
        else:
            for k in range(m):
                ps[k] = goertzel_power(p, n, cs[k])
        return tuple([ps[k] for k in range(m)])
    finally:
        free(cs)
        if held:
            PyBuffer_Release(&view)


cdef inline int _classify(const double* pw, double e, Py_ssize_t block, double threshold,
                          double normal_twist, double reverse_twist, double relative_peak,
                          double min_fraction) noexcept nogil:
    cdef int r = 0, c = 4, i
    cdef double pr, pc
    for i in range(1, 4):
        if pw[i] > pw[r]:
            r = i
    for i in range(5, 8):
        if pw[i] > pw[c]:
            c = i
    pr = pw[r]
    pc = pw[c]
    if pr < threshold or pc < threshold:
        return 255
    if pr > pc * normal_twist or pc > pr * reverse_twist:
        return 255
    for i in range(4):
        if i != r and pw[i] * relative_peak > pr:
            return 255
    for i in range(4, 8):
        if i != c and pw[i] * relative_peak > pc:
            return 255
    if 2.0 * (pr + pc) < min_fraction * (block * e):
        return 255
    return r * 4 + (c - 4)


def dtmf_blocks(pcm, coeffs, Py_ssize_t block, double threshold, double normal_twist,
                double reverse_twist, double relative_peak, double min_fraction):
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef Py_ssize_t size, n, nb, b, k
    cdef double cs[8]
    cdef double pw[8]
    cdef double e
    cdef bytes out
    cdef uint8_t* o
    cdef int held
    if len(coeffs) != 8:
        raise ValueError("dtmf_blocks needs 4 row and 4 column coefficients")
    if block <= 0:
        raise ValueError("block must be positive")
    for k in range(8):
        cs[k] = float(coeffs[k])
    held = _open(pcm, &view, &p, &size)
    try:
        _pcm_len(size)
        n = size >> 1
        nb = n // block
        out = PyBytes_FromStringAndSize(NULL, nb)
        o = <uint8_t*>PyBytes_AS_STRING(out)
        for b in range(nb):
            cc_goertzel8(p + 2 * b * block, block, cs, pw)
            e = <double>sum_squares(p + 2 * b * block, block)
            o[b] = _classify(pw, e, block, threshold, normal_twist, reverse_twist,
                             relative_peak, min_fraction)
        return out
    finally:
        if held:
            PyBuffer_Release(&view)


# ------------------------------------------------------------------ mixing
cdef inline int32_t _gain_q12(object gain) except -1:
    cdef double g = float(gain)
    if not (0.0 <= g <= 8.0):
        raise ValueError(f"gain must be within [0, 8.0], got {gain!r}")
    # lrint rounds half to even like Python's round()
    return <int32_t>lrint(g * 4096.0)


def talk_mask(frames, bytearray quiet, Py_ssize_t samples, double min_energy, int hangover,
              bint clear=False):
    cdef Py_ssize_t m = len(frames), i, size
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef int held
    cdef int q
    cdef double limit = min_energy
    cdef bytes out
    cdef uint8_t* o
    cdef unsigned char* qs
    if len(quiet) != m:
        raise ValueError("quiet must have one counter per frame")
    out = PyBytes_FromStringAndSize(NULL, m)
    o = <uint8_t*>PyBytes_AS_STRING(out)
    qs = quiet
    for i in range(m):
        f = frames[i]
        q = qs[i]
        if f is None:
            q = q + 1 if q < 255 else 255
        else:
            held = _open(f, &view, &p, &size)
            try:
                _pcm_len(size)
                if size >> 1 != samples:
                    raise ValueError("all frames must have the same length")
                if <double>sum_squares(p, samples) > limit:
                    q = 0
                else:
                    q = q + 1 if q < 255 else 255
            finally:
                if held:
                    PyBuffer_Release(&view)
        qs[i] = q
        o[i] = 1 if q <= hangover else 0
        if clear and not o[i]:
            frames[i] = None
    return out


def mix_minus(frames, gains=None, whispers=None):
    cdef Py_ssize_t m = len(frames)
    cdef Py_ssize_t nw = 0 if not whispers else len(whispers)
    cdef Py_ssize_t n = -1, i, j, k, size
    cdef Py_buffer* views = NULL
    cdef const uint8_t** ptrs = NULL
    cdef char* held = NULL
    cdef int32_t* gq = NULL
    cdef Py_ssize_t* wt = NULL
    cdef int32_t* acc = NULL
    cdef int32_t* tmp = NULL
    cdef int32_t stack_acc[2 * 480]
    cdef bytes total
    cdef bytes b
    cdef uint8_t* o
    cdef bint has_w
    cdef list outs
    if gains is not None and len(gains) != m:
        raise ValueError("gains must have one entry per frame")
    views = <Py_buffer*>malloc((m + nw + 1) * sizeof(Py_buffer))
    ptrs = <const uint8_t**>malloc((m + nw + 1) * sizeof(uint8_t*))
    held = <char*>malloc(m + nw + 1)
    gq = <int32_t*>malloc((m + nw + 1) * sizeof(int32_t))
    wt = <Py_ssize_t*>malloc((nw + 1) * sizeof(Py_ssize_t))
    if views == NULL or ptrs == NULL or held == NULL or gq == NULL or wt == NULL:
        free(views); free(ptrs); free(held); free(gq); free(wt)
        raise MemoryError()
    for i in range(m + nw):
        held[i] = 0
        ptrs[i] = NULL
    try:
        for i in range(m):
            f = frames[i]
            if f is None:
                continue
            held[i] = _open(f, &views[i], &ptrs[i], &size)
            _pcm_len(size)
            if n < 0:
                n = size >> 1
            elif size >> 1 != n:
                raise ValueError("all frames must have the same length")
            gq[i] = 4096 if gains is None else _gain_q12(gains[i])
        for j in range(nw):
            target, wf, wg = whispers[j]
            if not 0 <= target < m:
                raise IndexError("whisper target out of range")
            wt[j] = target
            held[m + j] = _open(wf, &views[m + j], &ptrs[m + j], &size)
            _pcm_len(size)
            if n < 0:
                n = size >> 1
            elif size >> 1 != n:
                raise ValueError("all frames must have the same length")
            gq[m + j] = _gain_q12(wg)
        if n < 0:
            n = 0
        if n <= 480:
            acc = stack_acc
        else:
            acc = <int32_t*>malloc(2 * n * sizeof(int32_t))
            if acc == NULL:
                raise MemoryError()
        tmp = acc + n
        for k in range(n):
            acc[k] = 0
        for i in range(m):
            if ptrs[i] != NULL:
                cc_add(acc, ptrs[i], n, gq[i])
        total = PyBytes_FromStringAndSize(NULL, 2 * n)
        cc_store_sat(<uint8_t*>PyBytes_AS_STRING(total), acc, n)
        outs = [None] * m
        for i in range(m):
            has_w = False
            for j in range(nw):
                if wt[j] == i:
                    has_w = True
                    break
            if ptrs[i] == NULL and not has_w:
                outs[i] = total
                continue
            b = PyBytes_FromStringAndSize(NULL, 2 * n)
            o = <uint8_t*>PyBytes_AS_STRING(b)
            if not has_w:
                cc_minus_sat(o, acc, ptrs[i], n, gq[i])
            else:
                memcpy(tmp, acc, n * sizeof(int32_t))
                if ptrs[i] != NULL:
                    cc_sub(tmp, ptrs[i], n, gq[i])
                for j in range(nw):
                    if wt[j] == i:
                        cc_add(tmp, ptrs[m + j], n, gq[m + j])
                cc_store_sat(o, tmp, n)
            outs[i] = b
        return total, outs
    finally:
        for i in range(m + nw):
            if held[i]:
                PyBuffer_Release(&views[i])
        if acc != NULL and acc != stack_acc:
            free(acc)
        free(views); free(ptrs); free(held); free(gq); free(wt)
