"""The `bgr` command line: one group of thin commands over the mock server and the harness."""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "run": "harness.commands.run:run_command",
    "poll": "harness.commands.poll:poll_command",
    "resume": "harness.commands.poll:resume_command",
    "fuzz": "harness.commands.fuzz:fuzz_command",
    "serve": "harness.commands.serve:serve_command",
    "record": "harness.commands.record:record_command",
    "bench": "harness.commands.bench:bench_command",
    "matrix": "harness.commands.matrix:matrix_command",
}
"""Each command by the module that defines it: a command imports only its own module, not every other's (the
CLI's startup is part of every `bgr run`: the other commands and what they use took 0.3 s of it)."""


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for by name (click's documented lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="bgr")
def main() -> None:
    """bgr: a conformance harness and mock backend for background responses of AI agents."""
