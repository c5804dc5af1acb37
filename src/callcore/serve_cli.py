"""``callcore serve APP``: run an application on SIP listeners."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import signal
import ssl
import sys
from pathlib import Path

import click

from callcore.net.sip_transport import Listen
from callcore.switch.app import App
from callcore.switch.location import AccountBook

DEFAULT_LISTENS = ("udp:127.0.0.1:5060", "tcp:127.0.0.1:5060")


def load_app(ref: str) -> App:
    """Load an :class:`App` from ``path/to/file.py`` or ``package.module:attr``.

    For a file (or a module without ``:attr``) the attribute named ``app`` is
    used, else the only :class:`App` instance defined at module level.
    """
    attr: str | None = None
    if ref.endswith(".py") or Path(ref).is_file():
        path = Path(ref).resolve()
        if not path.is_file():
            raise click.BadParameter(f"no such file: {ref}")
        spec = importlib.util.spec_from_file_location(f"callcore_app_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    else:
        name, _, attr = ref.partition(":")
        module = importlib.import_module(name)
    if attr:
        app = getattr(module, attr, None)
    else:
        app = getattr(module, "app", None)
        if not isinstance(app, App):
            apps = [v for v in vars(module).values() if isinstance(v, App)]
            app = apps[0] if len(apps) == 1 else None
    if not isinstance(app, App):
        raise click.BadParameter(
            f"{ref} defines no callcore.App (name it 'app' or use module:attr)"
        )
    return app


def tune_gc() -> None:
    """Keep the cyclic GC off the media clock's back: objects alive after start-up
    are frozen out of collection, and young-generation collections run less often
    (call objects are short-lived and mostly freed by reference counting)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def install_uvloop() -> bool:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


@click.command()
@click.argument("app_ref", metavar="APP")
@click.option(
    "--sip", "listens", multiple=True, metavar="TRANSPORT:HOST:PORT",
    help="Listen address, repeatable: udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT "
    "(default udp and tcp on 127.0.0.1:5060).",
)  # fmt: skip
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="EXT:USER:PASSWORD",
    help="Declare a SIP account (repeatable).",
)
@click.option(
    "--accounts-file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML or YAML file of accounts.",
)
@click.option(
    "--open-registration",
    is_flag=True,
    help="Accept REGISTER without authentication (test rigs only).",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM certificate for tls: listeners.",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM private key for tls: listeners.",
)
@click.option(
    "--domain",
    default=None,
    help="SIP domain of the registrar (default: the first listener's host).",
)
@click.option("--no-uvloop", is_flag=True, help="Use the stock asyncio event loop.")
@click.option("--quiet", is_flag=True, help="Do not print a line per call.")
def serve(
    app_ref,
    listens,
    accounts,
    accounts_file,
    open_registration,
    tls_cert,
    tls_key,
    domain,
    no_uvloop,
    quiet,
):
    """Run the callcore application APP (a .py file or module:attr)."""
    app = load_app(app_ref)
    book = AccountBook.load(accounts_file) if accounts_file else AccountBook()
    book_strings = AccountBook.from_strings(accounts) if accounts else AccountBook()
    for account in [*book, *book_strings]:
        app.accounts.add(account)
    specs = [Listen.parse(s) for s in (listens or DEFAULT_LISTENS)]
    server_ssl = None
    if any(s.transport == "tls" for s in specs):
        if not (tls_cert and tls_key):
            raise click.UsageError("tls: listeners need --tls-cert and --tls-key")
        server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ssl.load_cert_chain(tls_cert, tls_key)
    if not no_uvloop:
        install_uvloop()
    asyncio.run(_serve(app, specs, open_registration, server_ssl, domain or specs[0].host, quiet))


async def _serve(app: App, specs, open_registration, server_ssl, domain, quiet) -> None:
    from callcore.switch.endpoint import Endpoint

    endpoint = Endpoint(
        app, host=specs[0].host, open_registration=open_registration, server_ssl=server_ssl
    )
    endpoint.registrar.domain = domain
    await endpoint.start(specs)
    tune_gc()
    for transport, (host, port) in endpoint.transports.local.items():
        click.echo(f"callcore: listening on {transport}:{host}:{port}")
    click.echo(
        f"callcore: {len(app.routes)} route(s), {len(app.accounts)} account(s); Ctrl-C to stop",
        err=False,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    live = len(endpoint.calls)
    await endpoint.stop()
    await asyncio.sleep(0.1)  # let RTP sessions close
    s = endpoint.stats
    click.echo(
        f"callcore: stopped; {s.received} messages, {s.calls_in} calls in, {s.calls_out} out, "
        f"{s.malformed} malformed, errors answered {dict(s.answered_errors)}; "
        f"live calls at stop {live}, RTP ports in use {endpoint.media.ports_in_use}"
    )
    clock = endpoint.media.clock
    if clock.ticks:
        click.echo(
            f"callcore: media {clock.sessions_opened} sessions, RTP in {clock.packets_in} out {clock.packets_out}, "
            f"clock {clock.report()}"
        )
