"""``callcore demo``: a SIP server on loopback answering calls from a built-in caller.

Everything runs in one process on 127.0.0.1 with ports chosen by the OS:
the server runs ``examples/answer.py``-style routing (a public number that
answers, a private extension that needs digest authentication, an unknown
number), and a built-in caller (callcore's own UAC) places calls to each and
prints what happened; then the bank contact-center hotline (examples/bank_hotline.py)
runs against a simulated crowd of callers and agents, printing live queue statistics.
"""

from __future__ import annotations

import asyncio
import time

import click

from callcore import App, Endpoint


def build_app() -> App:
    app = App("demo")
    app.add_account("1001", "alice", "wonderland")

    @app.route("_4XXX", public=True)
    async def hotline(call):
        await call.ring()
        await asyncio.sleep(0.2)
        await call.answer()
        await call.wait_hangup()

    @app.route("1001")
    async def alice_desk(call):
        await call.answer()
        await call.wait_hangup()

    return app


async def run_demo(calls: int = 20) -> dict[str, int]:
    server = Endpoint(build_app())
    await server.start(["udp:127.0.0.1:0", "tcp:127.0.0.1:0"])
    udp_port = server.local_address("udp")[1]
    tcp_port = server.local_address("tcp")[1]
    click.echo(f"server: listening on udp:127.0.0.1:{udp_port} and tcp:127.0.0.1:{tcp_port}")
    caller = Endpoint(App("caller"))
    await caller.start(["udp:127.0.0.1:0", "tcp:127.0.0.1:0"])
    outcomes: dict[str, int] = {}

    async def place(target: str, label: str, **kw) -> None:
        t0 = time.perf_counter()
        res = await caller.dial(target, timeout=5, **kw)
        ms = (time.perf_counter() - t0) * 1000
        if res.answered:
            await asyncio.sleep(0.05)
            hup = await res.call.hangup()
            line = f"answered in {ms:.0f} ms, hung up ({hup.cause})"
        else:
            line = f"{res.outcome} ({res.status} {res.reason})"
        outcomes[res.outcome] = outcomes.get(res.outcome, 0) + 1
        click.echo(f"caller: {label:<44} -> {line}")

    await place(f"sip:4001@127.0.0.1:{udp_port}", "hotline 4001 over UDP")
    await place(f"sip:4002@127.0.0.1:{tcp_port};transport=tcp", "hotline 4002 over TCP")
    await place(f"sip:1001@127.0.0.1:{udp_port}", "extension 1001 without credentials")
    await place(
        f"sip:1001@127.0.0.1:{udp_port}",
        "extension 1001 as alice (digest)",
        credentials=("alice", "wonderland"),
    )
    await place(f"sip:999@127.0.0.1:{udp_port}", "unknown number 999")
    t0 = time.perf_counter()
    await asyncio.gather(
        *(
            place(f"sip:{4100 + i}@127.0.0.1:{udp_port}", f"burst call {i + 1}/{calls}")
            for i in range(calls)
        )
    )
    elapsed = time.perf_counter() - t0
    await caller.stop()
    await server.stop()
    s = server.stats
    click.echo(
        f"summary: {sum(outcomes.values())} calls placed, outcomes {outcomes}; burst of {calls} in {elapsed:.2f} s; "
        f"server saw {s.received} messages, {s.calls_in} calls, answered errors {dict(s.answered_errors)}"
    )
    return outcomes


@click.command()
@click.option("--calls", default=20, show_default=True, help="Calls in the concurrent SIP burst.")
@click.option(
    "--bank-seconds",
    default=30.0,
    show_default=True,
    help="Length of the bank hotline part (0 skips it).",
)
@click.option(
    "--agents", default=8, show_default=True, help="Simulated agents in the bank hotline part."
)
@click.option(
    "--collections/--no-collections",
    default=True,
    show_default=True,
    help="Run the outbound collections campaign beside the hotline.",
)
def demo(calls: int, bank_seconds: float, agents: int, collections: bool) -> None:
    """Run the loopback demo: SIP basics with a built-in caller, then the bank hotline
    (IVR, queues, agents) against a simulated crowd of callers and agents, with the
    outbound collections campaign (reminders, predictive agent calls) beside it."""
    from callcore.serve_cli import install_uvloop

    install_uvloop()
    click.echo("== part 1: SIP server and a built-in caller ==")
    asyncio.run(run_demo(calls))
    if bank_seconds > 0:
        from callcore.center.demo_bank import run_bank_demo

        alongside = None
        title = f"== part 2: bank hotline, {agents} agents, {bank_seconds:.0f} s of callers"
        if collections:
            from callcore.outbound.demo_collections import run_collections_alongside

            def alongside(center, echo):
                return run_collections_alongside(center, echo, seconds=bank_seconds * 0.8)

            title += ", collections campaign beside it"
        click.echo(title + " ==")
        summary = asyncio.run(
            run_bank_demo(bank_seconds, agents=agents, echo=click.echo, alongside=alongside)
        )
        if summary.lost:
            raise SystemExit(f"demo lost {summary.lost} call(s)")
