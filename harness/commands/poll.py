"""`bgr poll` and `bgr resume`: the reference poller and stream resumer against any OpenAI-compatible URL.

Both save every token to a SQLite file as it arrives, so a run that is killed, interrupted or
timed out goes on later with `--token` or `--pending`. The answer goes to stdout, progress and
errors to stderr; errors are one line. Exit codes: 0 completed; 1 failed, incomplete, cancelled or
an error; 2 a usage error; 3 timed out or gave up, with the command that resumes on stderr.
"""

from __future__ import annotations

import asyncio
import functools
import shlex
import sqlite3
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn

from harness.client.backoff import Backoff
from harness.client.poller import TERMINAL, Poller, PollOutcome, PollProgress, PollTimeout
from harness.client.resumer import Reconnect, StreamGaveUp, StreamOutcome, StreamResumer
from harness.client.token_store import SqliteTokenStore
from harness.conformance.adapters import make_adapter
from harness.conformance.adapters.base import AgentAdapter, AgentEnvironment, AgentError, Unsupported
from mock_server import Clock

__all__ = ["poll_command", "resume_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_STORE = "bgr-tokens.db"
DEFAULT_DEADLINE_SECONDS = 3600.0
"""The lesson's "always set a timeout": an hour unless told otherwise."""
DEFAULT_MAX_ATTEMPTS = 10
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AgentTarget:
    """Where and how to reach the agent, and the options a resume command must repeat."""

    base_url: str
    model: str
    api_key: str
    agent: str
    store: Path
    clock: Clock
    """The command's one clock: real time, or scenario time against a scaled mock (`--time-scale`)."""

    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    def resume_command(self, command: str, *how: str) -> str:
        # The API key is left out on purpose: it comes from the environment again.
        words = ["bgr", command, "--base-url", self.base_url, "--store", str(self.store)]
        if self.agent != "openai":
            words += ["--agent", self.agent]
        if self.model != "gpt-4o":
            words += ["--model", self.model]
        if self.time_scale != 1.0:
            words += ["--time-scale", f"{self.time_scale:g}"]
        return shlex.join([*words, *how])


TARGET_OPTIONS = [
    click.option("--base-url", required=True, help="An OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1."),
    click.option("--model", default="gpt-4o", show_default=True, help="Model to ask."),
    click.option(
        "--api-key",
        envvar="OPENAI_API_KEY",
        default="bgr",
        show_default="$OPENAI_API_KEY, else a placeholder the mock accepts",
        help="API key.",
    ),
    click.option(
        "--agent",
        default="openai",
        show_default=True,
        help="openai | agent-framework | cmd:<command line> | py:<module>:<factory>",
    ),
    click.option("--prompt", help="Start a new run with this prompt."),
    click.option("--token", help="Go on from this token (as printed by a timeout, or taken from the store)."),
    click.option("--pending", is_flag=True, help="Finish every unfinished run of this agent in the store."),
    click.option("--forget", metavar="OPERATION_ID", help="Remove a run from the store (--pending skips it then)."),
    click.option(
        "--store",
        "store_path",
        default=DEFAULT_STORE,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="SQLite file where every token is saved as it arrives (created if missing).",
    ),
    click.option("--first", default=1.0, show_default=True, type=float, help="Backoff: first wait, seconds."),
    click.option("--factor", default=2.0, show_default=True, type=float, help="Backoff: each wait times this."),
    click.option("--cap", default=30.0, show_default=True, type=float, help="Backoff: longest wait, seconds."),
    click.option("--jitter", default=0.0, show_default=True, type=float, help="Backoff: ± this fraction."),
    click.option("--seed", default=0, show_default=True, type=int, help="Backoff: seed of the jitter."),
    click.option(
        "--time-scale",
        default=1.0,
        show_default=True,
        type=click.FloatRange(0, min_open=True),
        help="Real seconds per second of waiting (match the mock's to compress time).",
    ),
]
"""The options `poll` and `resume` share: where the agent is, what to do, the store, the backoff."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """One run of `bgr poll` or `bgr resume`, set up from the options they share."""

    target: AgentTarget
    adapter: AgentAdapter
    backoff: Backoff
    store: SqliteTokenStore
    console: Console
    """Progress and errors, on stderr."""
    prompt: str | None
    token: str | None
    pending: bool


def _target_command(command: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the shared options and hand its body an `Invocation`, or forget a run and stop."""

    def decorate(body: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(body)
        def setup(
            base_url: str,
            model: str,
            api_key: str,
            agent: str,
            prompt: str | None,
            token: str | None,
            pending: bool,
            forget: str | None,
            store_path: Path,
            first: float,
            factor: float,
            cap: float,
            jitter: float,
            seed: int,
            time_scale: float,
            **own: Any,
        ) -> None:
            _mode(prompt, token, pending, forget)
            if forget is not None:
                return _forget(command, store_path, forget)
            adapter, backoff = _setup(agent, first, factor, cap, jitter, seed)
            target = AgentTarget(base_url, model, api_key, agent, store_path, Clock(time_scale))
            console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)
            store = SqliteTokenStore(store_path)
            return body(Invocation(target, adapter, backoff, store, console, prompt, token, pending), **own)

        for option in reversed(TARGET_OPTIONS):
            setup = option(setup)
        return setup

    return decorate


def _mode(prompt: str | None, token: str | None, pending: bool, forget: str | None) -> None:
    if sum((prompt is not None, token is not None, pending, forget is not None)) != 1:
        raise click.UsageError("give exactly one of --prompt, --token, --pending or --forget")


def _forget(command: str, store_path: Path, operation_id: str) -> None:
    store = SqliteTokenStore(store_path)
    try:
        removed = store.delete(operation_id)
    except sqlite3.Error as error:
        raise click.ClickException(f"cannot use the token store {store_path}: {_one_line(str(error))}") from None
    finally:
        store.close()
    if not removed:
        raise click.ClickException(f"no operation {operation_id!r} in {store_path}")
    click.echo(f"bgr {command}: forgot {operation_id}", err=True)


def _given(token: str | None) -> str:
    assert token is not None, "checked by _mode"
    return token


def _setup(
    agent: str, first: float, factor: float, cap: float, jitter: float, seed: int
) -> tuple[AgentAdapter, Backoff]:
    try:
        backoff = Backoff(first, factor, cap, jitter, seed)
    except ValueError as error:
        raise click.UsageError(f"bad backoff: {error}") from None
    try:
        return make_adapter(agent), backoff
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--agent") from None


@click.command("poll")
@_target_command("poll")
@click.option("--max-polls", type=click.IntRange(1), help="Stop after this many polls (exit 3).")
@click.option(
    "--deadline",
    default=DEFAULT_DEADLINE_SECONDS,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Stop when the next poll would come later than this many seconds (exit 3).",
)
def poll_command(invocation: Invocation, max_polls: int | None, deadline: float) -> None:
    """Run a prompt in the background and poll it to the end with exponential backoff (1, 2, 4, ... 30 s)."""
    target, adapter, console, store = invocation.target, invocation.adapter, invocation.console, invocation.store
    prompt, pending = invocation.prompt, invocation.pending

    async def work(display: PollDisplay) -> list[PollOutcome]:
        poller = Poller(
            adapter,
            invocation.backoff,
            max_polls=max_polls,
            deadline_seconds=deadline,
            store=store,
            clock=target.clock,
            name=target.agent,
            on_progress=display.update,
        )
        if pending:
            return await poller.resume_pending()
        try:
            return [await poller.start(prompt) if prompt is not None else await poller.poll(_given(invocation.token))]
        except PollTimeout as timeout:
            return [timeout.outcome]

    def run() -> int:
        with PollDisplay(console) as display:
            outcomes = _run_adapter(adapter, target, work(display))
        # Reported once the live display is gone, so the answer never mixes with it on a terminal.
        if pending and not outcomes:
            console.print(f"bgr poll: nothing pending for agent {target.agent} in {target.store}")
        return _worst([_report_poll(console, target, outcome) for outcome in outcomes])

    _exit(console, "poll", target, store, run)


@click.command("resume")
@_target_command("resume")
@click.option(
    "--max-attempts",
    default=DEFAULT_MAX_ATTEMPTS,
    show_default=True,
    type=click.IntRange(1),
    help="Calls per run (the first and each reconnect after a drop) before giving up (exit 3).",
)
@click.option(
    "--updates-per-call",
    type=click.IntRange(1),
    help="Read at most this many updates per call, then go on from the token: text shows up in smaller pieces.",
)
def resume_command(invocation: Invocation, max_attempts: int, updates_per_call: int | None) -> None:
    """Stream a prompt's answer, reconnecting after drops from the last token, each piece of text printed once."""
    target, adapter, console, store = invocation.target, invocation.adapter, invocation.console, invocation.store
    prompt, agent = invocation.prompt, target.agent
    out = TextOut()

    def reconnecting(reconnect: Reconnect) -> None:
        console.print(
            f"reconnecting in {reconnect.waited:g} s (attempt {reconnect.attempt}/{max_attempts}, "
            f"{reconnect.delivered_chars} characters so far): {reconnect.reason}",
            style="yellow",
        )

    async def work() -> int:
        resumer = StreamResumer(
            adapter,
            invocation.backoff,
            max_attempts=max_attempts,
            store=store,
            clock=target.clock,
            name=agent,
            updates_per_call=updates_per_call,
            on_reconnect=reconnecting,
        )
        if invocation.pending:
            operations = store.pending(kind="stream", agent=agent)
            if not operations:
                console.print(f"bgr resume: nothing pending for agent {agent} in {target.store}")
            codes = []
            for operation in operations:
                console.print(f"bgr resume: resuming {operation.id} after {len(operation.delivered)} characters")
                codes.append(
                    _report_stream(console, target, out, await _stream_outcome(resumer.resume(operation.id, out.write)))
                )
            return _worst(codes)
        token = invocation.token
        started = resumer.stream(prompt, out.write) if prompt is not None else resumer.resume(_given(token), out.write)
        return _report_stream(console, target, out, await _stream_outcome(started))

    _exit(console, "resume", target, store, lambda: _run_adapter(adapter, target, work()))


class PollDisplay:
    """Progress of polls on stderr: a live line per operation on a terminal, plain lines otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[dim]{task.fields[detail]}"),
            console=console,
            transient=False,
        )
        self.tasks: dict[str | None, TaskID] = {}

    def __enter__(self) -> PollDisplay:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.progress.stop()

    def update(self, event: PollProgress) -> None:
        status = event.status or ("resuming" if event.polls == 0 else "sent")
        description = f"{event.operation_id or 'poll'}: poll {event.polls}, {status}"
        if event.next_wait is not None:
            wait = f"next poll in {event.next_wait:g} s"
        else:
            wait = "done" if status in TERMINAL else "stopped"
        detail = f"{wait}, elapsed {event.elapsed:.1f} s" + (f", last error: {event.error}" if event.error else "")
        if not self.live:
            self.console.print(f"{description}; {detail}")
            return
        detail = escape(detail)  # errors quote prompts and tokens, which may look like markup
        if event.operation_id not in self.tasks:
            self.tasks[event.operation_id] = self.progress.add_task(description, total=None, detail=detail)
        self.progress.update(self.tasks[event.operation_id], description=description, detail=detail)


def _report_poll(console: Console, target: AgentTarget, outcome: PollOutcome) -> int:
    if outcome.text:
        click.echo(outcome.text)
    if outcome.ok:
        return EXIT_OK
    if outcome.status in ("timed_out", "error") and outcome.token is not None:
        resume = target.resume_command("poll", "--token", outcome.token)
        code = EXIT_TIMEOUT if outcome.status == "timed_out" else EXIT_FAILED
        console.print(f"bgr poll: {_one_line(outcome.error)}: {resume}  (or --pending)")
        return code
    console.print(f"bgr poll: {outcome.status}: {_one_line(outcome.error)}")
    return EXIT_FAILED


async def _stream_outcome(stream: Coroutine[Any, Any, StreamOutcome]) -> StreamOutcome:
    try:
        return await stream
    except StreamGaveUp as gave_up:
        return gave_up.outcome


class TextOut:
    """Streamed text on stdout, flushed piece by piece; `end_line` closes the line if text was written."""

    def __init__(self) -> None:
        self.open = False

    def write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()
        self.open = True

    def end_line(self) -> None:
        if self.open:
            click.echo()
            self.open = False


def _report_stream(console: Console, target: AgentTarget, out: TextOut, outcome: StreamOutcome) -> int:
    out.end_line()
    if outcome.ok:
        return EXIT_OK
    if outcome.status == "gave_up" and outcome.token is not None:
        resume = target.resume_command("resume", "--token", outcome.token)
        console.print(f"bgr resume: {_one_line(outcome.error)}: {resume}  (or --pending)")
        return EXIT_TIMEOUT
    console.print(f"bgr resume: {outcome.status}: {_one_line(outcome.error)}")
    return EXIT_FAILED


def _worst(codes: list[int]) -> int:
    # A failure is never hidden behind a timeout: 1 wins over 3, which wins over 0.
    if EXIT_FAILED in codes:
        return EXIT_FAILED
    return EXIT_TIMEOUT if EXIT_TIMEOUT in codes else EXIT_OK


def _run_adapter(adapter: AgentAdapter, target: AgentTarget, work: Coroutine[Any, Any, T]) -> T:
    async def main() -> T:
        try:
            await adapter.start(AgentEnvironment(target.base_url, target.api_key, target.model, target.clock))
            return await work
        finally:
            work.close()  # a no-op once awaited; keeps an unawaited coroutine from warning when start fails
            await adapter.close()

    return asyncio.run(main())


def _exit(console: Console, command: str, target: AgentTarget, store: SqliteTokenStore, run: Callable[[], int]) -> None:
    """Run, turn every ending into an exit code and at most one line on stderr: never a traceback."""
    try:
        code = run()
    except KeyboardInterrupt:
        resume = target.resume_command(command, "--pending")
        console.print(f"bgr {command}: interrupted; every token so far is saved: resume with: {resume}")
        code = EXIT_INTERRUPTED
    except (AgentError, Unsupported) as error:
        console.print(f"bgr {command}: agent error: {_one_line(str(error))}")
        code = EXIT_FAILED
    except sqlite3.Error as error:
        console.print(f"bgr {command}: cannot use the token store {target.store}: {_one_line(str(error))}")
        code = EXIT_FAILED
    except Exception as error:
        console.print(f"bgr {command}: {type(error).__name__}: {_one_line(str(error))}")
        code = EXIT_FAILED
    finally:
        store.close()
    raise SystemExit(code)


def _one_line(text: str | None) -> str:
    return " ".join((text or "no details").split())
