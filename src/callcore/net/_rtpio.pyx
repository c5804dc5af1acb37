# cython: language_level=3
"""Batch RTP reading with relaying done as packets are read — compiled.

The same reader as the pure-Python twin ``_rtpio_py.py`` (read its docstrings
for the semantics), in C: one ``epoll_wait`` and non-blocking ``recvfrom`` calls
per batch, and the relay of an armed route — header rewrite, table transcoding,
``sendto`` — without a Python object per relayed packet. Linux only (epoll).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.errno cimport EAGAIN, EINTR, errno
from libc.stdlib cimport free, realloc
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy, memset
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec
from posix.unistd cimport close

from callcore.net import _rtpio_py as _py

__all__ = list(_py.__all__)
RouteState = _py.RouteState
MAX_PER_SOCKET = _py.MAX_PER_SOCKET

cdef extern from "<sys/epoll.h>" nogil:
    ctypedef union epoll_data_t:
        void *ptr
        int fd
        uint32_t u32
        unsigned long long u64
    struct epoll_event:
        uint32_t events
        epoll_data_t data
    enum: EPOLLIN
    enum: EPOLL_CTL_ADD
    enum: EPOLL_CTL_DEL
    enum: EPOLL_CLOEXEC
    int epoll_create1(int flags)
    int epoll_ctl(int epfd, int op, int fd, epoll_event *event)
    int epoll_wait(int epfd, epoll_event *events, int maxevents, int timeout)

cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void *iov_base
        size_t iov_len

cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    struct sockaddr:
        pass
    struct msghdr:
        void *msg_name
        socklen_t msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags
    struct cmsghdr:
        size_t cmsg_len
        int cmsg_level
        int cmsg_type
    cmsghdr *CMSG_FIRSTHDR(msghdr *m)
    cmsghdr *CMSG_NXTHDR(msghdr *m, cmsghdr *c)
    unsigned char *CMSG_DATA(cmsghdr *c)
    enum: SOL_SOCKET
    enum: SO_TIMESTAMPNS
    enum: SCM_TIMESTAMPNS
    int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
    ssize_t recvmsg(int fd, msghdr *msg, int flags)
    enum: MSG_DONTWAIT
    ssize_t recvfrom(int fd, void *buf, size_t n, int flags, sockaddr *addr, socklen_t *alen)
    ssize_t sendto(int fd, const void *buf, size_t n, int flags, const sockaddr *addr,
                   socklen_t alen)

cdef extern from "<netinet/in.h>" nogil:
    enum: AF_INET
    struct in_addr:
        uint32_t s_addr
    struct sockaddr_in:
        unsigned short sin_family
        uint16_t sin_port
        in_addr sin_addr
    uint16_t ntohs(uint16_t)
    uint16_t htons(uint16_t)

cdef extern from "<arpa/inet.h>" nogil:
    int inet_pton(int af, const char *src, void *dst)
    const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)

DEF MAX_EVENTS = 64
DEF BUF = 65536  # the largest UDP payload: nothing is ever truncated


cdef struct Route:
    int armed
    int out_fd
    sockaddr_in out_addr
    sockaddr_in expect
    int in_pt
    int out_pt
    uint32_t ssrc
    uint32_t out_ssrc
    uint16_t seq_off
    uint32_t ts_off
    uint16_t next_seq
    uint32_t next_ts
    long long packets
    long long octets
    uint32_t last_ts
    double last_time
    int newest
    int use_table
    uint8_t table[256]


cdef int _sockaddr(object addr, sockaddr_in *out) except -1:
    memset(out, 0, sizeof(sockaddr_in))
    out.sin_family = AF_INET
    out.sin_port = htons(<uint16_t>int(addr[1]))
    host = str(addr[0]).encode("ascii")
    if inet_pton(AF_INET, host, &out.sin_addr) != 1:
        raise ValueError(f"not an IPv4 address: {addr[0]!r}")
    return 0


cdef class RtpReader:
    cdef int _ep
    cdef dict _fds        # slot -> fd
    cdef dict _slots      # fd -> slot (for events)
    cdef dict _routes     # in slot -> index into _table
    cdef dict _addr       # slot -> (host, port) of the last source seen
    cdef dict _raw        # slot -> bytes(sockaddr_in) of that source
    cdef Route *_table
    cdef int _cap
    cdef list _free
    cdef int _next
    cdef public long long relayed
    cdef int _stamps
    cdef public list stamps
    cdef char _buf[BUF]
    cdef char _out[BUF]

    def __cinit__(self):
        self._ep = epoll_create1(EPOLL_CLOEXEC)
        if self._ep < 0:
            raise OSError(errno, "epoll_create1 failed")
        self._table = NULL
        self._cap = 0

    def __init__(self):
        self._fds, self._slots, self._routes = {}, {}, {}
        self._addr, self._raw = {}, {}
        self._free = []
        self._next = 0
        self.relayed = 0
        self._stamps = 0
        self.stamps = []

    def __dealloc__(self):
        if self._ep >= 0:
            close(self._ep)
        free(self._table)

    def fileno(self):
        return self._ep

    def enable_stamps(self):
        cdef int one = 1
        if not self._stamps:
            self._stamps = 1
            for fd in self._fds.values():
                setsockopt(<int>fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one))

    def close(self):
        if self._ep >= 0:
            close(self._ep)
            self._ep = -1
        self._fds.clear(); self._slots.clear(); self._routes.clear()

    def add(self, int fd):
        cdef epoll_event ev
        cdef int one = 1
        if self._stamps:
            setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one))
        slot = self._next
        self._next += 1
        memset(&ev, 0, sizeof(ev))
        ev.events = EPOLLIN
        ev.data.fd = fd
        if epoll_ctl(self._ep, EPOLL_CTL_ADD, fd, &ev) < 0:
            raise OSError(errno, "epoll_ctl(ADD) failed")
        self._fds[slot] = fd
        self._slots[fd] = slot
        return slot

    def remove(self, slot):
        fd = self._fds.pop(slot, None)
        self._drop_route(slot)
        if fd is not None:
            for src in [k for k, i in self._routes.items()
                        if self._table[<int>i].out_fd == <int>fd]:
                self._drop_route(src)
        self._addr.pop(slot, None)
        self._raw.pop(slot, None)
        if fd is not None:
            self._slots.pop(fd, None)
            epoll_ctl(self._ep, EPOLL_CTL_DEL, <int>fd, NULL)

    cdef _drop_route(self, slot):
        idx = self._routes.pop(slot, None)
        if idx is not None:
            self._table[<int>idx].armed = 0
            self._free.append(idx)

    cdef int _index(self) except -1:
        cdef Route *t
        cdef int new
        if not self._free:
            new = 64 if self._cap == 0 else 2 * self._cap
            t = <Route *>realloc(self._table, new * sizeof(Route))
            if t == NULL:
                raise MemoryError()
            memset(t + self._cap, 0, (new - self._cap) * sizeof(Route))
            self._table = t
            self._free.extend(range(new - 1, self._cap - 1, -1))
            self._cap = new
        return self._free.pop()

    def arm(self, in_slot, out_slot, out_addr, expect, int in_pt, int out_pt, ssrc, out_ssrc,
            seq_off, ts_off, next_seq, next_ts, table=None):
        if in_slot not in self._fds or out_slot not in self._fds:
            raise KeyError("arm() between slots that are not watched")
        if table is not None and len(table) != 256:
            raise ValueError("a transcoding table has 256 entries")
        self._drop_route(in_slot)
        cdef int idx = self._index()
        cdef Route *r = &self._table[idx]
        memset(r, 0, sizeof(Route))
        r.out_fd = self._fds[out_slot]
        _sockaddr(out_addr, &r.out_addr)
        _sockaddr(expect, &r.expect)
        r.in_pt, r.out_pt = in_pt, out_pt
        r.ssrc, r.out_ssrc = <uint32_t>ssrc, <uint32_t>out_ssrc
        r.seq_off = <uint16_t>(seq_off & 0xFFFF)
        r.ts_off = <uint32_t>(ts_off & 0xFFFFFFFF)
        r.next_seq = <uint16_t>(next_seq & 0xFFFF)
        r.next_ts = <uint32_t>(next_ts & 0xFFFFFFFF)
        if table is not None:
            r.use_table = 1
            memcpy(r.table, PyBytes_AS_STRING(bytes(table)), 256)
        r.armed = 1
        self._routes[in_slot] = idx

    def armed(self, in_slot):
        return in_slot in self._routes

    def sync(self, in_slot):
        idx = self._routes.get(in_slot)
        if idx is None:
            return None
        cdef Route *r = &self._table[<int>idx]
        out = (r.next_seq, r.next_ts, r.packets, r.octets, r.last_ts,
               r.last_time if r.newest else 0.0)
        r.packets = r.octets = 0
        r.newest = 0
        return out

    def disarm(self, in_slot):
        out = self.sync(in_slot)
        self._drop_route(in_slot)
        return out

    def poll(self):
        cdef epoll_event events[MAX_EVENTS]
        cdef int n = epoll_wait(self._ep, events, MAX_EVENTS, 0)
        cdef int i, k, fd
        cdef ssize_t got
        cdef sockaddr_in src
        cdef socklen_t alen
        cdef list out = []
        cdef list stamps = []
        cdef char host[64]
        cdef msghdr msg
        cdef iovec iov
        cdef char ctrl[64]
        cdef cmsghdr *c
        cdef timespec *when
        cdef double stamp = 0.0
        for i in range(n):
            fd = events[i].data.fd
            slot = self._slots.get(fd)
            if slot is None:
                continue
            idx = self._routes.get(slot)
            for k in range(MAX_PER_SOCKET):
                alen = sizeof(src)
                if self._stamps:
                    iov.iov_base = self._buf
                    iov.iov_len = BUF
                    memset(&msg, 0, sizeof(msg))
                    msg.msg_name = &src
                    msg.msg_namelen = sizeof(src)
                    msg.msg_iov = &iov
                    msg.msg_iovlen = 1
                    msg.msg_control = ctrl
                    msg.msg_controllen = sizeof(ctrl)
                    got = recvmsg(fd, &msg, MSG_DONTWAIT)
                    alen = msg.msg_namelen
                    stamp = 0.0
                    if got >= 0:
                        c = CMSG_FIRSTHDR(&msg)
                        while c != NULL:
                            if c.cmsg_level == SOL_SOCKET and c.cmsg_type == SCM_TIMESTAMPNS:
                                when = <timespec *>CMSG_DATA(c)
                                stamp = when.tv_sec + when.tv_nsec * 1e-9
                            c = CMSG_NXTHDR(&msg, c)
                else:
                    got = recvfrom(fd, self._buf, BUF, MSG_DONTWAIT, <sockaddr *>&src, &alen)
                if got < 0:
                    if errno == EAGAIN or errno == EINTR:
                        break
                    continue
                raw = self._raw.get(slot)
                if (raw is not None and alen == sizeof(sockaddr_in)
                        and (<sockaddr_in *>PyBytes_AS_STRING(raw)).sin_port == src.sin_port
                        and (<sockaddr_in *>PyBytes_AS_STRING(raw)).sin_addr.s_addr
                        == src.sin_addr.s_addr):
                    addr = self._addr[slot]
                else:
                    inet_ntop(AF_INET, &src.sin_addr, host, 64)
                    addr = ((<bytes>host).decode("ascii"), ntohs(src.sin_port))
                    self._addr[slot] = addr
                    self._raw[slot] = PyBytes_FromStringAndSize(<char *>&src, sizeof(src))
                relayed = False
                if idx is not None:
                    relayed = self._relay(&self._table[<int>idx], got, &src) == 1
                out.append((slot, PyBytes_FromStringAndSize(self._buf, got), addr, relayed))
                if self._stamps:
                    stamps.append(stamp)
        self.stamps = stamps
        return out

    cdef int _relay(self, Route *r, ssize_t n, sockaddr_in *src):
        cdef uint8_t *b = <uint8_t *>self._buf
        cdef uint8_t *o = <uint8_t *>self._out
        cdef uint16_t seq, out_seq
        cdef uint32_t ts, ssrc, out_ts, end
        cdef ssize_t i, plen
        cdef timespec now
        if not r.armed or n < 12 or b[0] != 0x80 or (b[1] & 0x7F) != r.in_pt:
            return 0
        ssrc = (<uint32_t>b[8] << 24) | (<uint32_t>b[9] << 16) | (<uint32_t>b[10] << 8) | b[11]
        if (ssrc != r.ssrc or src.sin_port != r.expect.sin_port
                or src.sin_addr.s_addr != r.expect.sin_addr.s_addr):
            return 0
        seq = <uint16_t>((b[2] << 8) | b[3])
        ts = (<uint32_t>b[4] << 24) | (<uint32_t>b[5] << 16) | (<uint32_t>b[6] << 8) | b[7]
        out_seq = <uint16_t>(seq + r.seq_off)
        out_ts = ts + r.ts_off
        plen = n - 12
        o[0] = 0x80
        o[1] = (b[1] & 0x80) | r.out_pt
        o[2] = out_seq >> 8; o[3] = out_seq & 0xFF
        o[4] = out_ts >> 24; o[5] = (out_ts >> 16) & 0xFF; o[6] = (out_ts >> 8) & 0xFF
        o[7] = out_ts & 0xFF
        o[8] = r.out_ssrc >> 24; o[9] = (r.out_ssrc >> 16) & 0xFF
        o[10] = (r.out_ssrc >> 8) & 0xFF; o[11] = r.out_ssrc & 0xFF
        if r.use_table:
            for i in range(plen):
                o[12 + i] = r.table[b[12 + i]]
        else:
            memcpy(o + 12, b + 12, plen)
        if sendto(r.out_fd, o, n, MSG_DONTWAIT, <sockaddr *>&r.out_addr, sizeof(sockaddr_in)) < 0:
            if errno != EAGAIN and errno != EINTR:
                return 0
        self.relayed += 1
        r.packets += 1
        r.octets += plen
        if <uint16_t>(out_seq - r.next_seq) < 0x8000:
            r.next_seq = <uint16_t>(out_seq + 1)
            clock_gettime(CLOCK_REALTIME, &now)
            r.last_ts = out_ts
            r.last_time = now.tv_sec + now.tv_nsec * 1e-9
            r.newest = 1
        end = out_ts + <uint32_t>plen
        if <uint32_t>(end - r.next_ts) < 0x80000000U:
            r.next_ts = end
        return 1
