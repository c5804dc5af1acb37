# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled SIP parser: the C-level twin of ``_sipparse_py``.

Same entry point, same objects, same errors. The header block is scanned with
C loops over the (ASCII) text, header names are checked against a character
table, and Via, name-addr, CSeq, header parameters and sip/sips URIs are
validated by hand-written scanners that build the public objects
(:class:`~callcore.sip.headers.Via`, ``Address``, ``CSeq``, ``SipURI``)
directly. A scanner only ever *accepts* what the reference parser in
headers.py/uri.py accepts and builds the same object; whenever it meets
anything else (a fault, a non-ASCII value, a ``tel:`` or other URI) it hands
the value to that reference parser, which returns the object or raises the
exact error. Faults are rare, so they cost nothing on the hot path.

Per message the head is decoded once and cut into lines in C (no ``split``);
which header sits where is kept in a C struct (no lists); parameter tuples are
built directly; short recurring strings (header parameter names, hosts, methods,
transports, SDP tokens) and port numbers are shared rather than made anew. The
head octets are kept for ``serialize()`` (see message.py).
"""

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeUTF8, PyUnicode_Substring
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.string cimport memchr, memset

from callcore.sip import _sipparse_py as _py
from callcore.sip.errors import SipParseError
from callcore.sip.headers import COMPACT, MAGIC_COOKIE, Address, CSeq, Via, parse_params
from callcore.sip.message import Headers, Request, Response
from callcore.sip.sdp import (
    Attribute,
    Connection,
    MediaDescription,
    Origin,
    SessionDescription,
    Timing,
)
from callcore.sip.uri import AbsoluteURI, SipURI, parse_uri

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    const unsigned char* PyUnicode_1BYTE_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

__all__ = [
    "parse_message",
    "scan_address",
    "scan_cseq",
    "scan_params",
    "scan_sdp",
    "scan_uri",
    "scan_via",
]


# -- building the public objects -----------------------------------------------------------
# The result classes are plain slotted classes; a fresh instance is made with
# their tp_new and its slots are filled directly (what ``obj.slot = v`` does,
# minus the attribute lookup), so the objects are exactly those __init__ makes.
cdef Py_ssize_t _offset(type cls, str name) except -1:
    for klass in cls.__mro__:
        d = klass.__dict__.get(name)
        if d is not None:
            if type(d).__name__ != "member_descriptor":
                raise TypeError(f"{cls.__name__}.{name} is not a slot")
            return (<PyMemberDescrObject*><PyObject*>d).d_member.offset
    raise TypeError(f"{cls.__name__} has no slot {name}")


cdef extern from *:
    """
    static PyObject* callcore_alloc(PyTypeObject* t) { return t->tp_alloc(t, 0); }
    static void* callcore_tp_new(PyTypeObject* t) { return (void*)t->tp_new; }
    """
    object callcore_alloc(PyTypeObject* t)
    void* callcore_tp_new(PyTypeObject* t)


cdef inline object _new(type cls):
    # what object.__new__ comes down to for these plain classes (checked by _plain)
    return callcore_alloc(<PyTypeObject*>cls)


cdef _plain(type cls):
    if callcore_tp_new(<PyTypeObject*>cls) != callcore_tp_new(<PyTypeObject*>object):
        raise TypeError(f"{cls.__name__} has its own __new__: _sipparse cannot build it")


cdef inline void _put(object obj, Py_ssize_t off, object value):
    """Fill an empty slot of a fresh object."""
    Py_INCREF(value)
    (<PyObject**>((<char*><PyObject*>obj) + off))[0] = <PyObject*>value

cdef inline object _slot(object obj, Py_ssize_t off):
    """A filled slot's value."""
    return <object>(<PyObject**>((<char*><PyObject*>obj) + off))[0]


cdef inline void _set(object obj, Py_ssize_t off, object value):
    """Replace a slot's value (the slot may be empty)."""
    cdef PyObject** slot = <PyObject**>((<char*><PyObject*>obj) + off)
    cdef PyObject* old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject*>value
    Py_XDECREF(old)


cdef enum:
    C_TOKEN = 1
    C_USER = 2
    C_PASS = 4
    C_HOST = 8
    C_PCHAR = 16
    C_HCHAR = 32
    C_HEX = 64
    C_DIGIT = 128

cdef unsigned char CLS[256]


cdef void _mark(bytes chars, unsigned char flag):
    cdef unsigned char c
    for c in chars:
        CLS[c] |= flag


cdef void _init_tables():
    cdef int i
    for i in range(256):
        CLS[i] = 0
    alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    _mark(alnum + b"-.!%*_+`'~", C_TOKEN)
    _mark(alnum + b"-_.!~*'()&=+$,;?/", C_USER)
    _mark(alnum + b"-_.!~*'()&=+$,", C_PASS)
    _mark(alnum + b"-_.", C_HOST)
    _mark(alnum + b"-_.!~*'()[]/:&+$", C_PCHAR)
    _mark(alnum + b"-_.!~*'()[]/?:+$", C_HCHAR)
    _mark(b"0123456789ABCDEFabcdef", C_HEX)
    _mark(b"0123456789", C_DIGIT)


_init_tables()

cdef Py_ssize_t U_SCHEME = _offset(SipURI, "scheme")
cdef Py_ssize_t U_USER = _offset(SipURI, "user")
cdef Py_ssize_t U_PASSWORD = _offset(SipURI, "password")
cdef Py_ssize_t U_HOST = _offset(SipURI, "host")
cdef Py_ssize_t U_PORT = _offset(SipURI, "port")
cdef Py_ssize_t U_PARAMS = _offset(SipURI, "params")
cdef Py_ssize_t U_HEADERS = _offset(SipURI, "headers")
cdef Py_ssize_t U_RAW = _offset(SipURI, "_raw")
cdef Py_ssize_t A_URI = _offset(Address, "uri")
cdef Py_ssize_t A_DISPLAY = _offset(Address, "display")
cdef Py_ssize_t A_PARAMS = _offset(Address, "params")
cdef Py_ssize_t A_RAW = _offset(Address, "_raw")
cdef Py_ssize_t V_TRANSPORT = _offset(Via, "transport")
cdef Py_ssize_t V_HOST = _offset(Via, "host")
cdef Py_ssize_t V_PORT = _offset(Via, "port")
cdef Py_ssize_t V_PARAMS = _offset(Via, "params")
cdef Py_ssize_t V_RAW = _offset(Via, "_raw")
cdef Py_ssize_t C_NUMBER = _offset(CSeq, "number")
cdef Py_ssize_t C_METHOD = _offset(CSeq, "method")
cdef Py_ssize_t R_HEADERS = _offset(Request, "headers")
cdef Py_ssize_t R_BODY = _offset(Request, "body")
assert R_BODY == _offset(Response, "body")
cdef Py_ssize_t R_METHOD = _offset(Request, "method")
cdef Py_ssize_t R_URI = _offset(Request, "uri")
cdef Py_ssize_t R_HEADERS_RESP = _offset(Response, "headers")
cdef Py_ssize_t R_BODY_RESP = _offset(Response, "body")
cdef Py_ssize_t R_STATUS = _offset(Response, "status")
cdef Py_ssize_t R_REASON = _offset(Response, "reason")
cdef Py_ssize_t H_ITEMS = _offset(Headers, "_items")
cdef Py_ssize_t H_CACHE = _offset(Headers, "_cache")
cdef Py_ssize_t H_WIRE = _offset(Headers, "_wire")
for _cls in (SipURI, Address, Via, CSeq, Request, Response, Headers):
    _plain(_cls)

