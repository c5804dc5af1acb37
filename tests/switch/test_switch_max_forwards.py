"""Max-Forwards through the B2BUA (RFC 3261 §8.2.2, §16.3, §16.6).

callcore terminates every request locally except an INVITE its application
forwards: ``examples/b2bua.py`` places the outbound leg with the inbound
Max-Forwards minus one, so an INVITE arriving with 0 is refused with 483 and
nothing goes out. OPTIONS (and everything else answered locally) is processed
whatever its Max-Forwards, as a UAS does (§11, RFC 4475 §3.3.11).
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
from pathlib import Path

import pytest

from callcore import App, Endpoint
from callcore.sip.message import Request, Response, parse_message
from callcore.sip.transaction import Peer
from callcore.switch.call import Call

ROOT = Path(__file__).resolve().parents[2]
_seq = itertools.count(1)


def _load_b2bua_example() -> App:
    spec = importlib.util.spec_from_file_location("_b2bua_example", ROOT / "examples" / "b2bua.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.app


class _Client(asyncio.DatagramProtocol):
    """A bare SIP UA on a UDP socket: sends raw requests, reads final answers."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[Response] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        msg = parse_message(data)
        if isinstance(msg, Response):
            self.inbox.put_nowait(msg)

    async def ask(self, method: str, max_forwards: int | None) -> Response:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        n = next(_seq)
        lines = [
            f"{method} sip:4711@127.0.0.1 SIP/2.0",
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bKmf{n};rport",
            f"From: <sip:caller@{host}>;tag=mf{n}",
            "To: <sip:4711@127.0.0.1>",
            f"Call-ID: mf-{n}@{host}",
            f"CSeq: 1 {method}",
            f"Contact: <sip:caller@{host}:{port}>",
        ]
        if max_forwards is not None:
            lines.append(f"Max-Forwards: {max_forwards}")
        wire = ("\r\n".join([*lines, "Content-Length: 0"]) + "\r\n\r\n").encode()
        self.transport.sendto(wire)
        while True:
            resp = await asyncio.wait_for(self.inbox.get(), 10)
            if resp.call_id == f"mf-{n}@{host}" and resp.status >= 200:
                break
        if method == "INVITE":  # ACK the non-2xx final so the server stops resending it
            ack = wire.decode().split("\r\n")[:5]
            ack[0] = "ACK sip:4711@127.0.0.1 SIP/2.0"
            ack[4] = f"To: {resp.headers.get('to')}"
            self.transport.sendto(
                ("\r\n".join([*ack, "CSeq: 1 ACK", "Content-Length: 0"]) + "\r\n\r\n").encode()
            )
        return resp


def test_b2bua_decrements_max_forwards_and_refuses_zero_with_483(arun, monkeypatch):
    seen: list[int | None] = []
    far_app = App()

    @far_app.route("_!", public=True)
    async def far_end(call: Call) -> None:
        seen.append(call.invite.max_forwards)
        await call.reject(486)

    async def main() -> list[tuple[str, int | None, int, str]]:
        far = Endpoint(far_app)
        await far.start(["udp:127.0.0.1:0"])
        monkeypatch.setenv("CALLCORE_B2BUA_TARGET", f"127.0.0.1:{far.local_address('udp')[1]}")
        switch = Endpoint(_load_b2bua_example())
        await switch.start(["udp:127.0.0.1:0"])
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(
            _Client, remote_addr=switch.local_address("udp")
        )
        out = []
        try:
            for method, mf in [
                ("INVITE", 5),
                ("INVITE", 0),
                ("OPTIONS", 0),
                ("INVITE", 1),
                ("INVITE", None),  # RFC 2543 style: no Max-Forwards at all
                ("OPTIONS", 70),
            ]:
                resp = await client.ask(method, mf)
                out.append((method, mf, resp.status, resp.reason))
        finally:
            transport.close()
            await switch.stop()
            await far.stop()
        return out

    assert arun(main()) == [
        ("INVITE", 5, 486, "Busy Here"),  # forwarded with 4; the far end's answer relayed
        ("INVITE", 0, 483, "Too Many Hops"),  # not forwarded
        ("OPTIONS", 0, 200, "OK"),  # answered locally, as a UAS may (§11)
        ("INVITE", 1, 486, "Busy Here"),  # forwarded with 0: the far end is a UAS, it serves
        ("INVITE", None, 486, "Busy Here"),  # forwarded with 70 - 1
        ("OPTIONS", 70, 200, "OK"),  # and the server is still there
    ]
    assert seen == [4, 0, 69]


def test_dial_with_no_hops_left_answers_483_without_sending(arun):
    async def main():
        ep = Endpoint(App())  # not even listening: nothing may be sent
        res = await ep.dial("sip:4711@192.0.2.1", max_forwards=-1)
        with pytest.raises(ValueError):
            await ep.dial("sip:4711@192.0.2.1", max_forwards=256)
        return res, ep.stats.calls_out

    res, calls_out = arun(main())
    assert (res.outcome, res.status, res.reason, res.call) == (
        "rejected",
        483,
        "Too Many Hops",
        None,
    )
    assert calls_out == 0


@pytest.mark.parametrize(
    ("header", "onward"),
    [("Max-Forwards: 70", 69), ("Max-Forwards: 1", 0), ("Max-Forwards: 0", -1), (None, 69)],
)
def test_onward_max_forwards_of_an_inbound_call(arun, header, onward):
    lines = [
        "INVITE sip:4711@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKow",
        "From: <sip:a@127.0.0.1>;tag=1",
        "To: <sip:4711@127.0.0.1>",
        "Call-ID: ow@127.0.0.1",
        "CSeq: 1 INVITE",
        *([header] if header else []),
        "Content-Length: 0",
    ]
    invite = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(invite, Request)

    async def main() -> int:
        call = Call(Endpoint(App()), "inbound", invite, Peer("udp", "127.0.0.1", 5070), "t")
        return call.onward_max_forwards

    assert arun(main()) == onward
