"""Cassettes in memory: vcrpy's format both ways, secrets never written, versions, matching, recorded answers."""

from __future__ import annotations

import math
import subprocess
import sys

import orjson
import pytest
import vcr
from vcr.cassette import Cassette
from vcr.request import Request
from vcr.serialize import CASSETTE_FORMAT_VERSION

from mock_server.cassette import VCR_VERSION, CassetteError, Interaction, dump_cassette, load_cassette, write_cassette
from mock_server.errors import APIError
from mock_server.playback import Recordings, Unmatched, decode_match_on, decode_unmatched, matchers
from mock_server.recorded import answers_of, recorded_prompt
from mock_server.scenario_file import ScenarioError, parse_scenario
from mock_server.sse import parse_frames
from mock_server.timeline import TimelineSpec
from tests import cassettes
from tests.paths import ROOT

SECRETS = ("sk-test-secret-0123", "org-secret-77", "proj_secret_88", "session=secret-cookie", "srv-cookie-99")
STREAM = (
    'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n'
    "event: response.output_text.delta\n"
    'data: {"type":"response.output_text.delta","delta":"72\\u00b0F °","sequence_number":1}\n\n'
).encode()


def _interaction(body: bytes = STREAM, **extra: object) -> Interaction:
    request = Request(
        "POST",
        "http://127.0.0.1:9/v1/responses?api_key=sk-test-secret-0123&x=1",
        b'{"model":"gpt-4o","input":"hi"}',
        {
            "Authorization": "Bearer sk-test-secret-0123",
            "OpenAI-Organization": "org-secret-77",
            "OpenAI-Project": "proj_secret_88",
            "Cookie": "session=secret-cookie",
            "api-key": "sk-test-secret-0123",
            "Content-Type": "application/json",
        },
    )
    headers = {"Content-Type": ["text/event-stream; charset=utf-8"], "Set-Cookie": ["srv-cookie-99"]}
    return Interaction(request, 200, "OK", headers, body, **extra)  # type: ignore[arg-type]


def test_a_cassette_round_trips_bodies_byte_for_byte_with_its_times(tmp_path) -> None:
    binary = bytes(range(256)) + b"\r\n\r\n"
    path = tmp_path / "c.yaml"
    write_cassette(path, [_interaction(started=0.0, event_times=(0.1, 0.25)), _interaction(binary, started=1.5)])
    first, second = load_cassette(path)
    assert first.body == STREAM and second.body == binary
    assert first.event_times == (0.1, 0.25) and second.started == 1.5 and second.event_times is None