cdef dict _NAMES = {}
cdef dict _COMPACT = COMPACT
cdef Py_ssize_t _NAMES_MAX = 1024

# In front of _NAMES: a small open table keyed by the written name's octets, so a name
# seen before is found without making a str of it. Entries are never replaced; a miss
# or a clash takes the dict path, which gives the same tuple.
cdef enum:
    NAME_SLOTS = 128
    NAME_MAX_LEN = 31

cdef struct NameSlot:
    Py_ssize_t length
    unsigned char text[NAME_MAX_LEN]
    PyObject* known

cdef NameSlot _NAME_SLOTS[NAME_SLOTS]
cdef list _NAME_KEEP = []  # owns the tuples the slots point to


cdef inline unsigned int _name_hash(const unsigned char* s, Py_ssize_t n) noexcept:
    cdef unsigned int h = 2166136261u
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ s[i]) * 16777619u
    return h & (NAME_SLOTS - 1)


cdef inline PyObject* _name_find(const unsigned char* s, Py_ssize_t n) noexcept:
    cdef NameSlot* slot
    cdef Py_ssize_t i
    if n > NAME_MAX_LEN:
        return NULL
    slot = &_NAME_SLOTS[_name_hash(s, n)]
    if slot.known == NULL or slot.length != n:
        return NULL
    for i in range(n):
        if slot.text[i] != s[i]:
            return NULL
    return slot.known


cdef inline void _name_keep(const unsigned char* s, Py_ssize_t n, tuple known):
    cdef NameSlot* slot
    cdef Py_ssize_t i
    if n > NAME_MAX_LEN:
        return
    slot = &_NAME_SLOTS[_name_hash(s, n)]
    if slot.known != NULL:
        return
    _NAME_KEEP.append(known)
    slot.length = n
    for i in range(n):
        slot.text[i] = s[i]
    slot.known = <PyObject*>known
cdef object _EMPTY = ()


# Short tokens that recur in every body (attribute names, "IN", "IP4", "audio",
# "RTP/AVP" …) are shared instead of made anew: the same table as the header names,
# holding str objects. Strings are immutable, so sharing is invisible but for speed.
cdef NameSlot _TOKEN_SLOTS[NAME_SLOTS]
cdef list _TOKEN_KEEP = []


cdef str _tok(str s, const unsigned char* p, Py_ssize_t a, Py_ssize_t b):
    cdef Py_ssize_t n = b - a
    cdef Py_ssize_t i
    cdef NameSlot* slot
    if n > 12 or n < 2:
        return PyUnicode_Substring(s, a, b)
    slot = &_TOKEN_SLOTS[_name_hash(p + a, n)]
    if slot.known != NULL and slot.length == n:
        for i in range(n):
            if slot.text[i] != p[a + i]:
                break
        else:
            return <str>slot.known
    text = PyUnicode_Substring(s, a, b)
    if slot.known == NULL:
        _TOKEN_KEEP.append(text)
        slot.length = n
        for i in range(n):
            slot.text[i] = p[a + i]
        slot.known = <PyObject*>text
    return text


# Port numbers recur (5060 …); above 256 CPython makes a new int each time, so a
# small direct-mapped table keeps the first int seen in each slot.
cdef enum:
    PORT_SLOTS = 64

cdef PyObject* _PORTS[PORT_SLOTS]
cdef long _PORT_VALUES[PORT_SLOTS]
cdef list _PORT_KEEP = []


cdef object _port(long v):
    cdef int slot = v & (PORT_SLOTS - 1)
    if _PORTS[slot] != NULL and _PORT_VALUES[slot] == v:
        return <object>_PORTS[slot]
    cdef object port = v
    if v > 256 and _PORTS[slot] == NULL:
        _PORT_KEEP.append(port)
        _PORT_VALUES[slot] = v
        _PORTS[slot] = <PyObject*>port
    return port


cdef enum:
    MAX_PAIRS = 24  # more parameters than this: the reference parser builds them


cdef tuple _pairs(str text, const unsigned char* s, int k, Py_ssize_t* at):
    """``((name, value), …)`` from ``at`` = name start, name end, value start (-1: no
    value), value end, for each of ``k`` parameters."""
    cdef tuple out = PyTuple_New(k)
    cdef int i
    for i in range(k):
        name = _tok(text, s, at[4 * i], at[4 * i + 1])
        value = None if at[4 * i + 2] < 0 else PyUnicode_Substring(text, at[4 * i + 2], at[4 * i + 3])
        pair = (name, value)
        Py_INCREF(pair)
        PyTuple_SET_ITEM(out, i, pair)
    return out


# -- scanning helpers ---------------------------------------------------------------
cdef inline Py_ssize_t _run(const unsigned char* s, Py_ssize_t i, Py_ssize_t n,
                            unsigned char flag, bint esc) noexcept:
    """Index past the longest run of ``flag`` characters (``%XX`` escapes if ``esc``)."""
    while i < n:
        if CLS[s[i]] & flag:
            i += 1
        elif esc and s[i] == 37 and i + 2 < n + 0 and (CLS[s[i + 1]] & C_HEX) and (CLS[s[i + 2]] & C_HEX):
            i += 3
        else:
            break
    return i


cdef inline Py_ssize_t _ws(const unsigned char* s, Py_ssize_t i, Py_ssize_t n) noexcept:
    while i < n and (s[i] == 32 or s[i] == 9):
        i += 1
    return i


cdef inline Py_ssize_t _ipv6(const unsigned char* s, Py_ssize_t i, Py_ssize_t n) noexcept:
    """``s[i] == '['``: index past ``[hex:.]+]``, or -1."""
    cdef Py_ssize_t j = i + 1
    while j < n and ((CLS[s[j]] & C_HEX) or s[j] == 58 or s[j] == 46):
        j += 1
    if j == i + 1 or j >= n or s[j] != 93:
        return -1
    return j + 1


cdef inline str _strip(str text):
    """``text.strip(" \\t")`` for ASCII text."""
    cdef const unsigned char* s = PyUnicode_1BYTE_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef Py_ssize_t a = 0
    cdef Py_ssize_t b = n
    while a < b and (s[a] == 32 or s[a] == 9):
        a += 1
    while b > a and (s[b - 1] == 32 or s[b - 1] == 9):
        b -= 1
    if a == 0 and b == n:
        return text
    return PyUnicode_Substring(text, a, b)


