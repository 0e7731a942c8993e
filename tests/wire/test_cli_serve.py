"""`bgr serve` as a user runs it: a real process on a loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from mock_server.serve_command import bgr_serve
from tests.raw_http import send

BGR = str(Path(sys.executable).parent / "bgr")


def test_serve_on_port_zero_prints_its_url_and_stops_on_sigterm() -> None:
    with bgr_serve("--seed", "3", "--queue-seconds", "0") as server:
        reply = send("POST", f"{server.base_url}/responses", json_body={"model": "m", "input": "hi"})
        assert reply.status == 200 and reply.json()["status"] == "completed"
        code = server.stop()
        stderr = server.stderr_text()
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([BGR, "serve", "--port", str(port)], capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and f"{port}" in result.stderr


def test_bad_option_value_exits_non_zero_without_traceback() -> None:
    result = subprocess.run([BGR, "serve", "--port", "99999"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--port" in result.stderr


def test_serve_with_a_scenario_file_applies_its_rules(tmp_path) -> None:
    scenario = tmp_path / "flaky.yaml"
    scenario.write_text(
        "version: 1\n"
        "description: first create is a 503\n"
        "rules:\n"
        "  - times: 1\n"
        "    match: {path: /v1/responses}\n"
        "    faults: [{type: http_error, status: 503}]\n"
    )
    with bgr_serve("--scenario", str(scenario)) as server:
        url = server.base_url
        statuses = [send("POST", f"{url}/responses", json_body={"model": "m", "input": "x"}).status for _ in range(2)]
    assert statuses == [503, 200]


def test_bad_scenario_file_is_a_one_line_error_naming_file_line_and_field(tmp_path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("version: 1\nrules:\n  - faults:\n      - type: slow\n        jitter: lots\n")
    result = subprocess.run([BGR, "serve", "--scenario", str(scenario)], capture_output=True, text=True, timeout=20)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert f"{scenario}:5: rules[0].faults[0].jitter" in result.stderr
