"""Conformance scenarios through the one decoder: every shipped file loads, and a mistake in the caller's part
is reported as FILE:LINE: FIELD: message like any other."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.conformance.scenarios import (
    SCENARIOS_DIR,
    bound_rules,
    discover,
    load_conformance_scenario,
    script_of,
)
from mock_server.scenario_file import SUFFIXES, ScenarioError, load_scenario

SHIPPED = sorted(path for path in SCENARIOS_DIR.glob("*/*") if path.suffix in SUFFIXES)
PLAYABLE = """\
version: 1
id: tiny
suite: core
description: A stream read to its end.
rules:
  - match: {stream: true}
    faults: [{type: slice_writes, size: 7}]
script:
  - start: {stream: true}
checks: [null-means-done]
"""


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_conformance_scenario(path)
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_shipped_scenario_is_version_1_and_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.version == 1 and path.read_text().startswith("version: 1\n")
    if path.parent.name == "mock":
        assert scenario.caller is None
    else:
        playable = load_conformance_scenario(path)
        assert playable.suite == path.parent.name and playable.id == path.stem
        assert script_of(playable).steps[0].kind == "start"


def test_discover_finds_every_suite_file() -> None:
    assert len(discover()) == len([path for path in SHIPPED if path.parent.name != "mock"])


def test_a_playable_scenario_decodes_its_script_and_binds_its_rules_to_a_marker(tmp_path: Path) -> None:
    scenario = load_conformance_scenario(write(tmp_path, PLAYABLE))
    script = script_of(scenario)
    assert [step.kind for step in script.steps] == ["start"] and script.checks == ("null-means-done",)
    (bound,) = bound_rules(scenario, "[bgr:tiny:1]")
    assert (bound.match.input_contains, bound.match.stream) == ("[bgr:tiny:1]", True)
    assert scenario.rules[0].match.input_contains is None  # the file's own rule is left as it was


def test_toml_scenarios_play_too(tmp_path: Path) -> None:
    text = 'version = 1\nid = "tiny"\nsuite = "core"\ndescription = "d"\nchecks = ["null-means-done"]\n'
    text += "[[script]]\nstart = { stream = true }\n"
    assert script_of(load_conformance_scenario(write(tmp_path, text, "case.toml"))).steps[0].params == {"stream": True}


@pytest.mark.parametrize(
    ("change", "line", "field", "words"),
    [
        (("  - start: {stream: true}", "  - start: {stream: true}\n  - rewind: {}"), 10, "script[1]", "unknown step"),
        (("start: {stream: true}", "start: {stream: yes please}"), 9, "script[0].start.stream", "wrongly typed"),
        (("checks: [null-means-done]", "checks: [null-means-done, no-such-check]"), 10, "checks[1]", "unknown check"),
        (("id: tiny\n", ""), 1, "id", "required with a script"),
        (("checks: [null-means-done]", "checks: []\ntoken_budget_bytes: 0"), 10, "checks", "non-empty list"),
        (("  - start: {stream: true}", "  - poll: {}"), 9, "script[0]", "begins with `start`"),
    ],
)
def test_a_mistake_in_the_caller_part_names_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, words: str
) -> None:
    path = write(tmp_path, PLAYABLE.replace(*change))
    error = error_of(path)
    assert (error.line, error.field) == (line, field), error
    assert words in error.message and str(error).startswith(f"{path}:{line}: {field}: ")


def test_a_file_for_the_mock_alone_is_not_playable(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "version: 1\nrules: []\n"))
    assert error.field == "script" and "bgr serve --scenario" in error.message
