# cython: language_level=3
"""C-level declarations of callcore's fast path, for other Cython modules.

``cimport callcore._fastpath`` gives access to the per-sample helpers without
Python call overhead. Samples are 16-bit signed little-endian, read from bytes
so any alignment works.
"""

from libc.stdint cimport int16_t, int64_t, uint8_t, uint16_t


cdef inline int16_t sample_at(const uint8_t* p, Py_ssize_t i) noexcept nogil:
    """Signed 16-bit little-endian sample ``i`` of ``p``."""
    return <int16_t>(<uint16_t>p[2 * i] | (<uint16_t>p[2 * i + 1] << 8))


cdef inline uint16_t usample_at(const uint8_t* p, Py_ssize_t i) noexcept nogil:
    """Sample ``i`` of ``p`` as its unsigned 16-bit bit pattern."""
    return <uint16_t>p[2 * i] | (<uint16_t>p[2 * i + 1] << 8)


cdef int64_t sum_squares(const uint8_t* p, Py_ssize_t n) noexcept nogil
cdef double goertzel_power(const uint8_t* p, Py_ssize_t n, double c) noexcept nogil
