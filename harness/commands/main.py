"""The `bgr` command line: one group of thin commands over the mock server and the harness."""

from __future__ import annotations

import click

from harness.commands.bench import bench_command
from harness.commands.fuzz import fuzz_command
from harness.commands.matrix import matrix_command
from harness.commands.poll import poll_command, resume_command
from harness.commands.record import record_command
from harness.commands.run import run_command
from harness.commands.serve import serve_command


@click.group()
@click.version_option(package_name="bgr")
def main() -> None:
    """bgr: a conformance harness and mock backend for background responses of AI agents."""


main.add_command(run_command)
main.add_command(poll_command)
main.add_command(resume_command)
main.add_command(fuzz_command)
main.add_command(serve_command)
main.add_command(record_command)
main.add_command(bench_command)
main.add_command(matrix_command)
