"""Record once, replay with faults: `bgr record` between the real SDK and a bgr upstream, then the cassette
served by the mock, byte for byte, under its lifecycle, with drops, 429s and restarts on top."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from mock_server import ServerConfig, ServerThread, Timing
from mock_server.cassette import load_cassette
from mock_server.rules import Rule, decode_rule
from mock_server.serve_command import serve_announcing
from mock_server.sse import parse_frames
from tests import cassettes
from tests.paths import ROOT
from tests.raw_http import send

BGR = str(Path(sys.executable).parent / "bgr")
SECRET_KEY = "sk-bgr-test-secret-4711"
SECRET_HEADERS = {"OpenAI-Organization": "org-bgr-secret-12", "OpenAI-Project": "proj_bgr_secret_34"}
PACED = Timing(queue_seconds=0.3, first_token_seconds=0.1, tokens_per_second=50.0)
MAX_POLLS = 500
POLL_INTERVAL_SECONDS = 0.01


@pytest.fixture
def serve() -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def start(config: ServerConfig, rules: list[Rule] | None = None) -> ServerThread:
        server = ServerThread(config, rules=rules).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _sdk(base_url: str, **options: object) -> OpenAI:
    return OpenAI(base_url=base_url, api_key="k", _strict_response_validation=True, max_retries=0, **options)


def _poll_until_ended(client: OpenAI, response_id: str) -> tuple[list[str], openai.types.responses.Response]:
    statuses = []
    for _ in range(MAX_POLLS):
        polled = client.responses.retrieve(response_id)
        statuses.append(polled.status)
        if polled.status not in ("queued", "in_progress"):
            return statuses, polled
        time.sleep(POLL_INTERVAL_SECONDS)  # a poller's pace, as tests/wire/test_responses_api.py polls
    raise AssertionError(f"still {statuses[-1]} after {MAX_POLLS} polls")


@contextlib.contextmanager
def _recording(upstream: ServerThread, cassette: Path) -> Iterator[OpenAI]:
    """The strict SDK, with a key and secret headers, through `bgr record` to `upstream`; the recorder is
    stopped (SIGTERM) on the way out and must have ended cleanly."""
    argv = [BGR, "record", "--upstream", upstream.base_url, "--cassette", str(cassette), "--port", "0"]
    with serve_announcing(argv) as recorder:
        client = OpenAI(
            base_url=recorder.base_url,
            api_key=SECRET_KEY,
            default_headers=SECRET_HEADERS,
            _strict_response_validation=True,
            max_retries=0,
        )
        with client:
            yield client
        code = recorder.stop(20.0)
        stderr = recorder.stderr_text()
    assert code == 0 and "Traceback" not in stderr, stderr


def _assert_no_secret_in(folder: Path) -> None:
    for path in folder.rglob("*"):  # every file written
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            leaked = [secret for secret in (SECRET_KEY, *SECRET_HEADERS.values()) if secret in text]
            assert not leaked and "authorization" not in text.lower(), (path, leaked)


def _record(upstream: ServerThread, cassette: Path) -> tuple[str, int]:
    """Through `bgr record`: a streamed create cut after 6 events and resumed, then polled; returns (id, cursor)."""
    with _recording(upstream, cassette) as client:
        stream = client.responses.create(model="gpt-4o", input="Record me, 72°F.", background=True, stream=True)
        seen = []
        for event in stream:
            seen.append(event)
            if len(seen) == 6:
                break
        stream.close()
        response_id, cursor = seen[0].response.id, seen[-1].sequence_number
        rest = list(client.responses.retrieve(response_id, stream=True, starting_after=cursor))
        assert rest[-1].type == "response.completed"
        _poll_until_ended(client, response_id)
        polled = client.responses.create(model="gpt-4o", input="Polled, not streamed.", background=True)
        _poll_until_ended(client, polled.id)
    return response_id, cursor


def test_record_through_bgr_then_replay_byte_for_byte(tmp_path, serve) -> None:
    upstream = serve(ServerConfig(background=PACED, answer_tokens=16, seed=5))
    cassette = tmp_path / "session.yaml"
    response_id, cursor = _record(upstream, cassette)

    _assert_no_secret_in(tmp_path)
    recorded = load_cassette(cassette)
    create, resume = recorded[0], recorded[1]
    assert create.event_times is not None and len(create.event_times) == create.body.count(b"\n\n")
    replay = serve(ServerConfig(cassettes=(str(cassette),), background=PACED, seed=99))
    body = {"model": "gpt-4o", "stream": True, "background": True, "input": "Record me, 72°F."}
    streamed = send("POST", f"{replay.base_url}/responses", json_body=body)
    assert streamed.status == 200 and streamed.body == create.body  # its id, text, times and sequence numbers
    resumed = send("GET", f"{replay.base_url}/responses/{response_id}?stream=true&starting_after={cursor}")
    assert resumed.body == resume.body
    released = replay.call(lambda: _release_times(replay, response_id))
    assert released == pytest.approx(create.event_times, abs=1e-6)
    truth = replay.ground_truth(response_id)
    assert truth["text"] == upstream.ground_truth(response_id)["text"] and truth["final_status"] == "completed"


def _release_times(server: ServerThread, response_id: str) -> list[float]:
    response = server.server.state.store.get(response_id)
    log = response.timeline.log
    return [log.visible_at(n) - response.created_at for n in range(len(log))]


def test_a_recorded_answer_survives_a_drop_and_a_resume_through_the_strict_sdk(tmp_path, serve) -> None:
    path = cassettes.pydantic_ai_shaped(tmp_path / "third-party-shaped.yaml")
    drop = decode_rule(
        {"times": 1, "match": {"method": "POST"}, "faults": [{"type": "drop_after_events", "events": 7}]}
    )
    server = serve(ServerConfig(cassettes=(str(path),), background=PACED, time_scale=0.1), [drop])
    with _sdk(server.base_url) as client:
        text, sequences = [], []
        with pytest.raises(openai.APIConnectionError):
            messages = [{"role": "user", "content": cassettes.PROMPT}]
            for event in client.responses.create(model="gpt-4o", input=messages, background=True, stream=True):
                sequences.append(event.sequence_number)
                text += [event.delta] if event.type == "response.output_text.delta" else []
        assert len(sequences) == 7
        for event in client.responses.retrieve(cassettes.RESPONSE_ID, stream=True, starting_after=sequences[-1]):
            sequences.append(event.sequence_number)
            text += [event.delta] if event.type == "response.output_text.delta" else []
        assert "".join(text) == cassettes.TEXT
        assert sequences == list(range(len(cassettes.events())))
        assert client.responses.retrieve(cassettes.RESPONSE_ID).output_text == cassettes.TEXT
    assert server.ground_truth(cassettes.RESPONSE_ID)["text"] == cassettes.TEXT


def test_a_polled_recording_goes_through_the_background_lifecycle(tmp_path, serve) -> None:
    path = cassettes.pydantic_ai_shaped(tmp_path / "p.yaml")
    config = ServerConfig(cassettes=(str(path),), match_on=("method", "path", "input"), background=PACED)
    server = serve(config)
    with _sdk(server.base_url) as client:
        created = client.responses.create(model="gpt-4o", input="Polled only", background=True)
        assert created.id == cassettes.POLLED_ID and created.status == "queued"
        statuses, final = _poll_until_ended(client, created.id)
        assert final.status == "completed" and final.output_text == cassettes.TEXT
        order = ["queued", "in_progress", "completed"]
        assert [order.index(status) for status in statuses] == sorted(order.index(status) for status in statuses)
        # Streamed after the fact: events made from the snapshots, whole and in order.
        events = list(client.responses.retrieve(created.id, stream=True))
        assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == cassettes.TEXT
        again = client.responses.create(model="gpt-4o", input="Polled only [bgr:x]", background=True)
        assert again.id != created.id  # a second play gets an id of its own
        assert _poll_until_ended(client, again.id)[1].output_text == cassettes.TEXT


def test_a_create_no_recording_matches_gets_an_error_or_generated_text(tmp_path, serve) -> None:
    path = str(cassettes.pydantic_ai_shaped(tmp_path / "p.yaml"))
    strict = serve(ServerConfig(cassettes=(path,), background=PACED))
    with _sdk(strict.base_url) as client, pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4o", input="Never recorded")
    error = raised.value.body
    assert raised.value.code == "cassette_no_match" and f"{path}#" in error["message"]
    assert set(error) == {"message", "type", "param", "code"}
    generating = serve(ServerConfig(cassettes=(path,), unmatched="generate", answer_tokens=5))
    with _sdk(generating.base_url) as client:
        answer = client.responses.create(model="gpt-4o", input="Never recorded")
    assert answer.status == "completed" and answer.output_text and answer.output_text != cassettes.TEXT


def test_a_429_on_top_is_retried_into_the_recorded_answer(tmp_path, serve) -> None:
    path = str(cassettes.pydantic_ai_shaped(tmp_path / "p.yaml"))
    limited = decode_rule({"times": 1, "faults": [{"type": "http_error", "status": 429, "retry_after_ms": 10}]})
    server = serve(ServerConfig(cassettes=(path,), match_on=("method", "path", "input")), [limited])
    with OpenAI(base_url=server.base_url, api_key="k", _strict_response_validation=True, max_retries=1) as client:
        created = client.responses.create(model="gpt-4o", input=cassettes.PROMPT, background=True)
    assert created.id == cassettes.RESPONSE_ID
    assert [entry.status for entry in server.journal()] == [429, 200]


def test_a_recorded_answer_outlives_a_restart_on_sqlite(tmp_path, serve) -> None:
    path = str(cassettes.pydantic_ai_shaped(tmp_path / "p.yaml"))
    store = f"sqlite:{tmp_path / 'responses.db'}"
    config = ServerConfig(cassettes=(path,), store=store, match_on=("method", "path", "input"), time_scale=0.1)
    first = ServerThread(config).start()
    try:
        before = send(
            "POST",
            f"{first.base_url}/responses",
            json_body={"model": "m", "input": cassettes.PROMPT, "background": True},
        )
        assert before.json()["id"] == cassettes.RESPONSE_ID
        frames = send("GET", f"{first.base_url}/responses/{cassettes.RESPONSE_ID}?stream=true&starting_after=4").body
    finally:
        first.stop()
    second = serve(ServerConfig(store=store, time_scale=0.1))  # no cassette: the store holds the recording itself
    after = send("GET", f"{second.base_url}/responses/{cassettes.RESPONSE_ID}?stream=true&starting_after=4")
    assert after.status == 200 and after.body == frames


def test_commands_refuse_a_bad_cassette_in_one_line(tmp_path) -> None:
    bad = tmp_path / "future.yaml"
    bad.write_text("interactions: []\nversion: 1\nbgr: {version: 99}\n")
    served = subprocess.run(
        [BGR, "serve", "--port", "0", "--cassette", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert served.returncode == 1 and "Traceback" not in served.stderr
    assert served.stderr.strip().count("\n") == 0 and "unknown bgr cassette version 99" in served.stderr
    recorded = subprocess.run(
        [BGR, "record", "--upstream", "http://127.0.0.1:9", "--cassette", str(bad), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert recorded.returncode == 1 and "never overwrites" in recorded.stderr and "Traceback" not in recorded.stderr
    matcher = subprocess.run([BGR, "serve", "--match-on", "method,bodyy"], capture_output=True, text=True, timeout=30)
    assert matcher.returncode == 1 and "unknown matcher 'bodyy'" in matcher.stderr


# ---- Chat Completions ---------------------------------------------------------------------------------

CHAT_CASSETTE = str(ROOT / "tests" / "data" / "cassettes" / "openai-chat-completions.yaml")
CHAT_TEXT = "It is 72°F in Oslo today."
CHAT_PROMPT = [{"role": "user", "content": "What is the temperature in Oslo?"}]
FJORD_PROMPT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a fjord in Norway."}]
FJORD_TEXT = "Sognefjorden, the longest in Norway — 205 km."
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city, now.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
_CHAT_ID = re.compile(rb'"id":"chatcmpl-[^"]*"')
_CREATED = re.compile(rb'"created":\d+')


def _streamed_text(chunks: list) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def test_the_strict_sdk_gets_recorded_chat_completions_back_streamed_and_not(serve) -> None:
    server = serve(ServerConfig(cassettes=(CHAT_CASSETTE,)))
    with _sdk(server.base_url) as client:
        options = {"stream_options": {"include_usage": True}}
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=CHAT_PROMPT, stream=True, **options))
        assert _streamed_text(chunks) == CHAT_TEXT
        assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].id != "chatcmpl-Bgr0TestChat0Streamed00000001"
        assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8
        assert chunks[0].system_fingerprint == "fp_0bgr0test0"  # the recording's, not the mock's

        ask = "What is the weather in Oslo? Use the tool."
        calls = list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": ask}],
                stream=True,
                tools=[WEATHER_TOOL],
                tool_choice="auto",
                **options,
            )
        )
        pieces = [call for chunk in calls if chunk.choices for call in chunk.choices[0].delta.tool_calls or ()]
        assert pieces[0].function.name == "get_weather"
        assert "".join(piece.function.arguments or "" for piece in pieces) == '{"city":"Oslo"}'
        assert [chunk.choices[0].finish_reason for chunk in calls if chunk.choices][-1] == "tool_calls"

        completion = client.chat.completions.create(model="gpt-4o-mini", messages=FJORD_PROMPT, stream=False)
        assert completion.choices[0].message.content == FJORD_TEXT
        assert completion.id.startswith("chatcmpl-") and completion.id != "chatcmpl-Bgr0TestChat0Unstreamed000003"
    notes = [entry.notes for entry in server.journal()]
    assert all(any(f"{CHAT_CASSETTE}#" in note for note in entry) for entry in notes) and len(notes) == 3


def test_a_recorded_chat_stream_is_dropped_and_re_paced_by_faults(serve) -> None:
    drop = decode_rule({"times": 1, "faults": [{"type": "drop_after_events", "events": 4}]})
    slow = '{"type": "slow", "first_token_seconds": 0.5, "tokens_per_second": 20}'
    server = serve(ServerConfig(cassettes=(CHAT_CASSETTE,), time_scale=0.1), [drop])
    with _sdk(server.base_url) as client:
        chunks = []
        with pytest.raises(openai.APIConnectionError):
            for chunk in client.chat.completions.create(
                model="gpt-4o-mini", messages=CHAT_PROMPT, stream=True, stream_options={"include_usage": True}
            ):
                chunks.append(chunk)
        assert len(chunks) == 4 and _streamed_text(chunks) == "It is 72"  # the role chunk, then 3 recorded deltas
        again = list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=CHAT_PROMPT,
                stream=True,
                stream_options={"include_usage": True},
                extra_headers={"X-Bgr-Faults": slow},
            )
        )
        assert _streamed_text(again) == CHAT_TEXT  # the second play: re-paced by `slow`, whole
    faults = [entry.faults for entry in server.journal()]
    assert [len(found) for found in faults] == [1, 1] and "slow" in str(faults[1])


def test_a_chat_create_no_recording_matches_gets_an_error_or_generated_text(tmp_path, serve) -> None:
    strict = serve(ServerConfig(cassettes=(CHAT_CASSETTE,)))
    with _sdk(strict.base_url) as client, pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Never recorded"}])
    error = raised.value.body
    assert raised.value.code == "cassette_no_match" and f"{CHAT_CASSETTE}#" in error["message"]
    assert set(error) == {"message", "type", "param", "code"}
    responses_only = serve(ServerConfig(cassettes=(str(cassettes.pydantic_ai_shaped(tmp_path / "p.yaml")),)))
    with _sdk(responses_only.base_url) as client, pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=CHAT_PROMPT)
    assert "hold no chat completions" in raised.value.body["message"]
    generating = serve(ServerConfig(cassettes=(CHAT_CASSETTE,), unmatched="generate", answer_tokens=5))
    with _sdk(generating.base_url) as client:
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "New"}])
    assert answer.choices[0].message.content and answer.choices[0].message.content != CHAT_TEXT


def test_a_chat_recording_answers_the_other_form_when_matched_on_input(serve) -> None:
    config = ServerConfig(cassettes=(CHAT_CASSETTE,), match_on=("method", "path", "input"))
    server = serve(config)
    with _sdk(server.base_url) as client:
        # Streamed: the recording was not, so its message is streamed word by word.
        chunks = list(client.chat.completions.create(model="any", messages=FJORD_PROMPT, stream=True))
        assert (
            _streamed_text(chunks) == FJORD_TEXT and len(chunks) > 3 and chunks[-1].choices[0].finish_reason == "stop"
        )
        assert all(chunk.usage is None for chunk in chunks)  # not asked for
        # Not streamed: the recording was, so the answer is what its chunks add up to.
        completion = client.chat.completions.create(model="any", messages=CHAT_PROMPT)
        assert completion.choices[0].message.content == CHAT_TEXT and completion.usage.total_tokens == 22


def test_a_chat_session_recorded_through_bgr_keeps_no_secret_and_replays_as_recorded(tmp_path, serve) -> None:
    paced = Timing(first_token_seconds=0.05, tokens_per_second=200.0)
    upstream = serve(ServerConfig(foreground=paced, answer_tokens=12, seed=5))
    cassette = tmp_path / "chat.yaml"
    with _recording(upstream, cassette) as client:
        options = {"stream_options": {"include_usage": True}}
        streamed = list(client.chat.completions.create(model="gpt-4o", messages=CHAT_PROMPT, stream=True, **options))
        completion = client.chat.completions.create(model="gpt-4o", messages=FJORD_PROMPT)
    _assert_no_secret_in(tmp_path)
    stream, unstreamed = load_cassette(cassette)
    assert stream.event_times is not None and len(stream.event_times) == stream.body.count(b"\n\n")
    for recorded in (stream, unstreamed):
        assert not {name.lower() for name in recorded.request.headers} & {"authorization", "openai-organization"}
    assert b'"object":"chat.completion"' in unstreamed.body and not unstreamed.is_event_stream

    replay = serve(ServerConfig(cassettes=(str(cassette),), seed=99))
    body = {"model": "gpt-4o", "messages": CHAT_PROMPT, "stream": True, "stream_options": {"include_usage": True}}
    replayed = send("POST", f"{replay.base_url}/chat/completions", json_body=body).body
    # Its own id and time; every other byte as recorded.
    assert _CHAT_ID.findall(replayed)[0] != _CHAT_ID.findall(stream.body)[0]
    assert _CREATED.sub(b"", _CHAT_ID.sub(b"", replayed)) == _CREATED.sub(b"", _CHAT_ID.sub(b"", stream.body))
    with _sdk(replay.base_url) as client:
        again = client.chat.completions.create(model="gpt-4o", messages=FJORD_PROMPT)
    assert again.choices[0].message.content == completion.choices[0].message.content
    assert again.model_dump(exclude={"id", "created"}) == completion.model_dump(exclude={"id", "created"})
    chunks = [chunk for chunk in parse_frames(replayed) if chunk["choices"]]
    assert "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks) == _streamed_text(streamed)
