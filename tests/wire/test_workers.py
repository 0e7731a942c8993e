"""`bgr serve --workers N --store redis://`: worker processes on one port, sharing one real redis-server.

A keep-alive connection stays on the worker that accepted it, so a client limited to one
connection talks to one worker, and `/_bgr/health` on that connection says which (`pid`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx2 as httpx
import pytest
import redis as redis_client
from openai import OpenAI

from mock_server.serve_command import ServeCommand
from tests import cassettes
from tests.redis_fleet import BGR, RedisServer, free_port, redis_server, serve_fleet
from tests.wire.test_responses_api import deltas, poll_until_terminal

FAST = ("--answer-tokens", "30", "--queue-seconds", "0.2", "--first-token-seconds", "0", "--tokens-per-second", "40")
CONNECTION_TRIES = 100
"""New connections opened to find one on a wanted worker; the kernel hands each to whichever accepts first."""


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def fleet(redis: RedisServer) -> Iterator[ServeCommand]:
    with serve_fleet(f"{redis.url}/0", 2, *FAST) as started:
        yield started


def connect_to_worker(fleet: ServeCommand, wanted: Callable[[int], bool], stack: ExitStack) -> tuple[httpx.Client, int]:
    """An HTTP client whose one keep-alive connection is on a worker that `wanted` accepts."""
    for _ in range(CONNECTION_TRIES):
        http = stack.enter_context(
            httpx.Client(base_url=fleet.root, limits=httpx.Limits(max_connections=1), timeout=30)
        )
        pid = http.get("/_bgr/health").json()["pid"]
        if wanted(pid):
            return http, pid
        http.close()
    raise AssertionError(f"no connection reached a wanted worker in {CONNECTION_TRIES} tries")


def truth_of(fleet: ServeCommand, response_id: str) -> dict:
    return httpx.get(f"{fleet.root}/_bgr/responses/{response_id}/truth").json()


def sdk(fleet: ServeCommand, http: httpx.Client) -> OpenAI:
    return OpenAI(
        base_url=fleet.base_url, api_key="k", http_client=http, _strict_response_validation=True, max_retries=0
    )


def test_a_stream_begun_on_one_worker_resumes_exactly_on_another(fleet: ServeCommand) -> None:
    with ExitStack() as stack:
        first_http, first = connect_to_worker(fleet, lambda pid: True, stack)
        stream = sdk(fleet, first_http).responses.create(
            model="gpt-4o", input="Resume me elsewhere.", background=True, stream=True
        )
        received = []
        for event in stream:
            received.append(event)
            if len(received) == 8:
                break
        stream.close()
        second_http, second = connect_to_worker(fleet, lambda pid: pid != first, stack)
        client = sdk(fleet, second_http)
        rest = list(client.responses.retrieve(received[0].response.id, stream=True, starting_after=7))
        final, _ = poll_until_terminal(client, received[0].response.id)
        assert first != second
        assert [event.sequence_number for event in received + rest] == list(range(len(received) + len(rest)))
        assert rest[-1].type == "response.completed"
        truth = second_http.get(f"/_bgr/responses/{final.id}/truth").json()
        assert deltas(received + rest) == final.output_text == truth["text"]


def listening_inodes(pid: int, port: int) -> set[str]:
    """Inodes of the TCP sockets `pid` holds that listen on `port` (Linux /proc)."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                held.add(target.removeprefix("socket:[").removesuffix("]"))
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                listening.add(fields[9])
    return held & listening


def test_each_worker_listens_on_the_port_with_a_socket_of_its_own(fleet: ServeCommand) -> None:
    """The kernel spreads connections over the workers' sockets: a shared one let the first awake take a burst."""
    port = int(fleet.root.rsplit(":", 1)[1])
    sockets = [listening_inodes(pid, port) for pid in fleet.pids]
    assert len(fleet.pids) == 2 and all(len(held) == 1 for held in sockets)
    assert sockets[0] != sockets[1]
    assert not listening_inodes(fleet.pid, port)  # the parent holds the port but takes no connection


