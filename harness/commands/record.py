"""`bgr record`: a recording proxy between any agent and any OpenAI-compatible upstream, until interrupted."""

from __future__ import annotations

import asyncio
import signal

import click

from mock_server.recorder import RecordingProxy

DEFAULT_CASSETTE = "bgr-cassette.yaml"


@click.command("record")
@click.option("--upstream", required=True, help="The OpenAI-compatible API to record (its root or /v1 URL).")
@click.option(
    "--cassette",
    default=DEFAULT_CASSETTE,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The vcrpy cassette to write (never an existing file).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
def record_command(upstream: str, cassette: str, host: str, port: int) -> None:
    """Forward every request to UPSTREAM and record each exchange, streams byte for byte, into a cassette."""
    if not upstream.startswith(("http://", "https://")):
        raise click.BadParameter(f"expected an http:// or https:// URL, got {upstream!r}", param_hint="--upstream")
    try:
        asyncio.run(_record(RecordingProxy(upstream, cassette, host, port)))
    except FileExistsError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


async def _record(proxy: RecordingProxy) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await proxy.start()
    click.echo(f"bgr recording {proxy.base_url} -> {proxy.upstream} into {proxy.cassette}", nl=True)
    await stop.wait()
    await proxy.stop()
    click.echo(f"recorded {len(proxy.interactions)} exchanges into {proxy.cassette}")
