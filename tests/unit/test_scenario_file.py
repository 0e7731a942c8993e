"""Scenario files load into settings and rules; every mistake is reported as FILE:LINE: FIELD: message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mock_server import scenario_file
from mock_server.config import ServerConfig, Timing
from mock_server.faults import FAULT_TYPES
from mock_server.faults.drop_after_events import DropAfterEvents
from mock_server.faults.slow import Slow
from mock_server.scenario_file import SUFFIXES, ScenarioError, load_scenario, parse_scenario
from tests.paths import ROOT

EXAMPLES = sorted(path for path in (ROOT / "scenarios" / "mock").iterdir() if path.suffix in SUFFIXES)
BEHAVIOURS_DOC = ROOT / "docs" / "behaviours.md"


def write(tmp_path: Path, text: str, name: str = "bad.yaml", *, versioned: bool = True) -> Path:
    """A scenario file of `text`, with `version: 1` added: last in YAML (so lines stay put), first in TOML."""
    path = tmp_path / name
    if versioned:
        text = f"version = 1\n{text}" if name.endswith(".toml") else f"{text.rstrip()}\nversion: 1\n"
    path.write_text(text)
    return path


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{caught.value.line}: {caught.value.field}: "), message
    return caught.value


# ---- the examples ------------------------------------------------------------------------


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.description
    assert scenario.rules
    scenario.apply(ServerConfig())


def test_an_example_decodes_to_rules() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "mock" / "drop-mid-stream.yaml")
    (rule,) = scenario.rules
    assert rule.times == 1
    assert rule.match.input_contains == "[drop]"
    assert rule.match.stream is True
    assert rule.faults == (DropAfterEvents(events=8),)


# ---- settings ----------------------------------------------------------------------------


def test_apply_overrides_only_what_is_given(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "server:\n  seed: 7\n  answer_tokens: 5\n  time_scale: 0.5\n"
        "  background: {queue_seconds: 2}\n  foreground: {tokens_per_second: 10}\n",
        "ok.yaml",
    )
    base = ServerConfig(background=Timing(1.0, 0.5, 40.0), max_body_bytes=123)
    config = load_scenario(path).apply(base)
    assert config.seed == 7
    assert config.answer_tokens == 5
    assert config.time_scale == 0.5
    assert config.background == Timing(queue_seconds=2.0, first_token_seconds=0.5, tokens_per_second=40.0)
    assert config.foreground == Timing(tokens_per_second=10.0)
    assert config.max_body_bytes == 123


def test_a_file_with_only_its_version_changes_nothing(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "", "empty.yaml"))
    assert scenario.rules == [] and scenario.caller is None
    assert scenario.apply(ServerConfig()) == ServerConfig()


def test_the_version_is_required_and_known(tmp_path: Path) -> None:
    missing = error_of(write(tmp_path, "description: x\n", versioned=False))
    assert (missing.line, missing.field) == (1, "version") and "required" in missing.message
    empty = error_of(write(tmp_path, "", "empty.yaml", versioned=False))
    assert empty.field == "version"
    unknown = error_of(write(tmp_path, "version: 2\ndescription: x\n", versioned=False))
    assert (unknown.line, unknown.field) == (1, "version")
    assert "unknown version 2; this bgr reads version 1" in unknown.message
    toml = error_of(write(tmp_path, 'version = "1"\n', "bad.toml", versioned=False))
    assert (toml.line, toml.field) == (1, "version")


def test_the_caller_part_is_kept_as_data_without_a_decoder(tmp_path: Path) -> None:
    text = "id: x\nsuite: s\ndescription: d\nscript:\n  - start: {stream: true}\nchecks: [null-means-done]\n"
    scenario = load_scenario(write(tmp_path, text, "ok.yaml"))
    assert (scenario.id, scenario.suite) == ("x", "s")
    assert scenario.caller == {"script": [{"start": {"stream": True}}], "checks": ["null-means-done"]}


def test_toml_loads_too(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """description = "slow and dropped"

[server]
seed = 3

[server.background]
queue_seconds = 0.5

[[rules]]
name = "slow"
[rules.match]
stream = true
[[rules.faults]]
type = "slow"
tokens_per_second = 20
jitter = 0.25

