"""`--store sqlite:PATH`: a server SIGKILLed mid-response comes back with every acknowledged response intact."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
from openai import OpenAI

from mock_server.serve_command import bgr_serve
from mock_server.sqlite_store import SqliteResponseStore
from mock_server.timeline import TimelineSpec
from tests.raw_http import send
from tests.wire.test_responses_api import deltas, poll_until_terminal

BGR = str(Path(sys.executable).parent / "bgr")
TIMING = ["--answer-tokens", "30", "--queue-seconds", "0.2", "--first-token-seconds", "0", "--tokens-per-second", "15"]


def store_options(db: Path) -> list[str]:
    return ["--store", f"sqlite:{db}", *TIMING]


def test_sigkill_mid_response_then_restart_on_the_same_file(tmp_path: Path) -> None:
    db = tmp_path / "responses.db"
    with bgr_serve(*store_options(db)) as first:
        url = first.root
        with OpenAI(base_url=f"{url}/v1", api_key="k", _strict_response_validation=True, max_retries=0) as client:
            done = client.responses.create(model="gpt-4o", input="Finished before the crash.")
            stream = client.responses.create(model="gpt-4o", input="In flight.", background=True, stream=True)
            received = []
            for event in stream:
                received.append(event)
                if event.type == "response.output_text.delta" and len(deltas(received)) > 0 and len(received) >= 8:
                    break
            stream.close()
            cancelled = client.responses.create(model="gpt-4o", input="Cancelled.", background=True)
            client.responses.cancel(cancelled.id)
        in_flight = received[0].response.id
        truth_before = {rid: send("GET", f"{url}/_bgr/responses/{rid}/truth").json() for rid in (done.id, in_flight)}
        replay_before = send("GET", f"{url}/v1/responses/{in_flight}?stream=true").body
        assert truth_before[in_flight]["final_status"] == "completed"
        first.process.kill()
        first.process.wait(timeout=10)

    with bgr_serve(*store_options(db)) as second:
        url = second.root
        with OpenAI(base_url=f"{url}/v1", api_key="k", _strict_response_validation=True, max_retries=0) as client:
            assert client.responses.retrieve(done.id).output_text == done.output_text
            assert client.responses.retrieve(cancelled.id).status == "cancelled"
            rest = list(client.responses.retrieve(in_flight, stream=True, starting_after=received[-1].sequence_number))
            final, _ = poll_until_terminal(client, in_flight)
            new = client.responses.create(model="gpt-4o", input="After the restart.", background=True)
        for rid, truth in truth_before.items():
            assert send("GET", f"{url}/_bgr/responses/{rid}/truth").json() == truth
        # No event lost or changed: the replay now extends the replay from before, byte for byte.
        assert send("GET", f"{url}/v1/responses/{in_flight}?stream=true").body.startswith(replay_before)
        assert [e.sequence_number for e in received + rest] == list(range(len(received) + len(rest)))
        assert deltas(received + rest) == final.output_text == truth_before[in_flight]["text"]
        assert new.id not in {done.id, in_flight, cancelled.id}


def test_unusable_store_path_is_a_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [BGR, "serve", "--port", "0", "--store", f"sqlite:{tmp_path}/missing/dir/x.db"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "store" in result.stderr


def test_a_store_file_from_before_compiled_scripts_still_loads(tmp_path: Path) -> None:
    # Rows were the recipe's dataclass as JSON, metadata an object; they must rebuild the same response.
    path = tmp_path / "old.db"
    row = {
        "id": "resp_old",
        "item_id": "msg_old",
        "params": {
            "model": "gpt-4o",
            "input_text": "Old.",
            "instructions": None,
            "background": True,
            "stream": False,
            "store": True,
            "metadata": {"k": "v"},
            "temperature": None,
            "top_p": None,
            "max_output_tokens": None,
            "previous_response_id": None,
        },
        "created_at": 1_700_000_000.0,
        "seed": 0,
        "answer_length": 4,
        "spec": TimelineSpec().as_dict(),
    }
    SqliteResponseStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO responses (id, recipe) VALUES (?, ?)", ("resp_old", orjson.dumps(row)))
    store = SqliteResponseStore(path)
    try:
        response = store.get("resp_old")
        assert response.params.metadata == (("k", "v"),)
        final = response.snapshot(float("inf"))
        assert final["metadata"] == {"k": "v"} and final["status"] == "completed"
        assert len(response.text.split()) == 4
    finally:
        store.close()