# -- URI --------------------------------------------------------------------------------
cdef object _uri(str text):
    """``parse_uri(text)``; sip/sips in C, everything else by the reference."""
    if not PyUnicode_IS_ASCII(text):
        return parse_uri(text)
    cdef const unsigned char* s = PyUnicode_1BYTE_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef Py_ssize_t p, at, i, j, k, e, v0
    cdef long port_n
    cdef str scheme
    cdef Py_ssize_t pairs[4 * MAX_PAIRS]
    cdef int np
    if n >= 4 and (s[0] | 32) == 115 and (s[1] | 32) == 105 and (s[2] | 32) == 112:
        if s[3] == 58:
            scheme = "sip"
            p = 4
        elif n >= 5 and (s[3] | 32) == 115 and s[4] == 58:
            scheme = "sips"
            p = 5
        else:
            return parse_uri(text)
    else:
        return parse_uri(text)
    user = None
    password = None
    at = -1
    for i in range(p, n):
        if s[i] == 64:
            at = i
            break
    if at >= 0:
        i = _run(s, p, at, C_USER, True)
        if i == p:
            return parse_uri(text)
        user = PyUnicode_Substring(text, p, i)
        if i < at and s[i] == 58:
            j = _run(s, i + 1, at, C_PASS, True)
            if j != at:
                return parse_uri(text)
            password = PyUnicode_Substring(text, i + 1, at)
        elif i != at:
            return parse_uri(text)
        p = at + 1
    # host
    if p < n and s[p] == 91:
        j = _ipv6(s, p, n)
        if j < 0:
            return parse_uri(text)
    else:
        j = _run(s, p, n, C_HOST, False)
        if j == p or s[p] == 45 or s[p] == 46 or (j - p > 1 and s[j - 1] == 45):
            return parse_uri(text)
    host = _tok(text, s, p, j)
    p = j
    port = None
    if p < n and s[p] == 58:
        j = p + 1
        while j < n and (CLS[s[j]] & C_DIGIT):
            j += 1
        if j == p + 1 or j - p - 1 > 5:
            return parse_uri(text)
        port_n = 0
        for k in range(p + 1, j):
            port_n = port_n * 10 + (s[k] - 48)
        if port_n > 65535:
            return parse_uri(text)
        port = _port(port_n)
        p = j
    params = _EMPTY
    if p < n and s[p] == 59:
        np = 0
        while p < n and s[p] == 59:
            k = p + 1
            e = _run(s, k, n, C_PCHAR, True)
            if e == k or np == MAX_PAIRS:
                return parse_uri(text)
            pairs[4 * np] = k
            pairs[4 * np + 1] = e
            pairs[4 * np + 2] = -1
            if e < n and s[e] == 61:
                v0 = e + 1
                e = _run(s, v0, n, C_PCHAR, True)
                pairs[4 * np + 2] = v0
                pairs[4 * np + 3] = e
            np += 1
            p = e
        params = _pairs(text, s, np, pairs)
    headers = _EMPTY
    if p < n and s[p] == 63:
        hlist = []
        while True:
            k = p + 1
            e = _run(s, k, n, C_HCHAR, True)
            if e == k:
                return parse_uri(text)
            name = PyUnicode_Substring(text, k, e)
            value = None
            if e < n and s[e] == 61:
                v0 = e + 1
                e = _run(s, v0, n, C_HCHAR, True)
                value = PyUnicode_Substring(text, v0, e)
            hlist.append((name, value))
            p = e
            if not (p < n and s[p] == 38):
                break
        headers = tuple(hlist)
    if p != n:
        return parse_uri(text)
    uri = _new(SipURI)
    _put(uri, U_SCHEME, scheme)
    _put(uri, U_USER, user)
    _put(uri, U_PASSWORD, password)
    _put(uri, U_HOST, host)
    _put(uri, U_PORT, port)
    _put(uri, U_PARAMS, params)
    _put(uri, U_HEADERS, headers)
    _put(uri, U_RAW, text)
    return uri


# -- header parameters --------------------------------------------------------------------
cdef object _params(str text, Py_ssize_t pos, Py_ssize_t n, str where):
    """``parse_params(text[pos:n], where)`` (``text`` is ASCII)."""
    cdef const unsigned char* s = PyUnicode_1BYTE_DATA(text)
    cdef Py_ssize_t i, j, k, e
    cdef Py_ssize_t at[4 * MAX_PAIRS]
    cdef int np = 0
    cdef unsigned char c
    cdef Py_ssize_t p0 = pos
    if pos >= n:
        return _EMPTY
    for i in range(pos, n):  # all white space (str.isspace): the reference says why
        c = s[i]
        if not (c == 32 or 9 <= c <= 13 or 28 <= c <= 31):
            break
    else:
        return parse_params(PyUnicode_Substring(text, p0, n), where)
    while pos < n:
        i = _ws(s, pos, n)
        if i >= n or s[i] != 59 or np == MAX_PAIRS:
            return parse_params(PyUnicode_Substring(text, p0, n), where)
        i = _ws(s, i + 1, n)
        e = _run(s, i, n, C_TOKEN, False)
        if e == i:
            return parse_params(PyUnicode_Substring(text, p0, n), where)
        at[4 * np] = i
        at[4 * np + 1] = e
        at[4 * np + 2] = -1
        i = e
        j = _ws(s, e, n)
        if j < n and s[j] == 61:
            j = _ws(s, j + 1, n)
            k = -1
            if j < n:
                if CLS[s[j]] & C_TOKEN:
                    k = _run(s, j, n, C_TOKEN, False)
                elif s[j] == 34:
                    e = j + 1
                    while e < n:
                        if s[e] == 92:
                            if e + 1 >= n:
                                break
                            e += 2
                        elif s[e] == 34:
                            k = e + 1
                            break
                        else:
                            e += 1
                elif s[j] == 91:
                    k = _ipv6(s, j, n)
            if k < 0:
                return parse_params(PyUnicode_Substring(text, p0, n), where)
            at[4 * np + 2] = j
            at[4 * np + 3] = k
            i = k
        np += 1
        pos = _ws(s, i, n)
    return _pairs(text, s, np, at)


# -- name-addr / addr-spec --------------------------------------------------------------------
cdef object _address(str value, str where):
    """``Address.parse(value, where)``."""
    if not PyUnicode_IS_ASCII(value):
        return Address.parse(value, where)
    cdef str text = _strip(value)
    cdef const unsigned char* s = PyUnicode_1BYTE_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef Py_ssize_t i, lt = -1, gt, end = -1, a, b, semi, pstart
    display = None
    if n and s[0] == 34:
        i = 1
        while i < n:
            if s[i] == 92:
                i += 2
                continue
            if s[i] == 34:
                end = i + 1
                break
            i += 1
        if end < 0:
            return Address.parse(value, where)
        display = PyUnicode_Substring(text, 0, end)
        lt = _ws(s, end, n)
        if lt >= n or s[lt] != 60:
            return Address.parse(value, where)
    else:
        for i in range(n):
            if s[i] == 60:
                lt = i
                break
        if lt > 0:
            a = 0
            b = lt
            while a < b and (s[a] == 32 or s[a] == 9):
                a += 1
            while b > a and (s[b - 1] == 32 or s[b - 1] == 9):
                b -= 1
            if a < b:
                for i in range(a, b):
                    if not (CLS[s[i]] & C_TOKEN or s[i] == 32 or s[i] == 9):
                        return Address.parse(value, where)
                display = PyUnicode_Substring(text, a, b)
    if lt >= 0:
        gt = -1
        for i in range(lt, n):
            if s[i] == 62:
                gt = i
                break
        if gt < 0:
            return Address.parse(value, where)
        a = _ws(s, lt + 1, gt)
        b = gt
        while b > a and (s[b - 1] == 32 or s[b - 1] == 9):
            b -= 1
        uri_text = PyUnicode_Substring(text, a, b)
        pstart = gt + 1
    else:
        semi = n
        for i in range(n):
            if s[i] == 59:
                semi = i
                break
        b = semi
        while b > 0 and (s[b - 1] == 32 or s[b - 1] == 9):
            b -= 1
        for i in range(b):
            if s[i] == 63 or s[i] == 44 or s[i] == 32 or s[i] == 9:
                return Address.parse(value, where)
        uri_text = PyUnicode_Substring(text, 0, b) if b != n else text
        pstart = semi
    uri = _uri(uri_text)
    params = _params(text, pstart, n, where)
    addr = _new(Address)
    _put(addr, A_URI, uri)
    _put(addr, A_DISPLAY, display)
    _put(addr, A_PARAMS, params)
    _put(addr, A_RAW, value)
    return addr


