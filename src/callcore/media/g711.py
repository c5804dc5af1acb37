"""G.711 codecs (PCMU, PCMA) as small codec objects and a registry.

The conversions run in the fast path (:mod:`callcore.fastpath`); they are
bit-exact with ITU-T G.191 and the standard library's ``audioop``. PCM is
16-bit signed little-endian mono at 8 kHz.

>>> PCMU.decode(PCMU.encode(b"\\x00\\x00"))
b'\\x00\\x00'
>>> by_payload_type(8) is PCMA
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcore.fastpath import impl as _fp

__all__ = [
    "PCMA",
    "PCMU",
    "Codec",
    "by_name",
    "by_payload_type",
    "codecs",
    "register",
    "transcode",
]


@dataclass(frozen=True, slots=True)
class Codec:
    """An audio codec: RTP payload type, SDP name, clock rate and converters.

    ``encode`` takes 16-bit PCM and returns the payload; ``decode`` does the
    reverse. ``frame_bytes(ms)`` gives the payload size of ``ms`` of audio.
    """

    name: str
    payload_type: int
    clock_rate: int
    encode: Callable[[bytes], bytes]
    decode: Callable[[bytes], bytes]
    #: payload bytes per sample (1 for G.711)
    bytes_per_sample: int = 1
    channels: int = 1

    @property
    def rtpmap(self) -> str:
        """The SDP ``a=rtpmap`` value, e.g. ``"PCMU/8000"``."""
        return f"{self.name}/{self.clock_rate}"

    def frame_bytes(self, ms: int = 20) -> int:
        """Payload bytes for ``ms`` milliseconds of audio."""
        return self.clock_rate * ms // 1000 * self.bytes_per_sample * self.channels


#: G.711 mu-law (North America, Japan), static payload type 0.
PCMU = Codec("PCMU", 0, 8000, _fp.ulaw_encode, _fp.ulaw_decode)
#: G.711 A-law (Europe, China and most of the world), static payload type 8.
PCMA = Codec("PCMA", 8, 8000, _fp.alaw_encode, _fp.alaw_decode)

_BY_NAME: dict[str, Codec] = {}
_BY_PT: dict[int, Codec] = {}


def register(codec: Codec, *, replace: bool = False) -> Codec:
    """Add ``codec`` to the registry (names are case-insensitive).

    Raises ``ValueError`` if its name or static payload type (< 96) is taken,
    unless ``replace`` is true. Dynamic payload types (96–127) are negotiated
    per call in SDP, so they are not indexed.
    """
    key = codec.name.upper()
    if not replace:
        if key in _BY_NAME:
            raise ValueError(f"codec {codec.name!r} already registered")
        if codec.payload_type < 96 and codec.payload_type in _BY_PT:
            raise ValueError(f"payload type {codec.payload_type} already registered")
    _BY_NAME[key] = codec
    if codec.payload_type < 96:
        _BY_PT[codec.payload_type] = codec
    return codec


def by_name(name: str) -> Codec:
    """The codec called ``name`` (``"pcmu"``, ``"PCMA"``, ``"PCMU/8000"``…); ``KeyError`` if unknown."""
    key = name.split("/", 1)[0].strip().upper()
    try:
        return _BY_NAME[key]
    except KeyError:
        raise KeyError(f"unknown codec {name!r}") from None


def by_payload_type(payload_type: int) -> Codec:
    """The codec with static RTP payload type ``payload_type``; ``KeyError`` if unknown."""
    try:
        return _BY_PT[payload_type]
    except KeyError:
        raise KeyError(f"no codec with static payload type {payload_type}") from None


def codecs() -> tuple[Codec, ...]:
    """Every registered codec, in registration order."""
    return tuple(_BY_NAME.values())


_TRANSCODE: dict[tuple[str, str], Callable[[bytes], bytes]] = {
    ("PCMU", "PCMA"): _fp.ulaw_to_alaw,
    ("PCMA", "PCMU"): _fp.alaw_to_ulaw,
}


def transcode(payload: bytes, src: Codec, dst: Codec) -> bytes:
    """Convert a payload from ``src`` to ``dst`` (one table lookup between G.711 laws)."""
    if src.name == dst.name:
        return bytes(payload)
    direct = _TRANSCODE.get((src.name, dst.name))
    if direct is not None:
        return direct(payload)
    return dst.encode(src.decode(payload))


register(PCMU)
register(PCMA)
