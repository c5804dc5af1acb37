"""RTP port pool: even ports for RTP, the next odd port for RTCP.

Ports are handed out round-robin across the range so a just-released port is
not reused at once (late packets of the old call would land in the new one).
``in_use`` counts allocated pairs; a non-zero value after every call ended is
a leak.
"""

from __future__ import annotations

__all__ = ["PortPool", "PortPoolExhausted"]


class PortPoolExhausted(RuntimeError):
    """No free RTP port pair is left in the pool."""


class PortPool:
    """Even RTP ports in ``[start, end]`` (RTCP on port + 1, which must also fit)."""

    def __init__(self, start: int = 10000, end: int = 20000) -> None:
        first = start + (start & 1)
        if first <= 0 or end > 65535:
            raise ValueError("ports must be in 1..65535")
        if first + 1 > end:
            raise ValueError(f"range {start}-{end} holds no RTP/RTCP pair")
        self.start = first
        self.end = end
        self._ports = range(first, end, 2)  # p + 1 <= end for every p
        self._used: set[int] = set()
        self._cursor = 0

    @property
    def capacity(self) -> int:
        """Number of RTP/RTCP pairs in the range."""
        return len(self._ports)

    @property
    def in_use(self) -> int:
        """Number of pairs currently allocated."""
        return len(self._used)

    def __contains__(self, port: object) -> bool:
        return port in self._used

    def allocate(self) -> int:
        """Reserve a pair; return the (even) RTP port."""
        n = len(self._ports)
        if len(self._used) >= n:
            raise PortPoolExhausted(f"all {n} RTP port pairs in {self.start}-{self.end} are in use")
        for _ in range(n):
            port = self._ports[self._cursor]
            self._cursor = (self._cursor + 1) % n
            if port not in self._used:
                self._used.add(port)
                return port
        raise PortPoolExhausted("no free RTP port pair")  # pragma: no cover

    def release(self, port: int) -> None:
        """Give a pair back; releasing a port that is not allocated is an error."""
        try:
            self._used.remove(port)
        except KeyError:
            raise ValueError(f"RTP port {port} is not allocated from this pool") from None
