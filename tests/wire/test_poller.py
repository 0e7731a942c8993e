"""The reference poller: backoff, the immediate case, bounds, Retry-After and durable tokens.

Against the real mock and the real `openai`-SDK agent; time is compressed by running the mock
and the poller at the same time scale, so the journal's scenario times measure the waits.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from harness.client.backoff import Backoff
from harness.client.poller import Poller, PollProgress, PollTimeout
from harness.client.token_store import MemoryTokenStore, SqliteTokenStore, new_operation
from harness.conformance.adapters.base import AgentEnvironment, AgentReply, AgentUpdate
from harness.conformance.adapters.openai_agent import OpenAIAgent
from mock_server import Clock, ServerConfig, ServerThread
from mock_server.rules import decode_rule
from tests.virtual_clock import VirtualClock

SCALE = 0.01
"""Real seconds per scenario second, for the mock and the poller alike."""
GAP_SCALE = 0.05
"""Coarser where gaps are measured: a poll's own round trip must stay small in scenario seconds."""
GAP_TOLERANCE_SECONDS = 0.3
GAP_TOLERANCE_FRACTION = 0.05
SLOW = {"type": "background", "queue_seconds": 5, "in_progress_seconds": 20}
"""Done 25 scenario seconds after the create: polls at 1, 3, 7, 15 see it running, the one at 31 done."""
NEVER = {"type": "background", "queue_seconds": 10_000, "in_progress_seconds": 10_000}
AT_ONCE = {"type": "background", "queue_seconds": 0, "in_progress_seconds": 0}


def add_rule(mock: ServerThread, **rule: object) -> None:
    mock.call(lambda: mock.server.state.rules.add(decode_rule(rule)))


def created_id(mock: ServerThread, since: int = 0) -> str:
    (create,) = [entry for entry in mock.journal(since) if entry.method == "POST"]
    assert create.response_id is not None
    return create.response_id


def polls_of(mock: ServerThread, response_id: str) -> list[float]:
    """Scenario times of the create and of every (non-streaming) poll of the response."""
    return [
        entry.received_at
        for entry in mock.journal()
        if entry.response_id == response_id and "stream" not in entry.query and entry.method in ("POST", "GET")
    ]


def scaled_mock(start_mock: Callable[..., ServerThread], scale: float) -> ServerThread:
    return start_mock(ServerConfig(time_scale=scale, answer_tokens=24))


@pytest.fixture
def mock(start_mock: Callable[..., ServerThread]) -> ServerThread:
    return scaled_mock(start_mock, SCALE)


async def started_agent(mock: ServerThread, scale: float = SCALE) -> OpenAIAgent:
    agent = OpenAIAgent()
    await agent.start(AgentEnvironment(mock.base_url, "k", "gpt-4o", Clock(scale)))
    return agent


@pytest.fixture
async def agent(mock: ServerThread) -> AsyncIterator[OpenAIAgent]:
    agent = await started_agent(mock)
    yield agent
    await agent.close()


# Backoff


def test_backoff_doubles_from_one_second_up_to_thirty() -> None:
    assert list(itertools.islice(Backoff().delays(), 9)) == [1, 2, 4, 8, 16, 30, 30, 30, 30]


def test_backoff_of_the_lessons_demo_1_is_a_fixed_interval() -> None:
    assert list(itertools.islice(Backoff(first_seconds=2, factor=1, cap_seconds=2).delays(), 4)) == [2, 2, 2, 2]


