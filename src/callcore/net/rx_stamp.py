"""Kernel receive times of UDP datagrams (Linux ``SIOCGSTAMPNS``).

How long a packet waited inside callcore — in the socket's queue while the event
loop was busy, then in our own code — is the time from the kernel's receive
timestamp of the datagram to the moment we hand on what we made of it. The event
loop does not pass the timestamp along, but the ``SIOCGSTAMPNS`` ioctl returns the
one of the last datagram read from a socket, which, inside ``datagram_received``,
is the datagram being handled. The first call on a socket turns timestamping on
and finds none (that datagram came before), so it returns ``None``; so does any
system without the ioctl.
"""

from __future__ import annotations

import fcntl
import struct

__all__ = ["last_receive_time"]

SIOCGSTAMPNS = 0x8907  # linux/sockios.h (SIOCGSTAMPNS_OLD: struct timespec of the ABI)
_TIMESPEC = struct.Struct("@qq")
_BUFFER = bytes(_TIMESPEC.size)


def last_receive_time(fd: int) -> float | None:
    """Unix time at which the kernel received the last datagram read from ``fd``."""
    try:
        sec, nsec = _TIMESPEC.unpack(fcntl.ioctl(fd, SIOCGSTAMPNS, _BUFFER))
    except OSError:
        return None
    return sec + nsec * 1e-9
