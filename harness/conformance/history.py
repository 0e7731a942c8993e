"""What one scenario run recorded: plain, frozen, versioned data, judged only afterwards.

The caller's side (every call to the agent, every update, token and time) comes from the
harness; the server's side (the journal and the ground truth of each response) from the
mock. Checks read nothing else, so a history saved as JSON can be judged again later.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

HISTORY_VERSION = 4
"""2: what the caller asked of each call (`Call.asked`), the step the agent could not do (`History.stopped`)
and the declared token budget replace the scenario's `expectations`. 3: the harness tool's executions
(`History.tool_executions`); a version 2 history reads as one in which the tool never ran. 4: the run's
stalls (`History.stalls`); an older history reads as one in which the machine never stalled."""
READABLE_VERSIONS = (2, 3, HISTORY_VERSION)
SELF_POLL_MARK = "self-poll asked"
"""Journal mark (method MARK) made right before an agent is asked to poll on its own: its first wait starts there."""


def utf8_size(text: str) -> int:
    """Bytes of `text` in UTF-8, counting a lone surrogate (which UTF-8 cannot hold) as its three bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def unwritable_at(text: str) -> int | None:
    """Where `text` stops being writable as UTF-8 (a lone surrogate), or None when all of it is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None


@dataclass(frozen=True, slots=True)
class Update:
    """One streaming update, or the single reply of a non-streaming call."""

    at: float
    """Scenario seconds since the scenario started."""
    text: str
    """Text this update adds to the answer."""
    token: str | None
    """The continuation token it carries, serialized (opaque to the harness)."""
    kind: str = ""
    """The adapter's label for it (an event type, say), for pictures only."""

    @property
    def token_bytes(self) -> int:
        return utf8_size(self.token) if self.token is not None else 0


@dataclass(frozen=True, slots=True)
class Call:
    """One call to the agent: a first run, a poll, a resume."""

    index: int
    step: str
    """The script step that made it: start, poll, resume, ..."""
    stream: bool
    sent_prompt: bool
    token_in: str | None
    started_at: float
    ended_at: float
    agent_instance: int
    """Which agent instance made it; a restart starts a new one."""
    updates: tuple[Update, ...] = ()
    token_out: str | None = None
    """The token the call left the caller with (the last update's, or the reply's)."""
    status: str | None = None
    """A status the agent reported (completed, failed, incomplete, cancelled), if it reports one."""
    error: str | None = None
    """The error the agent raised, if any (one line)."""
    cut: bool = False
    """The harness stopped reading this stream on purpose, as a dropped connection would."""
    asked: dict[str, Any] = field(default_factory=dict)
    """What the caller asked of the agent beyond the prompt and token: `max_updates` of a stream,
    `max_polls` and `deadline_seconds` of a self-poll."""

    @property
    def text(self) -> str:
        return "".join(update.text for update in self.updates)


@dataclass(frozen=True, slots=True)
class ToolExecution:
    """One run of the harness's tool by the agent under test."""

    name: str
    arguments: str
    """Canonical JSON (`canonical_arguments`), or the text given when it was not JSON."""
    output: str
    """What the tool returned (the agent should submit it)."""
    agent_instance: int
    """Which agent instance ran it; a restart starts a new one."""
    call: int
    """Index of the caller's call during which it ran (the call being made when it ran)."""
    at: float
    """Scenario seconds since the scenario started."""
    call_id: str | None = None
    """The model's `call_id`, when the agent says which call it is executing (frameworks often do not)."""


@dataclass(frozen=True, slots=True)
class Stall:
    """A spell in which the harness's event loop could not run: every timer due in it fired late by up to its
    length (`harness.conformance.stalls`)."""

    ended_at: float
    """Scenario time when the loop ran again, on the journal's clock (epoch scenario seconds)."""
    seconds: float
    """Its length, in scenario seconds."""


@dataclass(frozen=True, slots=True)
class ServerRecord:
    journal: tuple[dict[str, Any], ...] = ()
    """Journal entries (as the mock's admin API gives them) for this scenario only."""
    truths: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Ground truth of each response created in this scenario: text, final_status, events."""

    def created_response_ids(self) -> list[str]:
        return [
            entry["response_id"]
            for entry in self.journal
            if entry["method"] == "POST" and entry["path"] == "/v1/responses" and entry.get("response_id")
        ]


@dataclass(frozen=True, slots=True)
class Stopped:
    """The script stopped here: the agent cannot do this step (no poller of its own, no restart)."""

    step_index: int
    step: str
    reason: str


@dataclass(frozen=True, slots=True)
class History:
    scenario: str
    agent: str
    seed: int
    time_scale: float
    """Real seconds per scenario second: every time in the history is in scenario seconds."""
    calls: tuple[Call, ...]
    server: ServerRecord
    stopped: Stopped | None = None
    """Set when the script stopped early because the agent cannot do a step; checks that need the step skip."""
    token_budget_bytes: int | None = None
    """The token size the scenario declared (`token-size`); None: the check's default."""
    tool_executions: tuple[ToolExecution, ...] = ()
    """Every run of the harness's tool (`get_weather`) by the agent, in order."""
    stalls: tuple[Stall, ...] = ()
    """The event loop's stalls while the scenario played, as the run measured them."""
    version: int = HISTORY_VERSION

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        if data.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"history version {data.get('version')!r} is not one of {READABLE_VERSIONS}")
        calls = tuple(
            Call(**{**call, "updates": tuple(Update(**update) for update in call["updates"])}) for call in data["calls"]
        )
        server = ServerRecord(tuple(data["server"]["journal"]), dict(data["server"]["truths"]))
        stopped = data.get("stopped")
        return cls(
            scenario=data["scenario"],
            agent=data["agent"],
            seed=data["seed"],
            time_scale=data["time_scale"],
            calls=calls,
            server=server,
            stopped=Stopped(**stopped) if stopped is not None else None,
            token_budget_bytes=data.get("token_budget_bytes"),
            tool_executions=tuple(ToolExecution(**execution) for execution in data.get("tool_executions", ())),
            stalls=tuple(Stall(**stall) for stall in data.get("stalls", ())),
        )

    def calls_of(self, step: str) -> tuple[Call, ...]:
        return tuple(call for call in self.calls if call.step == step)

    @property
    def final_call(self) -> Call | None:
        return self.calls[-1] if self.calls else None

    def stalled(self, start: float, end: float) -> float:
        """Scenario seconds, between journal times `start` and `end`, in which the loop stood still: how late
        the machine alone made what was due in them."""
        return sum(
            max(0.0, min(end, stall.ended_at) - max(start, stall.ended_at - stall.seconds)) for stall in self.stalls
        )