# -- Via --------------------------------------------------------------------------------------
cdef object _via(str value):
    """``Via.parse(value)``."""
    if not PyUnicode_IS_ASCII(value):
        return Via.parse(value)
    cdef str text = _strip(value)
    cdef const unsigned char* s = PyUnicode_1BYTE_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef Py_ssize_t i, j, t0, t1, h0, h1
    cdef long port_n
    if n < 3 or (s[0] | 32) != 115 or (s[1] | 32) != 105 or (s[2] | 32) != 112:
        return Via.parse(value)
    i = _ws(s, 3, n)
    if i >= n or s[i] != 47:
        return Via.parse(value)
    i = _ws(s, i + 1, n)
    # version must be exactly 2.0 (anything else: the reference says why)
    if not (i + 3 <= n and s[i] == 50 and s[i + 1] == 46 and s[i + 2] == 48):
        return Via.parse(value)
    i = _ws(s, i + 3, n)
    if i >= n or s[i] != 47:
        return Via.parse(value)
    t0 = _ws(s, i + 1, n)
    t1 = _run(s, t0, n, C_TOKEN, False)
    if t1 == t0:
        return Via.parse(value)
    h0 = _ws(s, t1, n)
    if h0 == t1 or h0 >= n:
        return Via.parse(value)
    if s[h0] == 91:
        h1 = _ipv6(s, h0, n)
        if h1 < 0:
            return Via.parse(value)
    else:
        h1 = _run(s, h0, n, C_HOST, False)
        if h1 == h0:
            return Via.parse(value)
    i = h1
    port = None
    j = _ws(s, i, n)
    if j < n and s[j] == 58:
        j = _ws(s, j + 1, n)
        t1_digits = j
        port_n = 0
        while j < n and j - t1_digits < 5 and (CLS[s[j]] & C_DIGIT):
            port_n = port_n * 10 + (s[j] - 48)
            j += 1
        if j > t1_digits:
            if port_n > 65535:
                return Via.parse(value)
            port = _port(port_n)
            i = j
    params = _params(text, i, n, "Via")
    for j in range(t0, t1):
        if 97 <= s[j] <= 122:
            transport = PyUnicode_Substring(text, t0, t1).upper()
            break
    else:
        transport = _tok(text, s, t0, t1)
    via = _new(Via)
    _put(via, V_TRANSPORT, transport)
    _put(via, V_HOST, _tok(text, s, h0, h1))
    _put(via, V_PORT, port)
    _put(via, V_PARAMS, params)
    _put(via, V_RAW, value)
    return via


# -- CSeq -------------------------------------------------------------------------------------
cdef object _cseq(str value):
    if not PyUnicode_IS_ASCII(value):
        return CSeq.parse(value)
    cdef str text = _strip(value)
    cdef const unsigned char* s = PyUnicode_1BYTE_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef Py_ssize_t i = 0, m
    cdef unsigned long long number = 0
    while i < n and (CLS[s[i]] & C_DIGIT):
        number = number * 10 + (s[i] - 48)
        i += 1
        if i > 10:
            return CSeq.parse(value)
    m = _ws(s, i, n)
    if i == 0 or m == i or m >= n or _run(s, m, n, C_TOKEN, False) != n or number > 4294967295ULL:
        return CSeq.parse(value)
    cseq = _new(CSeq)
    _put(cseq, C_NUMBER, number)
    _put(cseq, C_METHOD, _tok(text, s, m, n))
    return cseq


# -- header block -------------------------------------------------------------------------------
# the headers _validate reads, by slot in the ``found`` list
cdef enum:
    K_VIA = 0
    K_FROM = 1
    K_TO = 2
    K_CALLID = 3
    K_CSEQ = 4
    K_MAXF = 5
    K_EXPIRES = 6
    K_CONTACT = 7
    K_CL = 8
    K_COUNT = 9

cdef dict _KCODE = {
    "via": K_VIA, "from": K_FROM, "to": K_TO, "call-id": K_CALLID, "cseq": K_CSEQ,
    "max-forwards": K_MAXF, "expires": K_EXPIRES, "contact": K_CONTACT, "content-length": K_CL,
}
assert set(_KCODE) == set(_py._WANTED)


cdef struct Found:
    # per header of interest (K_*): how many lines, the first and the last line's index
    Py_ssize_t count[K_COUNT]
    Py_ssize_t first[K_COUNT]
    Py_ssize_t last[K_COUNT]


cdef inline void _found(Found* f, int code, Py_ssize_t index) noexcept:
    if code >= 0:
        if f.count[code] == 0:
            f.first[code] = index
        f.last[code] = index
        f.count[code] += 1


cdef int _header_line(list items, str line, Found* f) except -1:
    """One ASCII header line: appended to ``items`` (or folded into the last one)."""
    cdef const unsigned char* s = PyUnicode_1BYTE_DATA(line)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(line), colon, b, a, last
    cdef tuple known
    cdef PyObject* hit
    if n and (s[0] == 32 or s[0] == 9):
        if not items:
            raise SipParseError("Continuation line before any header")
        last = len(items) - 1
        key, name, value, raw = <tuple>items[last]
        items[last] = (
            key,
            name,
            (value + " " + _strip(line)).strip(" \t"),
            raw + "\r\n" + line,
        )
        return 0
    colon = -1
    for a in range(n):
        if s[a] == 58:
            colon = a
            break
    if colon < 0:
        raise SipParseError("Header line without a colon")
    hit = _name_find(s, colon)
    if hit != NULL:
        known = <tuple>hit
    else:
        written = PyUnicode_Substring(line, 0, colon)
        known = _NAMES.get(written)
        if known is not None:
            _name_keep(s, colon, known)
    if known is None:
        b = colon
        while b > 0 and (s[b - 1] == 32 or s[b - 1] == 9):
            b -= 1
        if b == 0 or _run(s, 0, b, C_TOKEN, False) != b:
            raise SipParseError("Bad header name")
        name = PyUnicode_Substring(line, 0, b)
        low = name.lower()
        key = _COMPACT.get(low, low)
        known = (key, name, _KCODE.get(key, -1))
        if len(_NAMES) < _NAMES_MAX:
            _NAMES[written] = known
            _name_keep(s, colon, known)
    a = _ws(s, colon + 1, n)
    b = n
    while b > a and (s[b - 1] == 32 or s[b - 1] == 9):
        b -= 1
    _found(f, <int>known[2], len(items))
    items.append((known[0], known[1], PyUnicode_Substring(line, a, b), line))
    return 0


cdef list _scan_lines(list lines, Found* f):
    """The header lines of a head that is not all ASCII (rare): ``None`` as soon as a
    line is not ASCII, for the twin to scan."""
    cdef list items = []
    cdef Py_ssize_t i
    for i in range(1, len(lines)):
        if not PyUnicode_IS_ASCII(lines[i]):
            return None
        _header_line(items, lines[i], f)
    return items


cdef list _values(list items, Found* f, int code):
    """Every value of the header ``code``, one per line (``None`` when absent)."""
    cdef Py_ssize_t i, n = f.count[code]
    if n == 0:
        return None
    cdef tuple item = <tuple>items[f.first[code]]
    if n == 1:
        return [item[2]]
    key = item[0]
    out = []
    for i in range(f.first[code], f.last[code] + 1):
        item = <tuple>items[i]
        if item[0] == key:
            out.append(item[2])
    return out


