"""`bgr serve`: the mock backend on its own, until interrupted."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3

import click

from mock_server import MockServer, ServerConfig, Timing, serve_until_stopped
from mock_server.cassette import CassetteError
from mock_server.config import ADMIN_TOKEN_ENV
from mock_server.playback import Unmatched, decode_match_on
from mock_server.redis_address import SCHEME as REDIS_SCHEME
from mock_server.redis_address import StoreUnavailable
from mock_server.scenario_file import ScenarioError, load_scenario
from mock_server.workers import FleetError, serve_workers

DEFAULTS = ServerConfig()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every generated text and id.")
@click.option(
    "--answer-tokens",
    default=DEFAULTS.answer_tokens,
    show_default=True,
    type=click.IntRange(1),
    help="Deltas per answer.",
)
@click.option(
    "--queue-seconds",
    default=DEFAULTS.background.queue_seconds,
    show_default=True,
    type=click.FloatRange(0),
    help="Background: time queued.",
)
@click.option(
    "--first-token-seconds",
    default=DEFAULTS.background.first_token_seconds,
    show_default=True,
    type=click.FloatRange(0),
    help="Background: in_progress to first delta.",
)
@click.option(
    "--tokens-per-second",
    default=DEFAULTS.background.tokens_per_second,
    show_default=True,
    type=click.FloatRange(0),
    help="Background: delta pace (0: all at once).",
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Real seconds per scenario second.",
)
@click.option(
    "--store",
    default="memory",
    show_default=True,
    help="memory, sqlite:PATH to survive restarts, or redis://HOST:PORT[/DB] to share responses between workers.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes serving the one port; more than one needs --store redis://.",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False),
    help="A scenario file (YAML or TOML): server settings and fault rules; its settings win over these options.",
)
@click.option(
    "--cassette",
    "cassettes",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A vcrpy cassette (repeatable): the creates it matches get its recorded answers.",
)
@click.option(
    "--match-on",
    default=",".join(DEFAULTS.match_on),
    show_default=True,
    help="vcrpy matcher names, comma-separated (and bgr's `input`: the recorded input begins the request's).",
)
@click.option(
    "--unmatched",
    type=click.Choice([mode.value for mode in Unmatched]),
    default=DEFAULTS.unmatched,
    show_default=True,
    help="With cassettes, what a create no recording matches gets: an error naming the mismatch, or generated text.",
)
@click.option(
    "--max-body-bytes", default=1 << 20, show_default=True, type=click.IntRange(1), help="Larger bodies get a 413."
)
@click.option(
    "--journal-max-bytes",
    default=DEFAULTS.journal_max_bytes,
    show_default=True,
    type=click.IntRange(1),
    help="The journal drops its oldest entries past about this many bytes.",
)
@click.option(
    "--admin-token",
    envvar=ADMIN_TOKEN_ENV,
    show_envvar=True,
    default=None,
    help="Every /_bgr/ request must then carry 'Authorization: Bearer TOKEN' (for a mock bound beyond loopback).",
)
def serve_command(
    host: str,
    port: int,
    seed: int,
    answer_tokens: int,
    queue_seconds: float,
    first_token_seconds: float,
    tokens_per_second: float,
    time_scale: float,
    store: str,
    workers: int,
    scenario: str | None,
    cassettes: tuple[str, ...],
    match_on: str,
    unmatched: str,
    max_body_bytes: int,
    journal_max_bytes: int,
    admin_token: str | None,
) -> None:
    """Serve the mock OpenAI API under /v1 until interrupted."""
    try:
        config = ServerConfig(
            seed=seed,
            answer_tokens=answer_tokens,
            background=Timing(queue_seconds, first_token_seconds, tokens_per_second),
            time_scale=time_scale,
            max_body_bytes=max_body_bytes,
            store=store,
            match_on=decode_match_on(name.strip() for name in match_on.split(",") if name.strip()),
            unmatched=unmatched,
            journal_max_bytes=journal_max_bytes,
            admin_token=admin_token or None,
        )
        rules = []
        if scenario:
            loaded = load_scenario(scenario)
            config, rules = loaded.apply(config), loaded.rules
        if cassettes:
            config = dataclasses.replace(config, cassettes=(*config.cassettes, *cassettes))
    except (ValueError, ScenarioError) as error:
        raise click.ClickException(str(error)) from None
    try:
        if workers > 1 or store.startswith(REDIS_SCHEME):
            serve_workers(config, host, port, workers, rules, click.echo)
        else:
            asyncio.run(serve_until_stopped(MockServer(config, host, port, rules), click.echo))
    except (FleetError, StoreUnavailable, CassetteError) as error:
        raise click.ClickException(str(error)) from None
    except sqlite3.Error as error:
        raise click.ClickException(f"cannot use the store {store}: {error}") from None
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
