"""Every RFC 4475 torture message against a running endpoint: the manifest's answer,
and the server keeps answering OPTIONS afterwards."""

from __future__ import annotations

import asyncio
import csv
import socket

from callcore import App, Endpoint

PARSE_ERRORS = {400, 416, 420, 505, 513}

# name -> the status we must answer (None: no answer at all, it was a response)
EXPECTED = {
    "intmeth": 501, "esc02": 501, "badinv01": 400, "clerr": 400, "ncl": 400, "scalar02": 400,
    "quotbal": 400, "ltgtruri": 400, "lwsruri": 400, "lwsstart": 400, "trws": 400, "escruri": 400,
    "regbadct": 400, "baddn": 400, "badvers": 505, "mismatch01": 400, "mismatch02": 400,
    "badbranch": 400, "insuf": 400, "unkscm": 416, "novelsc": 416, "unksm2": 400, "bext01": 420,
    "invut": 415, "multi01": 400, "mcl01": 400, "sdp01": 406, "zeromf": 200, "cparam01": 200,
    "cparam02": 200, "regescrt": 200, "dblreq": 200, "regaut01": 200,
    "unreason": None, "noreason": None, "scalarlg": None, "bigcode": None, "bcast": None,
}  # fmt: skip


def _answers(sock: socket.socket, wait: float = 0.2) -> list[int]:
    out = []
    sock.settimeout(wait)
    while True:
        try:
            data = sock.recv(65535)
        except TimeoutError:
            return out
        # the answer echoes the request's (possibly broken) Via/From/To: read the status line only
        out.append(int(data.split(b" ", 2)[1]))


def test_rfc4475_corpus_against_endpoint(shared_dir, arun):
    with open(shared_dir / "sip-torture" / "MANIFEST.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    app = App()

    @app.route("_!", public=True)
    async def answer(call):
        await call.answer()
        await call.wait_hangup()

    async def main() -> dict[str, list[int]]:
        ep = Endpoint(app, open_registration=True)
        await ep.start(["udp:127.0.0.1:0"])
        port = ep.local_address("udp")[1]
        loop = asyncio.get_running_loop()
        got: dict[str, list[int]] = {}
        for row in rows:  # a socket each, so retransmitted answers can't be mixed up
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("127.0.0.1", port))
                s.send((shared_dir / "sip-torture" / f"{row['name']}.dat").read_bytes())
                answers = await loop.run_in_executor(None, _answers, s)
                got[row["name"]] = [a for a in answers if a >= 200]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.connect(("127.0.0.1", port))
            probe = (
                f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{s.getsockname()[1]};branch=z9hG4bKprobe\r\n"
                "From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: probe\r\n"
                "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            s.send(probe.encode())
            got["<options after>"] = await loop.run_in_executor(None, _answers, s)
        await ep.stop()
        return got

    got = arun(main())
    assert got.pop("<options after>") == [200]
    for row in rows:
        name = row["name"]
        statuses = got[name]
        if name in EXPECTED:
            want = EXPECTED[name]
            assert statuses == ([] if want is None else [want]), (name, statuses)
        else:  # valid messages: processed, never a parse-class error
            assert statuses and statuses[0] not in PARSE_ERRORS, (name, statuses)