cdef inline str _value(list items, Found* f, int code):
    """The first value of the header ``code`` (which is present)."""
    return (<tuple>items[f.first[code]])[2]


cdef object _start_line(str first, bint is_request, object headers):
    cdef Py_ssize_t n
    cdef const unsigned char* s
    cdef long code
    cdef Py_ssize_t sp1, sp2, i
    if is_request and PyUnicode_IS_ASCII(first):
        # "METHOD uri SIP/2.0": exactly two spaces, a token method, a URI
        s = PyUnicode_1BYTE_DATA(first)
        n = PyUnicode_GET_LENGTH(first)
        sp1 = _run(s, 0, n, C_TOKEN, False)
        sp2 = -1
        if 0 < sp1 < n and s[sp1] == 32:
            for i in range(sp1 + 1, n):
                if s[i] == 32:
                    sp2 = i
                    break
        if (
            sp2 > sp1 + 1
            and n - sp2 == 8
            and s[sp2 + 1] == 83 and s[sp2 + 2] == 73 and s[sp2 + 3] == 80 and s[sp2 + 4] == 47
            and s[sp2 + 5] == 50 and s[sp2 + 6] == 46 and s[sp2 + 7] == 48
        ):
            method = _tok(first, s, 0, sp1)
            uri_text = PyUnicode_Substring(first, sp1 + 1, sp2)
            try:
                uri = _uri(uri_text)
            except SipParseError:
                raise SipParseError("Bad Request-URI") from None
            if type(uri) is SipURI and not uri.headers:
                req = _new(Request)
                _put(req, R_HEADERS, headers)
                _put(req, R_BODY, b"")
                _put(req, R_METHOD, method)
                _put(req, R_URI, uri)
                return req
    elif not is_request and PyUnicode_IS_ASCII(first):
        # "SIP/2.0 ddd reason": the reason is everything after the second space
        s = PyUnicode_1BYTE_DATA(first)
        n = PyUnicode_GET_LENGTH(first)
        if (n >= 11 and (n == 11 or s[11] == 32) and s[0] == 83 and s[1] == 73 and s[2] == 80
                and s[3] == 47 and s[4] == 50 and s[5] == 46 and s[6] == 48 and s[7] == 32):
            if (CLS[s[8]] & C_DIGIT) and (CLS[s[9]] & C_DIGIT) and (CLS[s[10]] & C_DIGIT):
                code = (s[8] - 48) * 100 + (s[9] - 48) * 10 + (s[10] - 48)
                if 100 <= code <= 699:
                    resp = _new(Response)
                    _put(resp, R_HEADERS_RESP, headers)
                    _put(resp, R_BODY_RESP, b"")
                    _put(resp, R_STATUS, code)
                    _put(resp, R_REASON, PyUnicode_Substring(first, 12, n) if n > 11 else "")
                    return resp
    # faults and the unusual: the twin (same rules, same errors)
    return _py._start_line(first, is_request, headers)


cdef object _frame_body(list items, Found* f, bytes body, bint stream):
    cdef str text
    cdef const unsigned char* s
    cdef Py_ssize_t n, i
    cdef long long length = 0
    if f.count[K_CL] == 1:
        text = _value(items, f, K_CL)
        if PyUnicode_IS_ASCII(text):
            s = PyUnicode_1BYTE_DATA(text)
            n = PyUnicode_GET_LENGTH(text)
            if 0 < n <= 10:
                for i in range(n):
                    if not (CLS[s[i]] & C_DIGIT):
                        break
                    length = length * 10 + (s[i] - 48)
                else:
                    if length == len(body):
                        return body
                    if length < len(body) and not stream:
                        return body[:length]
    return _py._frame_body(_values(items, f, K_CL), body, stream)


cdef inline list _list_values(list values):
    cdef list out = []
    for v in values:
        if "," in v:
            break
    else:
        return values  # nothing to split (the common case)
    for v in values:
        if "," in v:
            out.extend(_py.split_commas(v))
        else:
            out.append(v)
    return out




cdef object _uint(str value, str name, unsigned long long maximum):
    """``_py._uint``: a header holding one unsigned decimal number."""
    cdef const unsigned char* s
    cdef Py_ssize_t n, i
    cdef unsigned long long number = 0
    if PyUnicode_IS_ASCII(value):
        s = PyUnicode_1BYTE_DATA(value)
        n = PyUnicode_GET_LENGTH(value)
        if 0 < n <= 10:
            for i in range(n):
                if not (CLS[s[i]] & C_DIGIT):
                    break
                number = number * 10 + (s[i] - 48)
            else:
                if number <= maximum:
                    return number
    return _py._uint(value, name, maximum)


cdef object _branch(tuple params):
    """``Via.branch``: the first ``branch`` parameter, ``""`` for a bare flag."""
    cdef str name
    for p in params:
        name = (<tuple>p)[0]
        if PyUnicode_GET_LENGTH(name) == 6 and name.lower() == "branch":
            value = (<tuple>p)[1]
            return "" if value is None else value
    return None


cdef _validate(object msg, list items, Found* f, dict cache, bint is_request):
    if f.count[K_CALLID] > 1:
        raise SipParseError("Duplicate Call-ID header")
    if f.count[K_CSEQ] > 1:
        raise SipParseError("Duplicate CSeq header")
    if f.count[K_FROM] > 1:
        raise SipParseError("Duplicate From header")
    if f.count[K_TO] > 1:
        raise SipParseError("Duplicate To header")
    if f.count[K_MAXF] > 1:
        raise SipParseError("Duplicate Max-Forwards header")
    if f.count[K_VIA] == 0:
        raise SipParseError("Missing Via header")
    if f.count[K_FROM] == 0:
        raise SipParseError("Missing From header")
    if f.count[K_TO] == 0:
        raise SipParseError("Missing To header")
    if f.count[K_CALLID] == 0:
        raise SipParseError("Missing Call-ID header")
    if f.count[K_CSEQ] == 0:
        raise SipParseError("Missing CSeq header")
    call_id = _value(items, f, K_CALLID)
    if not call_id or " " in call_id or "\t" in call_id:
        raise SipParseError("Bad Call-ID")
    cseq = _cseq(_value(items, f, K_CSEQ))
    cache["cseq"] = cseq
    if is_request:
        if cseq.method != msg.method:
            raise SipParseError("CSeq method does not match the Request-Line")
        if cseq.number > 2147483647:
            raise SipParseError("Bad CSeq: number too large")
        if f.count[K_MAXF]:
            _uint(_value(items, f, K_MAXF), "Max-Forwards", 255)
        if f.count[K_EXPIRES]:
            _uint(_value(items, f, K_EXPIRES), "Expires", 4294967295)
        contacts = []
        if f.count[K_CONTACT]:
            values = _list_values(_values(items, f, K_CONTACT))
            if values != ["*"]:
                contacts = [_address(v, "Contact") for v in values]
        cache["contact"] = contacts
    vias = [_via(v) for v in _list_values(_values(items, f, K_VIA))]
    cache["via"] = vias
    for via in vias:
        branch = _branch(via.params)
        if branch is not None and (branch == MAGIC_COOKIE or not branch):
            raise SipParseError("Bad Via branch")
    cache["from"] = _address(_value(items, f, K_FROM), "From")
    cache["to"] = _address(_value(items, f, K_TO), "To")


