"""`bgr matrix`: reports/matrix.md and matrix.html, and the expected-failures.txt of each run with failures."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harness.conformance.reports.expected_failures import has_failures, write_expected_failures
from harness.conformance.reports.matrix import RESULTS_FILE, load_matrix
from harness.conformance.reports.matrix_html import write_matrix_html
from harness.conformance.reports.matrix_markdown import write_matrix_markdown


@click.command("matrix")
@click.option(
    "--reports",
    "reports",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="The folder of published reports: every <folder>/results.json in it is a row.",
)
def matrix_command(reports: Path) -> None:
    """Write the compatibility matrix (frameworks down, contract rules across) beside the reports."""
    if not reports.is_dir():
        raise click.ClickException(f"{reports}: no such folder of reports")
    try:
        matrix = load_matrix(reports)
    except (ValueError, KeyError, TypeError) as error:
        raise click.ClickException(f"cannot read the published results: {error}") from None
    if not matrix.rows:
        raise click.ClickException(f"{reports}: no <folder>/results.json to build a matrix from")
    for path in (write_matrix_markdown(matrix, reports), write_matrix_html(matrix, reports)):
        click.echo(f"wrote {path}")
    for row in matrix.rows:
        result = json.loads((reports / row.directory / RESULTS_FILE).read_text(encoding="utf-8"))
        # A run that passed against its own baseline still has failures to list: its baseline is written anew
        # from them, so that one a framework fixed since (a stale line) leaves the file.
        if has_failures(result):
            click.echo(f"wrote {write_expected_failures(result, reports / row.directory)}")
