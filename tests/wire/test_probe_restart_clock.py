"""Probe: a `--store sqlite` server SIGKILLed and started again, at a time scale far below 1.

Scenario time runs 1,000 times faster than real time here, so a clock restarted from real time
would be minutes of scenario time behind the one that stamped the stored responses.
"""

from __future__ import annotations

import sys
from pathlib import Path

from openai import OpenAI

from mock_server import ServerConfig, ServerThread
from mock_server.serve_command import bgr_serve
from mock_server.sqlite_store import SqliteResponseStore
from tests.raw_http import send
from tests.wire.test_responses_api import poll_until_terminal

BGR = str(Path(sys.executable).parent / "bgr")
TIME_SCALE = "0.001"
TIMING = ["--queue-seconds", "5", "--first-token-seconds", "1", "--tokens-per-second", "10"]


def store_options(db: Path) -> list[str]:
    return ["--store", f"sqlite:{db}", "--time-scale", TIME_SCALE, *TIMING]


def sdk(url: str) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key="k", _strict_response_validation=True, max_retries=0)


def test_scenario_time_carries_on_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "responses.db"
    with bgr_serve(*store_options(db)) as first:
        url = first.root
        with sdk(url) as client:
            created = client.responses.create(model="gpt-4o", input="Done before the crash.", background=True)
            final, _ = poll_until_terminal(client, created.id)
            assert final.status == "completed"
            replay = send("GET", f"{url}/v1/responses/{created.id}?stream=true")
            chats = [
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}]).id
                for _ in range(2)
            ]
        first.process.kill()
        first.process.wait(timeout=10)

    for _ in range(2):  # and a second restart carries on from the first
        with bgr_serve(*store_options(db)) as second:
            url = second.root
            with sdk(url) as client:
                assert client.responses.retrieve(created.id).status == "completed"
                again = send("GET", f"{url}/v1/responses/{created.id}?stream=true")
                # Every event is already released: one body with a length, not a paced chunked stream.
                assert again.body == replay.body and again.headers.get("content-length") == str(len(replay.body))
                chat = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
                assert chat.id not in chats
                chats.append(chat.id)
            second.process.kill()
            second.process.wait(timeout=10)


def test_a_new_response_after_a_restart_starts_after_the_stored_ones(tmp_path: Path) -> None:
    config = ServerConfig(store=f"sqlite:{tmp_path / 'r.db'}", time_scale=0.001)
    with ServerThread(config) as first:
        before = send("POST", f"{first.base_url}/responses", json_body={"model": "m", "input": "a"}).json()
    with ServerThread(config) as second:
        after = send("POST", f"{second.base_url}/responses", json_body={"model": "m", "input": "b"}).json()
    assert after["created_at"] >= before["created_at"] and after["id"] != before["id"]


def test_a_store_without_a_saved_clock_starts_no_earlier_than_its_responses(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    config = ServerConfig(store=f"sqlite:{path}", time_scale=0.0001)
    with ServerThread(config) as server:
        send("POST", f"{server.base_url}/responses", json_body={"model": "m", "input": "a"})
        stamped = server.call(
            lambda: max(server.server.state.store.get(i).created_at for i in server.server.state.store.ids())
        )
    store = SqliteResponseStore(path)
    store._db.execute("DELETE FROM clock")  # as a file written before the clock was kept
    assert store.resumed_clock(1.0).now() >= stamped
    store.close()