[[rules]]
times = 1
faults = [{ type = "drop_after_events", events = 4 }]
""",
        "ok.toml",
    )
    scenario = load_scenario(path)
    assert scenario.description == "slow and dropped"
    assert [rule.faults for rule in scenario.rules] == [
        (Slow(tokens_per_second=20.0, jitter=0.25),),
        (DropAfterEvents(events=4),),
    ]
    assert scenario.rules[0].match.stream is True
    config = scenario.apply(ServerConfig())
    assert (config.seed, config.background.queue_seconds) == (3, 0.5)


def test_toml_errors_point_at_the_key(tmp_path: Path) -> None:
    text = '[[rules]]\n[[rules.faults]]\ntype = "slow"\n\n[[rules]]\n[[rules.faults]]\ntype = "slow"\njitter = "x"\n'
    error = error_of(write(tmp_path, text, "bad.toml"))
    assert (error.line, error.field) == (9, "rules[1].faults[0].jitter")


def test_toml_syntax_error(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, 'description = "a"\nrules = [\n', "bad.toml"))
    assert error.field == "syntax"
    assert error.line is not None


# ---- errors: file, line and field --------------------------------------------------------


def test_yaml_syntax_error(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "description: fine\nrules:\n  - faults: [\n    {type: slow}\n  oops: 1\n"))
    assert error.field == "syntax"
    assert error.line == 5


def test_a_yaml_syntax_error_names_what_the_parser_met(tmp_path: Path) -> None:
    # libyaml parses the files; its messages leave out the alias and the character, the pure-Python parser's say them.
    alias = error_of(write(tmp_path, "description: &d fine\nid: *nowhere\n"))
    assert (alias.line, alias.field) == (2, "syntax")
    assert "'nowhere'" in alias.message
    tab = error_of(write(tmp_path, "description: fine\n\tid: x\n"))
    assert tab.field == "syntax"
    assert "'\\t'" in tab.message


@pytest.mark.parametrize(
    "path",
    [*EXAMPLES, *sorted((ROOT / "scenarios").glob("*/*.yaml"))],
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_libyaml_and_the_pure_python_parser_decode_a_file_alike(path: Path) -> None:
    fast = scenario_file._parse_yaml_with(scenario_file._FAST_LOADER, path.read_text(), str(path))
    pure = scenario_file._parse_yaml_with(yaml.SafeLoader, path.read_text(), str(path))
    assert fast[0] == pure[0]
    assert scenario_file._yaml_line(fast[1], "rules[0].faults") == scenario_file._yaml_line(pure[1], "rules[0].faults")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "description: x\n\nrulez: []\n"))
    assert (error.line, error.field) == (3, "rulez")
    assert "unknown key" in error.message


def test_unknown_fault_type(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "rules:\n  - faults:\n      - type: slow\n      - type: sloow\n"))
    assert (error.line, error.field) == (4, "rules[0].faults[1].type")
    assert "unknown fault 'sloow'" in error.message


def test_wrong_parameter_type_names_its_exact_line(tmp_path: Path) -> None:
    text = """\
description: jitter given as a word
rules:
  - name: fine
    faults:
      - type: slow
  - name: broken
    match:
      stream: true
    faults:
      - type: slow
        tokens_per_second: 20
      - type: slow
        first_token_seconds: 1
        jitter: x
"""
    path = write(tmp_path, text)
    error = error_of(path)
    assert str(error) == f"{path}:14: rules[1].faults[1].jitter: expected a number, got 'x'"


def test_missing_faults_points_at_the_rule(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "rules:\n  - name: nothing to do\n    times: 1\n"))
    # The key is missing, so the nearest existing parent (the rule) is named by its line.
    assert (error.line, error.field) == (2, "rules[0].faults")
    assert "non-empty list" in error.message


def test_bad_match_key(tmp_path: Path) -> None:
    text = "rules:\n  - match:\n      model: gpt-4o\n      prompt: '[x]'\n    faults: [{type: hang}]\n"
    error = error_of(write(tmp_path, text))
    assert (error.line, error.field) == (4, "rules[0].match.prompt")
    assert "unknown match key" in error.message


def test_bad_server_setting(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "server:\n  background:\n    queue_seconds: -1\n"))
    assert (error.line, error.field) == (3, "server.background.queue_seconds")


def test_a_fault_rejecting_its_values_together_points_at_the_fault(tmp_path: Path) -> None:
    text = "rules:\n  - faults:\n    - type: background\n      queue_seconds: 1\n      queued_polls: 2\n"
    error = error_of(write(tmp_path, text))
    assert (error.line, error.field) == (3, "rules[0].faults[0]")


def test_a_parameter_out_of_its_range_points_at_the_parameter(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "rules:\n  - faults:\n    - type: slow\n      jitter: 2\n"))
    assert (error.line, error.field) == (4, "rules[0].faults[0].jitter")
    assert "must be 0 to 1" in error.message


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "rules:\n  - faults: [{type: slow}]\n    faults: [{type: hang}]\n"))
    assert (error.line, error.field) == (3, "rules[0].faults")


def test_top_level_must_be_a_table(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "- type: slow\n", versioned=False))
    assert error.line == 1


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="unsupported file type"):
        load_scenario(write(tmp_path, "{}", "x.json"))


def test_parse_scenario_names_the_source() -> None:
    with pytest.raises(ScenarioError, match=r"^inline:2: rules: expected a list"):
        parse_scenario("version: 1\nrules: {}", "inline")


# ---- the reference page ------------------------------------------------------------------


def test_every_fault_is_documented() -> None:
    text = BEHAVIOURS_DOC.read_text()
    headings = set(re.findall(r"^### (\w+)$", text, flags=re.MULTILINE))
    missing = sorted(name for name in FAULT_TYPES if name not in headings or f"type: {name}" not in text)
    assert not missing, f"docs/behaviours.md lacks a section (with an example) for: {missing}"