cdef inline Py_ssize_t _blank_line(const unsigned char* raw, Py_ssize_t i, Py_ssize_t n) noexcept:
    """Index of the first CRLFCRLF at or after ``i``, or -1 (``bytes.find``)."""
    cdef const unsigned char* hit
    while i + 3 < n:
        hit = <const unsigned char*>memchr(raw + i, 13, n - 3 - i)
        if hit == NULL:
            return -1
        i = hit - raw
        if raw[i + 1] == 10 and raw[i + 2] == 13 and raw[i + 3] == 10:
            return i
        i += 1
    return -1


def parse_message(data, stream=False, max_size=65535):
    """Parse and validate one SIP message (see :func:`callcore.sip.message.parse_message`)."""
    if type(data) is not bytes:  # bytearray, memoryview …: rare, the twin takes them
        return _py.parse_message(data, stream, max_size)
    cdef Py_ssize_t start = 0, end, size = len(<bytes>data), a, j, n, eol
    cdef const unsigned char* raw = <bytes>data
    cdef const unsigned char* h
    cdef const unsigned char* hit
    cdef list items
    cdef dict cache
    cdef str head, first, line
    cdef Found f
    cdef bint is_request
    memset(&f, 0, sizeof(Found))
    if size > max_size:
        raise _py._fail("Message Too Large", 513, None, True)
    while start + 1 < size and raw[start] == 13 and raw[start + 1] == 10:
        start += 2
    end = _blank_line(raw, start, size)
    if end < 0:  # all head: trailing CR/LF octets dropped
        body = b""
        end = size
        while end > start and (raw[end - 1] == 13 or raw[end - 1] == 10):
            end -= 1
        wire = data[start:end] + b"\r\n\r\n"
    else:
        body = data[end + 4 :]
        wire = data[start:end + 4]
    is_request = not (end - start >= 4 and raw[start] == 83 and raw[start + 1] == 73
                      and raw[start + 2] == 80 and raw[start + 3] == 47)  # "SIP/"
    head = PyUnicode_DecodeUTF8(<const char*>raw + start, end - start, "surrogateescape")
    try:
        if PyUnicode_IS_ASCII(head):
            # the lines of head.split("\r\n"), made one at a time
            h = PyUnicode_1BYTE_DATA(head)
            n = PyUnicode_GET_LENGTH(head)
            items = []
            first = None
            a = 0
            while True:
                eol = -1
                j = a
                while j < n:  # the next CRLF
                    hit = <const unsigned char*>memchr(h + j, 13, n - j)
                    if hit == NULL:
                        break
                    j = hit - h
                    if j + 1 < n and h[j + 1] == 10:
                        eol = j
                        break
                    j += 1
                if eol >= 0:
                    line = PyUnicode_Substring(head, a, eol)
                else:
                    line = PyUnicode_Substring(head, a, n) if a else head
                if first is None:
                    first = line
                else:
                    _header_line(items, line, &f)
                if eol < 0:
                    break
                a = eol + 2
        else:
            lines = head.split("\r\n")
            first = lines[0]
            items = _scan_lines(lines, &f)
            if items is None:  # a non-ASCII line: the twin scans (same rules)
                items = _py._scan_headers(lines)
                memset(&f, 0, sizeof(Found))
                for a in range(len(items)):
                    _found(&f, _KCODE.get((<tuple>items[a])[0], -1), a)
    except SipParseError as e:
        raise _py._fail(e.reason, 400, None, is_request) from None
    headers = _new(Headers)
    cache = {}
    _put(headers, H_ITEMS, items)
    _put(headers, H_CACHE, cache)
    _put(headers, H_WIRE, None)
    try:
        msg = _start_line(first, is_request, headers)
        _set(msg, R_BODY, _frame_body(items, &f, body, stream))
        _validate(msg, items, &f, cache, is_request)
    except SipParseError as e:
        raise _py._fail(e.reason, e.status, headers, is_request, e.extra_headers) from None
    # serialize() sends these octets back while the headers and start line are unchanged
    _set(headers, H_WIRE, (first, wire))
    return msg


# -- the scanners, exposed for differential tests (the twin exposes the reference parsers) --
def scan_uri(str text):
    """``parse_uri(text)``."""
    return _uri(text)


def scan_via(str value):
    """``Via.parse(value)``."""
    return _via(value)


def scan_address(str value, str where="address"):
    """``Address.parse(value, where)``."""
    return _address(value, where)


def scan_cseq(str value):
    """``CSeq.parse(value)``."""
    return _cseq(value)


def scan_params(str text, str where):
    """``parse_params(text, where)``."""
    if not PyUnicode_IS_ASCII(text):
        return parse_params(text, where)
    return _params(text, 0, PyUnicode_GET_LENGTH(text), where)



# -- SDP (RFC 4566) -------------------------------------------------------------------------
# scan_sdp returns exactly what SessionDescription.parse_reference returns. One C pass
# over the body handles what phones send (ASCII, no control characters but CR/LF, plain
# decimal numbers, dotted-quad IPv4) and fills the dataclasses' slots directly; on
# anything else (a fault, IPv6, "+5" where int() would also take it …) it hands the
# whole body to the reference, which returns the object or raises the exact SdpError.
cdef Py_ssize_t SA_NAME = _offset(Attribute, "name")
cdef Py_ssize_t SA_VALUE = _offset(Attribute, "value")
cdef Py_ssize_t SC_ADDRESS = _offset(Connection, "address")
cdef Py_ssize_t SC_ADDRTYPE = _offset(Connection, "addrtype")
cdef Py_ssize_t SC_NETTYPE = _offset(Connection, "nettype")
cdef Py_ssize_t SC_SUFFIX = _offset(Connection, "suffix")
cdef Py_ssize_t SO_USERNAME = _offset(Origin, "username")
cdef Py_ssize_t SO_SESSION_ID = _offset(Origin, "session_id")
cdef Py_ssize_t SO_VERSION = _offset(Origin, "version")
cdef Py_ssize_t SO_NETTYPE = _offset(Origin, "nettype")
cdef Py_ssize_t SO_ADDRTYPE = _offset(Origin, "addrtype")
cdef Py_ssize_t SO_ADDRESS = _offset(Origin, "address")
cdef Py_ssize_t ST_START = _offset(Timing, "start")
cdef Py_ssize_t ST_STOP = _offset(Timing, "stop")
cdef Py_ssize_t ST_REPEATS = _offset(Timing, "repeats")
cdef Py_ssize_t SM_MEDIA = _offset(MediaDescription, "media")
cdef Py_ssize_t SM_PORT = _offset(MediaDescription, "port")
cdef Py_ssize_t SM_PROTO = _offset(MediaDescription, "proto")
cdef Py_ssize_t SM_FORMATS = _offset(MediaDescription, "formats")
cdef Py_ssize_t SM_PORT_COUNT = _offset(MediaDescription, "port_count")
cdef Py_ssize_t SM_TITLE = _offset(MediaDescription, "title")
cdef Py_ssize_t SM_CONNECTION = _offset(MediaDescription, "connection")
cdef Py_ssize_t SM_BANDWIDTHS = _offset(MediaDescription, "bandwidths")
cdef Py_ssize_t SM_KEY = _offset(MediaDescription, "key")
cdef Py_ssize_t SM_ATTRIBUTES = _offset(MediaDescription, "attributes")
cdef Py_ssize_t SM_EXTRA = _offset(MediaDescription, "extra")
cdef Py_ssize_t SS_ORIGIN = _offset(SessionDescription, "origin")
cdef Py_ssize_t SS_NAME = _offset(SessionDescription, "name")
cdef Py_ssize_t SS_VERSION = _offset(SessionDescription, "version")
cdef Py_ssize_t SS_INFO = _offset(SessionDescription, "info")
cdef Py_ssize_t SS_URI = _offset(SessionDescription, "uri")
cdef Py_ssize_t SS_EMAILS = _offset(SessionDescription, "emails")
cdef Py_ssize_t SS_PHONES = _offset(SessionDescription, "phones")
cdef Py_ssize_t SS_CONNECTION = _offset(SessionDescription, "connection")
cdef Py_ssize_t SS_BANDWIDTHS = _offset(SessionDescription, "bandwidths")
cdef Py_ssize_t SS_TIMING = _offset(SessionDescription, "timing")
cdef Py_ssize_t SS_ZONE = _offset(SessionDescription, "zone")
cdef Py_ssize_t SS_KEY = _offset(SessionDescription, "key")
cdef Py_ssize_t SS_ATTRIBUTES = _offset(SessionDescription, "attributes")
cdef Py_ssize_t SS_MEDIA = _offset(SessionDescription, "media")
cdef Py_ssize_t SS_EXTRA = _offset(SessionDescription, "extra")


