"""G.711 on both fast-path implementations, bit-exact against audioop over all inputs."""

import audioop

import pytest

ALL_PCM = b"".join(i.to_bytes(2, "little", signed=True) for i in range(-32768, 32768))
ALL_CODES = bytes(range(256))


def test_ulaw_encode_all_inputs(fastpath):
    assert fastpath.ulaw_encode(ALL_PCM) == audioop.lin2ulaw(ALL_PCM, 2)


def test_alaw_encode_all_inputs(fastpath):
    assert fastpath.alaw_encode(ALL_PCM) == audioop.lin2alaw(ALL_PCM, 2)


def test_decode_all_codes(fastpath):
    assert fastpath.ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert fastpath.alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_reference_anchors(fastpath):
    # ../shared/REFERENCE.md: G.191 anchors
    dec = lambda f, c: int.from_bytes(f(bytes([c])), "little", signed=True)  # noqa: E731
    assert (
        dec(fastpath.ulaw_decode, 0x00),
        dec(fastpath.ulaw_decode, 0x80),
        dec(fastpath.ulaw_decode, 0xFF),
    ) == (-32124, 32124, 0)
    assert (
        dec(fastpath.alaw_decode, 0x55),
        dec(fastpath.alaw_decode, 0xD5),
        dec(fastpath.alaw_decode, 0xAA),
    ) == (-8, 8, 32256)
    assert (
        fastpath.ulaw_encode(b"\x00\x00") == b"\xff"
        and fastpath.alaw_encode(b"\x00\x00") == b"\xd5"
    )


def test_transcoding_equals_decode_then_encode(fastpath):
    assert fastpath.ulaw_to_alaw(ALL_CODES) == audioop.lin2alaw(audioop.ulaw2lin(ALL_CODES, 2), 2)
    assert fastpath.alaw_to_ulaw(ALL_CODES) == audioop.lin2ulaw(audioop.alaw2lin(ALL_CODES, 2), 2)


def test_buffer_inputs_and_odd_length(fastpath):
    pcm = ALL_PCM[:320]
    assert (
        fastpath.ulaw_encode(memoryview(pcm))
        == fastpath.ulaw_encode(bytearray(pcm))
        == audioop.lin2ulaw(pcm, 2)
    )
    assert fastpath.ulaw_encode(b"") == b"" and fastpath.ulaw_decode(b"") == b""
    with pytest.raises(ValueError):
        fastpath.alaw_encode(b"\x00\x01\x02")