def test_a_second_fleet_on_a_fleets_port_is_refused_not_joined(fleet: ServeCommand, redis: RedisServer) -> None:
    """Its sockets would join the first fleet's, and the kernel would spread connections over both."""
    port = fleet.root.rsplit(":", 1)[1]
    result = subprocess.run(
        [BGR, "serve", "--port", port, "--workers", "2", "--store", f"{redis.url}/9"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "address already in use" in result.stderr.lower()
    assert httpx.get(f"{fleet.root}/_bgr/health").json()["pid"] in fleet.pids  # the first fleet serves on


def test_polls_and_cancels_on_any_worker_agree_and_ids_never_collide(fleet: ServeCommand) -> None:
    with ExitStack() as stack:
        workers = [connect_to_worker(fleet, lambda pid: True, stack)]
        workers.append(connect_to_worker(fleet, lambda pid: pid != workers[0][1], stack))
        clients = [sdk(fleet, http) for http, _ in workers]
        made = [clients[i % 2].responses.create(model="gpt-4o", input=f"Job {i}.", background=True) for i in range(20)]
        assert len({response.id for response in made}) == 20
        # Paced by polls: each poll on either worker moves the same response one step on.
        paced = clients[0].responses.create(
            model="gpt-4o",
            input="Paced.",
            background=True,
            extra_headers={"X-Bgr-Faults": '[{"type": "background", "queued_polls": 2, "in_progress_polls": 2}]'},
        )
        statuses = [clients[i % 2].responses.retrieve(paced.id).status for i in range(6)]
        assert statuses == ["queued", "queued", "in_progress", "in_progress", "completed", "completed"]
        cancelled = clients[0].responses.create(model="gpt-4o", input="Cancel me.", background=True)
        assert clients[1].responses.cancel(cancelled.id).status == "cancelled"
        assert clients[0].responses.retrieve(cancelled.id).status == "cancelled"
        for i, response in enumerate(made):
            assert clients[(i + 1) % 2].responses.retrieve(response.id).id == response.id


def test_rules_added_through_one_worker_apply_on_all(fleet: ServeCommand) -> None:
    with ExitStack() as stack:
        a, pid_a = connect_to_worker(fleet, lambda pid: True, stack)
        b, _ = connect_to_worker(fleet, lambda pid: pid != pid_a, stack)
        rule = {
            "times": 2,
            "match": {"input_contains": "[shared-rule]"},
            "faults": [{"type": "http_error", "status": 503}],
        }
        added = a.post("/_bgr/rules", json=rule).json()
        try:
            body = {"model": "gpt-4o", "input": "[shared-rule] hi"}
            statuses = [b.post("/v1/responses", json=body).status_code, a.post("/v1/responses", json=body).status_code]
            statuses.append(b.post("/v1/responses", json=body).status_code)
            assert statuses == [503, 503, 200]  # `times: 2` counted once for the whole fleet
            listed = b.get("/_bgr/rules").json()["rules"]
            assert [(r["id"], r["applied"], r["times"]) for r in listed] == [(added["id"], 3, 2)]
            assert b.delete(f"/_bgr/rules/{added['id']}").status_code == 200
            assert a.get("/_bgr/rules").json()["rules"] == []
        finally:
            a.delete("/_bgr/rules")


def test_the_journal_shows_every_workers_requests_in_one_order(fleet: ServeCommand) -> None:
    with ExitStack() as stack:
        a, pid_a = connect_to_worker(fleet, lambda pid: True, stack)
        b, _ = connect_to_worker(fleet, lambda pid: pid != pid_a, stack)
        since = a.get("/_bgr/journal").json()["next_index"]
        for i in range(6):
            (a, b)[i % 2].post("/v1/responses", json={"model": "gpt-4o", "input": f"journal-order-{i}"})
        seen_by = [http.get("/_bgr/journal", params={"since": since}).json()["entries"] for http in (a, b)]
        assert seen_by[0] == seen_by[1]
        entries = seen_by[0]
        assert [entry["index"] for entry in entries] == list(range(since, since + 6))
        assert [entry["body"]["input_preview"] for entry in entries] == [f"journal-order-{i}" for i in range(6)]
        assert all(entry["status"] == 200 and entry["answered_at"] is not None for entry in entries)


def test_a_sigkilled_worker_loses_nothing_it_acknowledged(redis: RedisServer) -> None:
    with serve_fleet(f"{redis.url}/1", 2, *FAST) as fleet, ExitStack() as stack:
        http, doomed = connect_to_worker(fleet, lambda pid: True, stack)
        client = sdk(fleet, http)
        done = client.responses.create(model="gpt-4o", input="Finished before the kill.")
        cancelled = client.responses.create(model="gpt-4o", input="Cancelled before the kill.", background=True)
        client.responses.cancel(cancelled.id)
        stream = client.responses.create(model="gpt-4o", input="In flight at the kill.", background=True, stream=True)
        received = []
        for event in stream:
            received.append(event)
            if len(received) == 6:
                break
        in_flight = received[0].response.id
        # Another connection: this one is busy with the stream.
        truth_before = {
            rid: httpx.get(f"{fleet.root}/_bgr/responses/{rid}/truth").json() for rid in (done.id, in_flight)
        }
        os.kill(doomed, signal.SIGKILL)
        stream.close()

        survivor_http, survivor = connect_to_worker(fleet, lambda pid: True, stack)
        survivor_client = sdk(fleet, survivor_http)
        assert survivor != doomed
        assert survivor_client.responses.retrieve(done.id).output_text == done.output_text
        assert survivor_client.responses.retrieve(cancelled.id).status == "cancelled"
        rest = list(survivor_client.responses.retrieve(in_flight, stream=True, starting_after=5))
        assert [event.sequence_number for event in received + rest] == list(range(len(received) + len(rest)))
        for rid, truth in truth_before.items():
            assert survivor_http.get(f"/_bgr/responses/{rid}/truth").json() == truth
        assert deltas(received + rest) == truth_before[in_flight]["text"]
        new = survivor_client.responses.create(model="gpt-4o", input="After the kill.")
        assert new.id not in {done.id, cancelled.id, in_flight}
        assert wait_for_text(fleet.stderr_path, f"{doomed} ended (killed by SIGKILL); 1 still serving")


def test_a_recorded_answer_made_on_one_worker_is_replayed_by_another(redis: RedisServer, tmp_path: Path) -> None:
    cassette = str(cassettes.pydantic_ai_shaped(tmp_path / "p.yaml"))
    options = (*FAST, "--cassette", cassette, "--match-on", "method,path,input")
    with serve_fleet(f"{redis.url}/2", 2, *options) as fleet, ExitStack() as stack:
        first_http, first = connect_to_worker(fleet, lambda pid: True, stack)
        created = sdk(fleet, first_http).responses.create(model="gpt-4o", input=cassettes.PROMPT, background=True)
        second_http, _ = connect_to_worker(fleet, lambda pid: pid != first, stack)
        client = sdk(fleet, second_http)
        final, _ = poll_until_terminal(client, created.id)
        assert created.id == cassettes.RESPONSE_ID and final.output_text == cassettes.TEXT
        assert deltas(list(client.responses.retrieve(created.id, stream=True))) == cassettes.TEXT
        # The recorded id is taken fleet-wide: a second play on the other worker gets one of its own.
        again = client.responses.create(model="gpt-4o", input=cassettes.PROMPT, background=True)
        assert again.id != created.id and poll_until_terminal(client, again.id)[0].output_text == cassettes.TEXT


def wait_for_text(path: Path, text: str, timeout: float = 10.0) -> bool:
    """Whether `text` appears in the file within `timeout` (the parent reports a worker's end as it reaps it)."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("store", ["redis://127.0.0.1:notaport", "redis://user:secret@127.0.0.1:6379"])
def test_a_bad_redis_url_is_a_one_line_error(store: str) -> None:
    result = subprocess.run(
        [BGR, "serve", "--port", "0", "--workers", "2", "--store", store], capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0
    assert "store" in result.stderr and "secret" not in result.stderr


def test_more_than_one_worker_without_redis_is_a_one_line_error() -> None:
    result = subprocess.run([BGR, "serve", "--port", "0", "--workers", "2"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and result.stderr.strip().count("\n") == 0
    assert "--store redis://" in result.stderr and "Traceback" not in result.stderr


def test_redis_down_at_start_is_a_one_line_error() -> None:
    port = free_port()  # nothing listens there
    result = subprocess.run(
        [BGR, "serve", "--port", "0", "--workers", "2", "--store", f"redis://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert f"cannot reach the store redis://127.0.0.1:{port}/0" in result.stderr


def test_redis_down_while_serving_is_a_503_naming_the_store() -> None:
    with redis_server() as own_redis, serve_fleet(own_redis.url, 2, *FAST) as fleet, ExitStack() as stack:
        http, _ = connect_to_worker(fleet, lambda pid: True, stack)
        made = http.post("/v1/responses", json={"model": "gpt-4o", "input": "Before.", "background": True}).json()
        own_redis.stop()
        for reply in (
            http.post("/v1/responses", json={"model": "gpt-4o", "input": "After."}),
            http.get(f"/v1/responses/{made['id']}"),
        ):
            assert reply.status_code == 503
            error = reply.json()["error"]
            assert error["code"] == "store_unavailable" and own_redis.url in error["message"]
        assert fleet.process.poll() is None  # still serving, and says why it cannot answer


def test_a_store_emptied_while_serving_is_a_503_on_every_worker_not_a_new_fleet(redis: RedisServer) -> None:
    """A FLUSHDB (or a Redis restarted without its data) took the responses, rules and ids the workers know of."""
    store = f"{redis.url}/3"
    with serve_fleet(store, 2, *FAST) as fleet, ExitStack() as stack:
        first, pid = connect_to_worker(fleet, lambda pid: True, stack)
        second, _ = connect_to_worker(fleet, lambda other: other != pid, stack)
        made = first.post("/v1/responses", json={"model": "gpt-4o", "input": "Before.", "background": True}).json()
        assert second.get(f"/v1/responses/{made['id']}").status_code == 200
        redis_client.Redis.from_url(store).flushdb()
        for http in (first, second):
            for reply in (
                http.post("/v1/responses", json={"model": "gpt-4o", "input": "After."}),
                http.get(f"/v1/responses/{made['id']}"),
                http.get("/_bgr/rules"),
            ):
                assert reply.status_code == 503, reply.text
                error = reply.json()["error"]
                assert error["code"] == "store_reset" and store in error["message"]
        assert fleet.process.poll() is None


def test_a_stream_on_one_worker_follows_polls_made_on_another(fleet: ServeCommand) -> None:
    # Paced by polls: the stream's events are released only by polls, all of them made through the other worker.
    with ExitStack() as stack:
        streaming, pid = connect_to_worker(fleet, lambda pid: True, stack)
        polling, _ = connect_to_worker(fleet, lambda other: other != pid, stack)
        faults = '[{"type": "background", "queued_polls": 1, "in_progress_polls": 3}]'
        made = polling.post(
            "/v1/responses",
            json={"model": "gpt-4o", "input": "Paced elsewhere.", "background": True},
            headers={"X-Bgr-Faults": faults},
        ).json()
        with streaming.stream("GET", f"/v1/responses/{made['id']}", params={"stream": "true"}) as stream:
            lines = stream.iter_lines()
            statuses = []
            for _ in range(6):
                statuses.append(polling.get(f"/v1/responses/{made['id']}").json()["status"])
            body = "\n".join(lines)
        truth = polling.get(f"/_bgr/responses/{made['id']}/truth").json()
        assert statuses[-1] == "completed"
        assert body.count("event: ") == len(truth["events"]) and "event: response.completed" in body


def test_a_store_whose_clock_ran_at_another_time_scale_is_refused(fleet: ServeCommand, redis: RedisServer) -> None:
    # The module's fleet claimed database 0 at time scale 1; a worker at 0.5 would release events on another schedule.
    result = subprocess.run(
        [BGR, "serve", "--port", "0", "--store", f"{redis.url}/0", "--time-scale", "0.5"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "time scale 1, not 0.5" in result.stderr