def _all_slots_filled(cls, n):  # a new dataclass field must be filled here too
    if len(cls.__slots__) != n:
        raise TypeError(f"_sipparse.scan_sdp fills {n} slots of {cls.__name__}, it has more")


_all_slots_filled(Attribute, 2)
_all_slots_filled(Connection, 4)
_all_slots_filled(Origin, 6)
_all_slots_filled(Timing, 3)
_all_slots_filled(MediaDescription, 11)
_all_slots_filled(SessionDescription, 15)
for _cls in (Attribute, Connection, Origin, Timing, MediaDescription, SessionDescription):
    _plain(_cls)


cdef inline str _sub(str s, Py_ssize_t a, Py_ssize_t b):
    return PyUnicode_Substring(s, a, b)


cdef int _fields(const unsigned char* p, Py_ssize_t a, Py_ssize_t b,
                 Py_ssize_t* st, Py_ssize_t* en, int most) noexcept:
    """``p[a:b].split(" ")`` without empties: bounds of the first ``most`` fields in
    ``st``/``en``; the count, or ``most + 1`` when there are more."""
    cdef int k = 0
    while True:
        while a < b and p[a] == 32:
            a += 1
        if a >= b:
            return k
        if k == most:
            return k + 1
        st[k] = a
        while a < b and p[a] != 32:
            a += 1
        en[k] = a
        k += 1


cdef inline bint _digits(const unsigned char* p, Py_ssize_t a, Py_ssize_t b) noexcept:
    """``p[a:b].isdigit()`` for ASCII."""
    if a >= b:
        return False
    while a < b:
        if p[a] < 48 or p[a] > 57:
            return False
        a += 1
    return True


cdef object _number(str s, const unsigned char* p, Py_ssize_t a, Py_ssize_t b):
    """``int(p[a:b])`` for a run of ASCII digits."""
    cdef long long v = 0
    if b - a > 18:
        return int(_sub(s, a, b))
    while a < b:
        v = v * 10 + (p[a] - 48)
        a += 1
    return v


cdef bint _is(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bytes word) noexcept:
    """``p[a:b].lower() == word`` (``word`` lower-case ASCII)."""
    cdef const unsigned char* w = word
    cdef Py_ssize_t n = len(word)
    cdef Py_ssize_t i
    cdef unsigned char c
    if b - a != n:
        return False
    for i in range(n):
        c = p[a + i]
        if 65 <= c <= 90:
            c += 32
        if c != w[i]:
            return False
    return True


cdef object _sdp_attribute(str s, const unsigned char* p, Py_ssize_t a, Py_ssize_t b):
    cdef Py_ssize_t colon = a, q, e0, e1, r, r2
    while colon < b and p[colon] != 58:
        colon += 1
    if colon == a:
        return None
    cdef bint sep = colon < b
    if _is(p, a, colon, b"rtpmap"):
        if not sep:
            return None
        q = colon + 1
        while q < b and p[q] != 32:
            q += 1
        if not _digits(p, colon + 1, q):
            return None
        e0 = q + 1 if q < b else b
        e1 = b
        while e0 < e1 and p[e0] == 32:
            e0 += 1
        while e1 > e0 and p[e1 - 1] == 32:
            e1 -= 1
        r = e0
        while r < e1 and p[r] != 47:
            r += 1
        if r == e0:
            return None
        if r < e1:
            r2 = r + 1
            while r2 < e1 and p[r2] != 47:
                r2 += 1
            if not _digits(p, r + 1, r2):
                return None
    elif _is(p, a, colon, b"ptime") or _is(p, a, colon, b"maxptime"):
        if not sep or not _digits(p, colon + 1, b):
            return None
    attr = _new(Attribute)
    _put(attr, SA_NAME, _tok(s, p, a, colon))
    _put(attr, SA_VALUE, _sub(s, colon + 1, b) if sep else None)
    return attr


cdef object _sdp_connection(str s, const unsigned char* p, Py_ssize_t a, Py_ssize_t b):
    cdef Py_ssize_t st[3]
    cdef Py_ssize_t en[3]
    cdef Py_ssize_t end, i, part, dots, v
    cdef bint ok
    if _fields(p, a, b, st, en, 3) != 3:
        return None
    suffix = ""
    if _is(p, st[1], en[1], b"ip4"):
        addrtype = "IP4"
        end = st[2]
        while end < en[2] and p[end] != 47:
            end += 1
        if end < en[2]:
            suffix = _sub(s, end, en[2])
        # a dotted quad of digits is checked as ipaddress.IPv4Address does
        dots = 0
        part = st[2]
        ok = True
        for i in range(st[2], end + 1):
            if i == end or p[i] == 46:
                if i == part:
                    ok = False  # an empty part: no dotted quad, not checked
                dots += i < end
                part = i + 1
            elif p[i] < 48 or p[i] > 57:
                ok = False
        if ok and dots == 3:
            part = st[2]
            for i in range(st[2], end + 1):
                if i == end or p[i] == 46:
                    if i - part > 3 or (i - part > 1 and p[part] == 48):
                        return None
                    v = 0
                    while part < i:
                        v = v * 10 + (p[part] - 48)
                        part += 1
                    if v > 255:
                        return None
                    part = i + 1
    elif _is(p, st[1], en[1], b"ip6"):
        return None
    else:
        end = en[2]
        addrtype = _sub(s, st[1], en[1]).upper()
    conn = _new(Connection)
    _put(conn, SC_ADDRESS, _sub(s, st[2], end))
    _put(conn, SC_ADDRTYPE, addrtype)
    _put(conn, SC_NETTYPE, _tok(s, p, st[0], en[0]))
    _put(conn, SC_SUFFIX, suffix)
    return conn


