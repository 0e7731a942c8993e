"""Probe: every fault parameter has a range, checked in the one decoder; out of range is a 400, never a 500."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mock_server.faults import FAULT_TYPES, FaultSpecError, decode_fault
from mock_server.faults.base import HOLD_SECONDS, ranges_of
from tests.paths import ROOT
from tests.raw_http import send

BEHAVIOURS = ROOT / "docs" / "behaviours.md"

# What the probes sent, each once through every path a fault takes.
OUT_OF_RANGE = [
    ({"type": "slow", "tokens_per_second": 1e-320}, "tokens_per_second"),
    ({"type": "slow", "first_token_seconds": 1e308}, "first_token_seconds"),
    ({"type": "background", "queue_seconds": 1e308}, "queue_seconds"),
    ({"type": "hang", "seconds": 1e9}, "seconds"),
    ({"type": "stall", "seconds": HOLD_SECONDS + 1}, "seconds"),
    ({"type": "drop_after_events", "events": 10**30}, "events"),
    ({"type": "fail", "message": "x" * 5000}, "message"),
    ({"type": "http_error", "retry_after": 1e300}, "retry_after"),
]


def test_every_parameter_of_every_fault_has_a_range_or_a_closed_set_of_values() -> None:
    for name, cls in FAULT_TYPES.items():
        ranged = set(ranges_of(cls))
        for parameter, hint in cls.__annotations__.items():
            if parameter == "type":
                continue
            closed = "bool" in str(hint) or "Literal" in str(hint)
            assert parameter in ranged or closed, f"{name}.{parameter} has no range"


def test_the_ranges_in_the_docs_are_the_ranges_in_the_code() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \| `(\w+)` \| ([^|]+?) \|$", BEHAVIOURS.read_text(), re.MULTILINE))
    for name, cls in FAULT_TYPES.items():
        for parameter, allowed in ranges_of(cls).items():
            rows = {text for fault, param, text in documented if (fault, param) == (name, parameter)}
            assert rows and all(text.startswith(allowed.describe()) for text in rows), (name, parameter, rows)


@pytest.mark.parametrize(("spec", "parameter"), OUT_OF_RANGE)
def test_out_of_range_is_refused_by_the_decoder_naming_the_parameter(spec: dict, parameter: str) -> None:
    with pytest.raises(FaultSpecError) as raised:
        decode_fault(spec)
    assert raised.value.field == f"fault.{parameter}"
    assert "must be" in raised.value.message


def test_out_of_range_is_refused_when_made_in_python_too() -> None:
    with pytest.raises(ValueError, match="seconds must be 0 to 600"):
        FAULT_TYPES["hang"](seconds=1e9)  # type: ignore[call-arg]


@pytest.mark.parametrize(("spec", "parameter"), OUT_OF_RANGE)
def test_out_of_range_over_the_wire_is_a_400_envelope(mock, spec: dict, parameter: str) -> None:
    body = {"model": "m", "input": "range probe", "background": True}
    header = send("POST", f"{mock.base_url}/responses", json_body=body, headers={"X-Bgr-Faults": f"[{_json(spec)}]"})
    assert header.status == 400, header.body
    assert header.json()["error"]["param"] == "X-Bgr-Faults" and parameter in header.json()["error"]["message"]
    rule = send("POST", f"{mock.url}/_bgr/rules", json_body={"faults": [spec]})
    assert rule.status == 400 and rule.json()["error"]["param"] == f"rule.faults[0].{parameter}"


def test_a_deeply_nested_parameter_is_a_400_not_a_500(mock) -> None:
    nested = "[" * 1000 + "1" + "]" * 1000  # orjson parses up to 1,024 levels; repr() gives up sooner
    body = f'{{"faults": [{{"type": "slow", "jitter": {nested}}}]}}'.encode()
    reply = send("POST", f"{mock.url}/_bgr/rules", body=body)
    assert reply.status == 400 and reply.json()["error"]["param"] == "rule.faults[0].jitter"


def test_server_timing_out_of_range_is_a_scenario_error(tmp_path: Path) -> None:
    from mock_server.scenario_file import ScenarioError, load_scenario

    path = tmp_path / "huge.yaml"
    path.write_text("version: 1\nserver:\n  background:\n    queue_seconds: 1.0e+308\n")
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert (raised.value.line, raised.value.field) == (4, "server.background.queue_seconds")


def _json(value: object) -> str:
    import json

    return json.dumps(value)


@pytest.mark.parametrize("name", [[1], {"a": 1}, 7, None])
def test_a_fault_type_that_is_not_a_string_is_a_400(mock, name: object) -> None:
    reply = send("POST", f"{mock.url}/_bgr/rules", json_body={"faults": [{"type": name}]})
    assert reply.status == 400 and reply.json()["error"]["param"] == "rule.faults[0].type"