def test_vcrpy_itself_loads_and_plays_a_cassette_bgr_wrote(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    write_cassette(path, [_interaction(started=0.0, event_times=(0.1, 0.2))])
    cassette = Cassette.load(path=str(path), match_on=[matchers()[name] for name in ("method", "path")])
    assert len(cassette) == 1
    asked = Request("POST", "http://other:1/v1/responses", b"{}", {})
    assert cassette.can_play_response_for(asked)
    played = cassette.play_response(asked)
    assert played["body"]["string"] == STREAM and played["status"]["code"] == 200


def test_no_secret_is_written_in_any_header_or_query(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    write_cassette(path, [_interaction(started=0.0)])
    text = path.read_text(encoding="utf-8")
    assert not [secret for secret in SECRETS if secret in text]
    lowered = text.lower()
    assert "authorization" not in lowered and "cookie" not in lowered and "openai-organization" not in lowered
    assert "x=1" in text  # the rest of the query stays


def test_an_unknown_version_is_a_one_line_error(tmp_path) -> None:
    assert VCR_VERSION == CASSETTE_FORMAT_VERSION  # bgr's copy, kept so that reading vcrpy waits for a cassette
    good = dump_cassette([_interaction()])
    assert good.count("\nversion: 1\n") == 1 and good.count("bgr:\n  version: 1\n") == 1
    for text, says in (
        (good.replace("\nversion: 1\n", "\nversion: 2\n"), "unknown cassette version 2"),
        (good.replace("bgr:\n  version: 1", "bgr:\n  version: 9"), "unknown bgr cassette version 9"),
        ("- just a list\n", "not a vcrpy cassette"),
        ("interactions: [\n", "not a YAML cassette"),
    ):
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(CassetteError) as raised:
            load_cassette(path)
        assert "\n" not in str(raised.value) and str(path) in str(raised.value)
        assert says in str(raised.value)


def test_pydantic_ai_shaped_cassettes_load_parsed_bodies_and_both_kinds_of_answer(tmp_path) -> None:
    path = cassettes.pydantic_ai_shaped(tmp_path / "p.yaml")
    streamed, polled = answers_of(load_cassette(path), str(path))
    assert streamed.response_id == cassettes.RESPONSE_ID and not streamed.made_up
    assert orjson.loads(streamed.request.body)["input"][0]["content"] == cassettes.PROMPT
    # The resume's events add nothing: the first stream's bytes stand for them.
    assert b"".join(streamed.frames[:-1]) == cassettes.sse(cassettes.events()[:-1]).encode()
    final = parse_frames(streamed.frames[-1])[0]
    assert final["response"]["usage"]["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
    assert polled.made_up and polled.final_status == "completed" and polled.times is None
    spec = TimelineSpec(queue_seconds=2.0, first_token_seconds=0.5, tokens_per_second=10.0)
    timeline = polled.timeline(polled.response_id, 100.0, spec, recorded_pace=True)
    events = parse_frames(bytes(timeline.log.frames(0, len(timeline.log))))
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert timeline.text == cassettes.TEXT and events[-1]["type"] == "response.completed"
    assert timeline.started_at == 102.0 and timeline.finished_at > timeline.started_at
    assert recorded_prompt((str(path),)) == cassettes.PROMPT


def test_a_fault_ending_cuts_a_recorded_answer_after_its_deltas(tmp_path) -> None:
    path = cassettes.pydantic_ai_shaped(tmp_path / "p.yaml")
    answer = answers_of(load_cassette(path), str(path))[0]
    spec = TimelineSpec(outcome="failed", outcome_after_deltas=3)
    timeline = answer.timeline("resp_other", 0.0, spec, recorded_pace=False)
    events = parse_frames(bytes(timeline.log.frames(0, len(timeline.log))))
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert events[-1]["type"] == "response.failed" and events[-1]["response"]["id"] == "resp_other"
    assert timeline.text == "".join(cassettes.DELTAS[:3]) and timeline.final_status == "failed"
    assert cassettes.RESPONSE_ID.encode() not in timeline.log.frames(0, len(timeline.log))


def test_an_answer_never_seen_to_end_stays_in_its_last_status(tmp_path) -> None:
    interaction = load_cassette(cassettes.pydantic_ai_shaped(tmp_path / "p.yaml"))[2]
    answer = answers_of([interaction], "x")[0]
    timeline = answer.timeline(answer.response_id, 0.0, TimelineSpec(), recorded_pace=True)
    assert answer.final_status is None and math.isinf(timeline.finished_at) and math.isinf(timeline.started_at)


def test_matching_names_the_closest_recording_and_what_differs(tmp_path) -> None:
    path = str(cassettes.pydantic_ai_shaped(tmp_path / "p.yaml"))
    headers = {"Content-Type": "application/json"}
    body = {
        "model": "gpt-4o",
        "stream": True,
        "background": True,
        "input": [{"role": "user", "content": cassettes.PROMPT}],
    }
    strict = Recordings.load([path], ("method", "path", "body"), Unmatched.ERROR)
    found = strict.match("POST", "http://127.0.0.1:1/v1/responses", headers, orjson.dumps(body))
    assert found is not None and found.response_id == cassettes.RESPONSE_ID
    with pytest.raises(APIError) as raised:
        strict.match("POST", "http://127.0.0.1:1/v1/responses", headers, orjson.dumps({**body, "stream": False}))
    assert raised.value.status == 400 and raised.value.code == "cassette_no_match"
    assert f"{path}#0" in raised.value.message and "body" in raised.value.message
    loose = Recordings.load([path], ("method", "path", "input"), Unmatched.GENERATE)
    marked = {"model": "other", "input": f"{cassettes.PROMPT} [bgr:x:1]"}
    assert (
        loose.match("POST", "http://h/v1/responses", headers, orjson.dumps(marked)).response_id == cassettes.RESPONSE_ID
    )
    assert loose.match("POST", "http://h/v1/responses", headers, orjson.dumps({"input": "nothing alike"})) is None


def test_matcher_names_and_modes_are_validated() -> None:
    assert decode_match_on(["method", "query", "input"]) == ("method", "query", "input")
    assert set(vcr.VCR().matchers) <= set(matchers())
    with pytest.raises(ValueError, match="unknown matcher 'bodyy'"):
        decode_match_on(["bodyy"])
    assert decode_unmatched("generate") is Unmatched.GENERATE
    with pytest.raises(ValueError, match="expected one of error, generate"):
        decode_unmatched("record")


def test_cassettes_are_vcrpys_format_version() -> None:
    from vcr.serialize import CASSETTE_FORMAT_VERSION

    assert CASSETTE_FORMAT_VERSION == VCR_VERSION


def test_a_mock_without_cassettes_never_imports_vcrpy() -> None:
    """vcrpy loads every HTTP library it can patch: ~0.3 s of CPU each mock process (and bgr fuzz's) would pay."""
    code = (
        "import sys, mock_server.server_process, harness.fuzz.session, harness.commands.main; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('vcr', 'botocore', 'requests')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_a_scenario_names_cassettes_relative_to_itself(tmp_path) -> None:
    (tmp_path / "rec").mkdir()
    cassettes.pydantic_ai_shaped(tmp_path / "rec" / "p.yaml")
    text = "version: 1\ncassettes: [rec/p.yaml]\nserver: {match_on: [method, input], unmatched: generate}\n"
    scenario = parse_scenario(text, str(tmp_path / "s.yaml"))
    from mock_server.config import ServerConfig

    config = scenario.apply(ServerConfig())
    assert config.cassettes == (str(tmp_path / "rec" / "p.yaml"),)
    assert config.match_on == ("method", "input") and config.unmatched == "generate"
    with pytest.raises(ScenarioError, match=r"s.yaml:2: cassettes\[0\]: no such file"):
        parse_scenario("version: 1\ncassettes: [missing.yaml]\n", str(tmp_path / "s.yaml"))
    with pytest.raises(ScenarioError, match=r"s.yaml:2: server.unmatched: unknown unmatched mode 'x'"):
        parse_scenario("version: 1\nserver: {unmatched: x}\n", str(tmp_path / "s.yaml"))
