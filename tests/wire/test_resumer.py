"""The stream resumer: reconnects after drops, delivers every piece of text exactly once, survives a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from harness.client.resumer import StreamGaveUp, StreamResumer
from harness.client.token_store import MemoryTokenStore, Operation, SqliteTokenStore
from harness.conformance.adapters.base import AgentEnvironment, AgentReply, AgentUpdate
from harness.conformance.adapters.openai_agent import OpenAIAgent
from mock_server import Clock, ServerConfig, ServerThread
from mock_server.rules import decode_rule
from tests.virtual_clock import VirtualClock

SCALE = 0.01
DROP = {"type": "drop_after_events", "events": 8}


def add_rule(mock: ServerThread, **rule: object) -> None:
    mock.call(lambda: mock.server.state.rules.add(decode_rule(rule)))


def truth(mock: ServerThread) -> str:
    (create,) = [entry for entry in mock.journal() if entry.method == "POST"]
    assert create.response_id is not None
    return str(mock.ground_truth(create.response_id)["text"])


def streamed_requests(mock: ServerThread) -> list[tuple[str, str | None]]:
    """(method, starting_after) of every streamed request: the first stream and each resumption."""
    return [
        (entry.method, entry.query.get("starting_after"))
        for entry in mock.journal()
        if entry.method == "POST" or entry.query.get("stream") == "true"
    ]


@pytest.fixture
def mock(start_mock: Callable[..., ServerThread]) -> ServerThread:
    return start_mock(ServerConfig(time_scale=SCALE, answer_tokens=24))


async def started_agent(mock: ServerThread) -> OpenAIAgent:
    agent = OpenAIAgent()
    await agent.start(AgentEnvironment(mock.base_url, "k", "gpt-4o", Clock(SCALE)))
    return agent


@pytest.fixture
async def agent(mock: ServerThread) -> AsyncIterator[OpenAIAgent]:
    agent = await started_agent(mock)
    yield agent
    await agent.close()


async def test_two_drops_two_reconnects_and_the_text_exactly_once(mock: ServerThread, agent: OpenAIAgent) -> None:
    add_rule(mock, match={"stream": True}, times=2, faults=[DROP])
    store = MemoryTokenStore()
    pieces: list[str] = []

    outcome = await StreamResumer(agent, max_attempts=5, store=store, clock=Clock(SCALE)).stream(
        "A poem.", pieces.append
    )

    assert outcome.status == "completed" and outcome.token is None
    assert "".join(pieces) == outcome.text == truth(mock)
    assert outcome.attempts == 3
    assert [(r.attempt, r.waited) for r in outcome.reconnects] == [(2, 1.0), (3, 2.0)]
    assert all("dropped" in r.reason for r in outcome.reconnects)
    requests = streamed_requests(mock)
    assert [method for method, _ in requests] == ["POST", "GET", "GET"]
    assert all(cursor is not None for _, cursor in requests[1:])
    saved = store.get(outcome.operation_id)  # type: ignore[arg-type]
    assert saved is not None and (saved.status, saved.token, saved.delivered) == ("completed", None, outcome.text)
    assert saved.attempts == 3


async def test_gives_up_after_max_attempts_with_the_token_then_resumes_later(
    mock: ServerThread, agent: OpenAIAgent, tmp_path: Path
) -> None:
    add_rule(mock, match={"stream": True}, faults=[DROP])
    store = SqliteTokenStore(tmp_path / "tokens.db")
    pieces: list[str] = []

    with pytest.raises(StreamGaveUp) as raised:
        await StreamResumer(agent, max_attempts=2, store=store, clock=Clock(SCALE)).stream("A poem.", pieces.append)

    gave_up = raised.value
    assert gave_up.attempts == 2 and gave_up.token is not None
    assert "gave up after 2 attempts" in str(gave_up) and "\n" not in str(gave_up)
    saved = store.get(gave_up.operation_id)  # type: ignore[arg-type]
    assert saved is not None and saved.status == "error" and saved.token == gave_up.token
    assert saved.delivered == "".join(pieces) == gave_up.text

    mock.call(lambda: mock.server.state.rules.clear())  # the network is back
    outcome = await StreamResumer(agent, max_attempts=2, store=store, clock=Clock(SCALE)).resume(
        gave_up.operation_id,  # type: ignore[arg-type]
        pieces.append,
    )
    assert outcome.status == "completed"
    assert "".join(pieces) == outcome.text == truth(mock)


class Killed(BaseException):
    """The process dies: nothing after this line of the resumer runs."""


class KilledBeforeTheToken(SqliteTokenStore):
    """Dies on the n-th token save, just after the text of that update was delivered and recorded."""

    def __init__(self, path: Path, die_at: int) -> None:
        super().__init__(path)
        self.saves = 0
        self.die_at = die_at

    def save_token(
        self, operation_id: str, token: str | None, *, attempts: int | None = None, token_at: int | None = None
    ) -> None:
        self.saves += 1
        if self.saves == self.die_at:
            raise Killed
        super().save_token(operation_id, token, attempts=attempts, token_at=token_at)


async def test_a_crash_between_delivering_text_and_saving_its_token_never_delivers_twice(
    mock: ServerThread, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.db"
    before: list[str] = []
    first = await started_agent(mock)
    try:
        with pytest.raises(Killed):
            # Updates 1-5 carry no text (created ... content_part.added); the 8th is the 3rd delta.
            await StreamResumer(first, max_attempts=3, store=KilledBeforeTheToken(path, 8)).stream(
                "A poem.", before.append
            )
    finally:
        await first.close()
    (left,) = SqliteTokenStore(path).pending()
    assert len(left.delivered) > left.token_at  # the last delivered text is past what the token covers

    after: list[str] = []
    second = await started_agent(mock)
    try:
        outcomes = await StreamResumer(second, max_attempts=3, store=SqliteTokenStore(path)).resume_pending(
            after.append
        )
    finally:
        await second.close()

    assert [outcome.status for outcome in outcomes] == ["completed"]
    assert "".join(before) == left.delivered and before
    assert "".join(before + after) == outcomes[0].text == truth(mock)
    # The resumption did start before the last delivered text: it came again and was not handed out.
    assert len(streamed_requests(mock)) == 2


async def test_reading_in_pieces_continues_at_once_without_counting_a_drop(
    mock: ServerThread, agent: OpenAIAgent
) -> None:
    clock = VirtualClock()

    pieces: list[str] = []
    resumer = StreamResumer(agent, max_attempts=1, updates_per_call=10, clock=clock)
    outcome = await resumer.stream("A poem.", pieces.append)

    assert outcome.status == "completed" and outcome.reconnects == () and clock.sleeps == []
    assert "".join(pieces) == truth(mock)
    assert len(streamed_requests(mock)) > 2


async def test_resume_from_a_bare_token_without_a_store(mock: ServerThread, agent: OpenAIAgent) -> None:
    add_rule(mock, match={"stream": True}, times=1, faults=[DROP])
    pieces: list[str] = []
    with pytest.raises(StreamGaveUp) as raised:
        await StreamResumer(agent, max_attempts=1, clock=Clock(SCALE)).stream("A poem.", pieces.append)
    outcome = await StreamResumer(agent, max_attempts=1, clock=Clock(SCALE)).resume(raised.value.token, pieces.append)
    assert outcome.status == "completed" and outcome.operation_id is None
    assert "".join(pieces) == truth(mock)


class ScriptedAgent:
    name = "scripted"

    def __init__(self, replies: list[AgentReply]) -> None:
        self.replies = replies

    async def start(self, environment: AgentEnvironment) -> None:
        pass

    async def run(
        self, prompt: str | None, token: str | None, *, stream: bool, max_updates: int | None = None
    ) -> AgentReply:
        return self.replies.pop(0)

    async def restart(self) -> None:
        pass

    async def close(self) -> None:
        pass


async def test_a_resumption_that_repeats_different_text_is_an_error_not_delivered() -> None:
    store = MemoryTokenStore()
    store.save(Operation("op_1", "scripted", "stream", "x", token="t1", delivered="Hello", token_at=3))
    # From t1 (after "Hel") the stream should repeat "lo"; it sends "LO" instead.
    agent = ScriptedAgent([AgentReply((AgentUpdate("LO, world", None),), None, "completed")])
    pieces: list[str] = []
    outcome = await StreamResumer(agent, max_attempts=1, store=store).resume("op_1", pieces.append)
    assert outcome.status == "error" and "differs" in (outcome.error or "")
    assert pieces == []


async def test_a_repeat_after_an_older_token_is_skipped_and_the_rest_delivered() -> None:
    store = MemoryTokenStore()
    store.save(Operation("op_1", "scripted", "stream", "x", token="t1", delivered="Hello", token_at=3))
    agent = ScriptedAgent(
        [AgentReply((AgentUpdate("l", "t2"), AgentUpdate("o, world", "t3"), AgentUpdate("", None)), None, "completed")]
    )
    pieces: list[str] = []
    outcome = await StreamResumer(agent, max_attempts=1, store=store).resume("op_1", pieces.append)
    assert (outcome.status, outcome.text, pieces) == ("completed", "Hello, world", [", world"])


async def test_a_poll_operation_is_not_resumed_as_a_stream() -> None:
    store = MemoryTokenStore()
    store.save(Operation("op_1", "scripted", "poll", "x", token="t1"))
    resumer = StreamResumer(ScriptedAgent([]), max_attempts=1, store=store)
    with pytest.raises(ValueError, match="is a poll operation, not a stream"):
        await resumer.resume("op_1", print)
    assert store.find_token("t1", kind="stream") is None and store.find_token("t1", kind="poll") is not None
