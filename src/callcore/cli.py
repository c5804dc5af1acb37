"""The ``callcore`` command.

Subcommands live next to the code they drive and are imported only when used,
so ``callcore serve`` does not pay for the simulator's imports.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command
_LAZY: dict[str, str] = {
    "serve": "callcore.serve_cli:serve",
    "demo": "callcore.demo:demo",
    "sim": "callcore.sim.cli:sim",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY:
            module, _, attr = _LAZY[cmd_name].partition(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="callcore")
def main() -> None:
    """callcore: a contact-center soft switch."""


if __name__ == "__main__":  # pragma: no cover
    main()