def test_backoff_jitter_replays_with_its_seed_and_stays_within_its_fraction() -> None:
    plain = list(itertools.islice(Backoff().delays(), 50))
    jittered = list(itertools.islice(Backoff(jitter=0.2, seed=7).delays(), 50))
    assert jittered == list(itertools.islice(Backoff(jitter=0.2, seed=7).delays(), 50))
    assert jittered != list(itertools.islice(Backoff(jitter=0.2, seed=8).delays(), 50))
    assert jittered != plain
    assert all(0.8 * want <= got <= 1.2 * want for want, got in zip(plain, jittered, strict=True))


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"first_seconds": 0}, "first_seconds must be positive"),
        ({"first_seconds": float("nan")}, "first_seconds must be a finite number"),
        ({"factor": 0.5}, "factor must be at least 1"),
        ({"cap_seconds": 0.5}, "cap_seconds (0.5) must be at least first_seconds (1.0)"),
        ({"jitter": 1.0}, "jitter must be a fraction in [0, 1)"),
        ({"jitter": -0.1}, "jitter must be a fraction in [0, 1)"),
        ({"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_backoff_rejects_bad_parameters_with_a_clear_message(options: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError) as raised:
        Backoff(**options)  # type: ignore[arg-type]
    assert words in str(raised.value)


@pytest.mark.parametrize(
    "options",
    [{"max_polls": 0}, {"deadline_seconds": 0}, {"deadline_seconds": float("inf")}, {"max_errors": -1}],
)
def test_poller_rejects_bad_bounds(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Poller(OpenAIAgent(), **options)  # type: ignore[arg-type]


# Polling against the mock


async def test_waits_follow_the_backoff_between_polls(start_mock: Callable[..., ServerThread]) -> None:
    mock = scaled_mock(start_mock, GAP_SCALE)
    add_rule(mock, match={"input_contains": "[warm-up]"}, faults=[AT_ONCE])
    add_rule(mock, match={"input_contains": "[slow]"}, faults=[SLOW])
    agent = await started_agent(mock, GAP_SCALE)
    try:
        # The SDK's first request pays for connecting and warming up; that is not the poller's wait.
        await agent.run("[warm-up]", None, stream=False)
        since = len(mock.journal())
        outcome = await Poller(agent, clock=Clock(GAP_SCALE)).start("[slow] Summarize the history of computing.")
    finally:
        await agent.close()

    response_id = created_id(mock, since)
    assert outcome.status == "completed" and outcome.token is None
    assert outcome.text == mock.ground_truth(response_id)["text"]
    times = polls_of(mock, response_id)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert outcome.polls == len(gaps) == 5
    assert [record.waited for record in outcome.schedule] == [1, 2, 4, 8, 16]
    assert outcome.waited_seconds == 31
    wants = [1, 2, 4, 8, 16]
    early = [got for want, got in zip(wants, gaps, strict=True) if got < want - GAP_TOLERANCE_SECONDS]
    late = [
        got
        for want, got in zip(wants, gaps, strict=True)
        if got > want + GAP_TOLERANCE_SECONDS + GAP_TOLERANCE_FRACTION * want
    ]
    assert not early, gaps
    # A stall of a busy machine can delay one poll; a poller that oversleeps is late on every one.
    assert len(late) <= 1, gaps


async def test_immediate_completion_returns_without_any_wait_or_poll(mock: ServerThread, agent: OpenAIAgent) -> None:
    add_rule(mock, faults=[AT_ONCE])
    clock = VirtualClock()

    outcome = await Poller(agent, clock=clock).start("Say hello.")

    assert (outcome.status, outcome.polls, outcome.waited_seconds, outcome.token) == ("completed", 0, 0.0, None)
    assert clock.sleeps == []
    assert [entry.method for entry in mock.journal()] == ["POST"]
    assert outcome.text == mock.ground_truth(created_id(mock))["text"]


async def test_timeout_after_exactly_max_polls_carries_the_token(
    mock: ServerThread, agent: OpenAIAgent, tmp_path: Path
) -> None:
    add_rule(mock, faults=[NEVER])
    store = SqliteTokenStore(tmp_path / "tokens.db")
    poller = Poller(agent, max_polls=3, store=store, clock=Clock(SCALE))

    with pytest.raises(PollTimeout) as raised:
        await poller.start("A long report.")

    timeout = raised.value
    response_id = created_id(mock)
    assert len(polls_of(mock, response_id)) == 1 + 3
    assert (timeout.polls, timeout.waited) == (3, 1 + 2 + 4)
    assert "timed out after 3 polls" in str(timeout) and "\n" not in str(timeout)
    assert f"saved as operation {timeout.operation_id}" in str(timeout)
    saved = store.get(timeout.operation_id)  # type: ignore[arg-type]
    assert saved is not None and saved.status == "timed_out" and saved.token == timeout.token
    assert saved.attempts == 1 + 3


async def test_deadline_stops_before_a_poll_that_would_come_too_late(mock: ServerThread, agent: OpenAIAgent) -> None:
    add_rule(mock, faults=[NEVER])
    clock = VirtualClock()  # the deadline on the poller's own seconds, whatever the machine's load
    with pytest.raises(PollTimeout) as raised:
        await Poller(agent, deadline_seconds=10, clock=clock).start("A long report.")
    # Polls at 1, 3 and 7 s; the next would be at 15 s, past the deadline.
    assert raised.value.polls == 3 and clock.sleeps == [1, 2, 4]
    assert "the deadline of 10 s" in str(raised.value)
    assert len(polls_of(mock, created_id(mock))) == 1 + 3


async def test_every_token_is_in_the_store_while_polling(
    mock: ServerThread, agent: OpenAIAgent, tmp_path: Path
) -> None:
    add_rule(mock, faults=[SLOW])
    path = tmp_path / "tokens.db"
    # Another process's view of the file: what a crash right now would leave behind.
    observer = SqliteTokenStore(path)
    seen: list[tuple[int, str | None, str | None]] = []

    def snapshot(progress: PollProgress) -> None:
        operation = observer.get(progress.operation_id) if progress.operation_id else None
        seen.append((progress.polls, operation.status if operation else None, operation.token if operation else None))

    outcome = await Poller(agent, store=SqliteTokenStore(path), clock=Clock(SCALE), on_progress=snapshot).start("Hi.")

    assert outcome.status == "completed"
    running = [entry for entry in seen if entry[0] < outcome.polls]
    assert running and all(status == "pending" and token is not None for _, status, token in running)
    final = observer.get(outcome.operation_id)  # type: ignore[arg-type]
    assert final is not None and (final.status, final.token, final.delivered) == ("completed", None, outcome.text)


def test_a_store_opens_and_reads_while_another_process_holds_its_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    SqliteTokenStore(path).save(new_operation("openai", "poll", "Hi.", token="t1"))
    writer = sqlite3.connect(path, isolation_level=None)  # as a poller in the middle of saving a token
    writer.execute("BEGIN IMMEDIATE")
    try:
        # Opening a set-up store writes nothing, so it need not wait for the lock (it would time out).
        assert [operation.token for operation in SqliteTokenStore(path).pending()] == ["t1"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_a_new_poller_resumes_what_a_timed_out_one_left_pending(mock: ServerThread, tmp_path: Path) -> None:
    add_rule(mock, faults=[SLOW])
    path = tmp_path / "tokens.db"
    first = await started_agent(mock)
    try:
        with pytest.raises(PollTimeout):
            await Poller(first, max_polls=1, store=SqliteTokenStore(path), clock=Clock(SCALE)).start("Hi.")
    finally:
        await first.close()
    SqliteTokenStore(path).save(new_operation("openai", "poll", "never answered"))  # killed before any token

    second = await started_agent(mock)
    try:
        outcomes = await Poller(second, store=SqliteTokenStore(path), clock=Clock(SCALE)).resume_pending()
    finally:
        await second.close()

    assert [outcome.status for outcome in outcomes] == ["completed", "lost"]
    assert outcomes[0].text == mock.ground_truth(created_id(mock))["text"]
    assert SqliteTokenStore(path).pending() == []


async def test_resume_pending_leaves_other_agents_tokens_alone(mock: ServerThread, agent: OpenAIAgent) -> None:
    store = MemoryTokenStore()
    store.save(new_operation("cmd:other-agent", "poll", "x", token="opaque"))
    assert await Poller(agent, store=store, clock=Clock(SCALE)).resume_pending() == []
    assert [operation.agent for operation in store.pending()] == ["cmd:other-agent"]


async def test_a_failed_response_is_a_failure_not_an_empty_answer(mock: ServerThread, agent: OpenAIAgent) -> None:
    add_rule(mock, faults=[{"type": "fail", "after_deltas": 2, "message": "boom"}, SLOW])
    store = MemoryTokenStore()
    outcome = await Poller(agent, store=store, clock=Clock(SCALE)).start("Fail, please.")
    assert outcome.status == "failed" and not outcome.ok
    assert outcome.error is not None and "boom" in outcome.error
    saved = store.get(outcome.operation_id)  # type: ignore[arg-type]
    assert saved is not None and (saved.status, saved.token) == ("failed", None)


async def test_gives_up_after_failed_polls_in_a_row_keeping_the_token(mock: ServerThread, agent: OpenAIAgent) -> None:
    add_rule(mock, faults=[SLOW])
    # retry-after-ms keeps the SDK's own retries (three requests per poll) quick.
    add_rule(mock, match={"method": "GET"}, faults=[{"type": "http_error", "status": 503, "retry_after_ms": 1}])
    store = MemoryTokenStore()
    outcome = await Poller(agent, max_errors=1, store=store, clock=Clock(SCALE)).start("Hi.")
    assert (outcome.status, outcome.polls) == ("error", 2)
    assert outcome.token is not None and "503" in (outcome.error or "")
    saved = store.get(outcome.operation_id)  # type: ignore[arg-type]
    assert saved is not None and saved.status == "error" and saved.token == outcome.token
    assert saved in store.pending()


async def test_retry_after_longer_than_the_backoff_delays_the_next_poll(mock: ServerThread, agent: OpenAIAgent) -> None:
    add_rule(mock, faults=[{"type": "background", "queue_seconds": 150, "in_progress_seconds": 50}])
    # Three times: the SDK retries twice by itself (Retry-After reaches it in real seconds, so it sleeps
    # scenario time), then hands the third 429 over to the poller.
    add_rule(mock, match={"method": "GET"}, times=3, faults=[{"type": "http_error", "status": 429, "retry_after": 20}])
    outcome = await Poller(agent, clock=Clock(SCALE)).start("Hi.")
    assert outcome.status == "completed"
    times = polls_of(mock, created_id(mock))  # the create, the 429, the SDK's two retries, the poller's poll
    assert times[2] - times[1] >= 20 and times[3] - times[2] >= 20  # the SDK's own retries, on scenario time
    assert outcome.schedule[0].error is not None and "429" in outcome.schedule[0].error
    # 20 s instead of the pending 2 s; then the backoff goes on where it was, with 2 s.
    assert [record.waited for record in outcome.schedule[:3]] == [1, 20, 2]
    assert times[4] - times[3] >= 20


# Retry-After against the backoff, step by step, with an agent whose replies are scripted.


class ScriptedAgent:
    name = "scripted"

    def __init__(self, replies: list[AgentReply]) -> None:
        self.replies = replies
        self.calls: list[tuple[str | None, str | None]] = []

    async def start(self, environment: AgentEnvironment) -> None:
        pass

    async def run(
        self, prompt: str | None, token: str | None, *, stream: bool, max_updates: int | None = None
    ) -> AgentReply:
        self.calls.append((prompt, token))
        return self.replies.pop(0)

    async def restart(self) -> None:
        pass

    async def close(self) -> None:
        pass


async def test_retry_after_is_honoured_only_when_longer_than_the_next_wait() -> None:
    agent = ScriptedAgent(
        [
            AgentReply((), "t1", "queued"),
            AgentReply((), "t1", error="429 rate limited", retry_after=20),
            AgentReply((), "t1", error="429 rate limited", retry_after=1),
            AgentReply((), "t2", "in_progress"),
            AgentReply((AgentUpdate("done", None),), None, "completed"),
        ]
    )
    clock = VirtualClock()

    outcome = await Poller(agent, clock=clock).start("Hi.")

    assert (outcome.status, outcome.text, outcome.polls) == ("completed", "done", 4)
    # The 429 after the first poll asks for 20 s, longer than the pending 2 s: honoured. The next asks for
    # 1 s, shorter: the 2 s stand. Neither steps the backoff on, which goes on with 2 s once polls succeed.
    assert [record.waited for record in outcome.schedule] == [1, 20, 2, 2]
    assert clock.sleeps == [1, 20, 2, 2]
    assert agent.calls == [("Hi.", None), (None, "t1"), (None, "t1"), (None, "t1"), (None, "t2")]