cdef object _sdp_media(str s, const unsigned char* p, Py_ssize_t a, Py_ssize_t b):
    cdef Py_ssize_t st[3]
    cdef Py_ssize_t en[3]
    cdef Py_ssize_t slash, i, j
    cdef long port = 0
    if _fields(p, a, b, st, en, 3) < 3:
        return None
    slash = st[1]
    while slash < en[1] and p[slash] != 47:
        slash += 1
    if not _digits(p, st[1], slash):
        return None
    for i in range(st[1], slash):
        port = port * 10 + (p[i] - 48)
        if port > 65535:
            return None
    count = None
    if slash + 1 < en[1]:
        if not _digits(p, slash + 1, en[1]):
            return None
        count = _number(s, p, slash + 1, en[1])
    formats = []
    i = en[2]
    while True:
        while i < b and p[i] == 32:
            i += 1
        if i >= b:
            break
        j = i
        while i < b and p[i] != 32:
            i += 1
        formats.append(_sub(s, j, i))
    m = _new(MediaDescription)
    _put(m, SM_MEDIA, _tok(s, p, st[0], en[0]))
    _put(m, SM_PORT, port)
    _put(m, SM_PROTO, _tok(s, p, st[2], en[2]))
    _put(m, SM_FORMATS, formats)
    _put(m, SM_PORT_COUNT, count)
    _put(m, SM_TITLE, None)
    _put(m, SM_CONNECTION, None)
    _put(m, SM_BANDWIDTHS, [])
    _put(m, SM_KEY, None)
    _put(m, SM_ATTRIBUTES, [])
    _put(m, SM_EXTRA, [])
    return m


cdef object _timing(object start, object stop):
    t = _new(Timing)
    _put(t, ST_START, start)
    _put(t, ST_STOP, stop)
    _put(t, ST_REPEATS, [])
    return t


cdef object _sdp(str s):
    cdef const unsigned char* p = PyUnicode_1BYTE_DATA(s)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s)
    cdef Py_ssize_t i = 0, a, b, v, j
    cdef Py_ssize_t st[6]
    cdef Py_ssize_t en[6]
    cdef unsigned char kind, c
    cdef bint first = True
    cdef list attrs, m_attrs, m_bw, m_extra
    cdef list emails = [], phones = [], bandwidths = [], timing = [], media = [], extra = []
    cdef list sd_attrs = []
    attrs = sd_attrs
    m = None
    origin = None
    name = "-"
    info = uri = connection = zone = key = None
    while i <= n:
        a = i
        while i < n:  # to the line end; a control character other than CR/LF: not ours
            c = p[i]
            if c < 32:
                if c == 13 or c == 10:
                    break
                return None
            i += 1
        b = i
        if i >= n:
            i = n + 1
        elif p[i] == 13 and i + 1 < n and p[i + 1] == 10:
            i += 2
        else:
            i += 1
        while b > a and p[b - 1] == 32:
            b -= 1
        if b == a:
            first = False
            continue
        kind = p[a]
        if b - a < 2 or p[a + 1] != 61 or not (65 <= kind <= 90 or 97 <= kind <= 122):
            return None
        if first:
            if kind != 118:
                return None
            first = False
        v = a + 2
        if kind == 97:  # a=
            attr = _sdp_attribute(s, p, v, b)
            if attr is None:
                return None
            attrs.append(attr)
        elif kind == 109:  # m=
            m = _sdp_media(s, p, v, b)
            if m is None:
                return None
            media.append(m)
            attrs = <list>_slot(m, SM_ATTRIBUTES)
            m_bw = <list>_slot(m, SM_BANDWIDTHS)
            m_extra = <list>_slot(m, SM_EXTRA)
        elif m is not None:
            if kind == 99:
                conn = _sdp_connection(s, p, v, b)
                if conn is None:
                    return None
                _set(m, SM_CONNECTION, conn)
            elif kind == 98:
                m_bw.append(_sub(s, v, b))
            elif kind == 105:
                _set(m, SM_TITLE, _sub(s, v, b))
            elif kind == 107:
                _set(m, SM_KEY, _sub(s, v, b))
            elif (kind == 118 or kind == 111 or kind == 115 or kind == 117 or kind == 101
                  or kind == 112 or kind == 122 or kind == 116):
                return None  # session-level lines inside a media section
            else:
                m_extra.append((chr(kind), _sub(s, v, b)))
        elif kind == 111:  # o=
            if (_fields(p, v, b, st, en, 6) != 6 or not _digits(p, st[1], en[1])
                    or not _digits(p, st[2], en[2])):
                return None
            origin = _new(Origin)
            _put(origin, SO_USERNAME, _sub(s, st[0], en[0]))
            _put(origin, SO_SESSION_ID, _number(s, p, st[1], en[1]))
            _put(origin, SO_VERSION, _number(s, p, st[2], en[2]))
            _put(origin, SO_NETTYPE, _tok(s, p, st[3], en[3]))
            _put(origin, SO_ADDRTYPE, _tok(s, p, st[4], en[4]))
            _put(origin, SO_ADDRESS, _sub(s, st[5], en[5]))
        elif kind == 99:  # c=
            connection = _sdp_connection(s, p, v, b)
            if connection is None:
                return None
        elif kind == 116:  # t=
            if (_fields(p, v, b, st, en, 2) != 2 or not _digits(p, st[0], en[0])
                    or not _digits(p, st[1], en[1])):
                return None
            timing.append(_timing(_number(s, p, st[0], en[0]), _number(s, p, st[1], en[1])))
        elif kind == 118:  # v=: "0" give or take spaces
            while v < b and p[v] == 32:
                v += 1
            if b - v != 1 or p[v] != 48:
                return None
        elif kind == 115:
            name = _sub(s, v, b)
        elif kind == 98:
            bandwidths.append(_sub(s, v, b))
        elif kind == 105:
            info = _sub(s, v, b)
        elif kind == 117:
            uri = _sub(s, v, b)
        elif kind == 101:
            emails.append(_sub(s, v, b))
        elif kind == 112:
            phones.append(_sub(s, v, b))
        elif kind == 114:  # r=
            if not timing:
                return None
            (<list>(timing[len(timing) - 1].repeats)).append(_sub(s, v, b))
        elif kind == 122:
            zone = _sub(s, v, b)
        elif kind == 107:
            key = _sub(s, v, b)
        else:
            extra.append((chr(kind), _sub(s, v, b)))
    if origin is None:
        return None
    if not timing:
        timing.append(_timing(0, 0))
    sd = _new(SessionDescription)
    _put(sd, SS_ORIGIN, origin)
    _put(sd, SS_NAME, name)
    _put(sd, SS_VERSION, 0)
    _put(sd, SS_INFO, info)
    _put(sd, SS_URI, uri)
    _put(sd, SS_EMAILS, emails)
    _put(sd, SS_PHONES, phones)
    _put(sd, SS_CONNECTION, connection)
    _put(sd, SS_BANDWIDTHS, bandwidths)
    _put(sd, SS_TIMING, timing)
    _put(sd, SS_ZONE, zone)
    _put(sd, SS_KEY, key)
    _put(sd, SS_ATTRIBUTES, sd_attrs)
    _put(sd, SS_MEDIA, media)
    _put(sd, SS_EXTRA, extra)
    return sd


def scan_sdp(text):
    """``SessionDescription.parse_reference(text)``, in one C pass on the bodies phones send."""
    cdef str s
    if type(text) is bytes:
        try:
            s = PyUnicode_DecodeUTF8(<const char*><bytes>text, len(<bytes>text), NULL)
        except UnicodeDecodeError:
            return SessionDescription.parse_reference(text)
    elif type(text) is str:
        s = <str>text
    else:
        return SessionDescription.parse_reference(text)
    if PyUnicode_IS_ASCII(s):
        sd = _sdp(s)
        if sd is not None:
            return sd
    return SessionDescription.parse_reference(text)
