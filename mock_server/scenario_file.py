"""Scenario files, the one format of bgr: what the backend does and, optionally, what a caller does.

One file is one case, in YAML (or TOML), with errors that point at a line::

    version: 1
    id: stream-cut-mid-delta            # these four are for `bgr run`; a file without a
    suite: streaming                    # `script` is a scenario for the mock alone
    description: A stream cut after 8 updates, resumed from the last token.
    server: {seed: 7, answer_tokens: 24, time_scale: 0.1, background: {queue_seconds: 2}}
    rules:
      - match: {input_contains: "[drop]"}
        times: 1
        faults: [{type: drop_after_events, events: 8}]
    script:
      - start: {stream: true, max_updates: 8}
      - resume: {}
    checks: [null-means-done, resume-exactly-once]

This module decodes all of it. The caller's part (`script`, `checks`, `token_budget_bytes`) means
something only to a harness, so its decoder is handed in (`CallerDecoder`); without one it is kept
as plain data. Every error is a `ScenarioError` whose message is one line,
`FILE:LINE: FIELD: message`, so editors and CI logs can jump to it. Only a file that cannot be read
at all gets `FILE: message`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml

from mock_server.config import ServerConfig, Timing
from mock_server.faults import FaultSpecError
from mock_server.playback import decode_match_on, decode_unmatched
from mock_server.rules import Rule, decode_rule

__all__ = [
    "CALLER_KEYS",
    "FORMAT_VERSION",
    "SUFFIXES",
    "CallerDecoder",
    "Scenario",
    "ScenarioError",
    "ServerSettings",
    "TimingSettings",
    "load_scenario",
    "parse_scenario",
]

Syntax = Literal["yaml", "toml"]
SUFFIXES: dict[str, Syntax] = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}
FORMAT_VERSION = 1
"""The version this bgr reads and writes; a file of another version is refused, never half-read."""

CALLER_KEYS = ("script", "checks", "token_budget_bytes")
"""The caller's part of a file: decoded by the harness's `CallerDecoder`."""
_TOP_KEYS = ("version", "id", "suite", "description", "prompt", "server", "rules", "cassettes", *CALLER_KEYS)
_SERVER_KEYS = ("seed", "answer_tokens", "time_scale", "background", "foreground", "match_on", "unmatched")
_TIMING_KEYS = ("queue_seconds", "first_token_seconds", "tokens_per_second")
_TOP_LEVEL = "(top level)"
_SYNTAX = "syntax"

C = TypeVar("C")
CallerDecoder = Callable[[Mapping[str, Any]], C]
"""Decodes the caller's part from the whole file's mapping; raises `FaultSpecError(field, message)`."""


class ScenarioError(ValueError):
    """A scenario file is wrong: `str(error)` is `FILE:LINE: FIELD: message` on one line."""

    def __init__(self, path: str, line: int | None, field: str, message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.message = " ".join(message.split())
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}")


# ---- what a scenario is ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimingSettings:
    """Overrides of a `Timing`; None keeps the base value."""

    queue_seconds: float | None = None
    first_token_seconds: float | None = None
    tokens_per_second: float | None = None

    def apply(self, timing: Timing) -> Timing:
        changes = {name: value for name in _TIMING_KEYS if (value := getattr(self, name)) is not None}
        return dataclasses.replace(timing, **changes) if changes else timing


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Overrides of a `ServerConfig`; None (or an empty TimingSettings) keeps the base value."""

    seed: int | None = None
    answer_tokens: int | None = None
    time_scale: float | None = None
    background: TimingSettings = field(default_factory=TimingSettings)
    foreground: TimingSettings = field(default_factory=TimingSettings)
    cassettes: tuple[str, ...] = ()
    """Paths of vcrpy cassettes (resolved against the scenario file's folder), added to the config's."""
    match_on: tuple[str, ...] | None = None
    unmatched: str | None = None

    def apply(self, config: ServerConfig) -> ServerConfig:
        changes: dict[str, Any] = {
            name: value
            for name in ("seed", "answer_tokens", "time_scale", "match_on", "unmatched")
            if (value := getattr(self, name)) is not None
        }
        if self.cassettes:
            changes["cassettes"] = (*config.cassettes, *self.cassettes)
        return dataclasses.replace(
            config,
            **changes,
            background=self.background.apply(config.background),
            foreground=self.foreground.apply(config.foreground),
        )


@dataclass(slots=True)
class Scenario(Generic[C]):
    path: str
    description: str | None = None
    server: ServerSettings = field(default_factory=ServerSettings)
    rules: list[Rule] = field(default_factory=list)
    """Fresh Rule objects: a RuleBook numbers them and counts their uses, so load again to start over."""
    id: str | None = None
    suite: str | None = None
    prompt: str | None = None
    caller: C | None = None
    """The caller's part as the `CallerDecoder` made it (without one: the raw `CALLER_KEYS` mapping);
    None when the file has none: a scenario for the mock alone."""
    version: int = FORMAT_VERSION

    def apply(self, config: ServerConfig) -> ServerConfig:
        """`config` with this scenario's server settings on top."""
        return self.server.apply(config)


# ---- loading -----------------------------------------------------------------------------


def load_scenario(path: str | os.PathLike[str], caller: CallerDecoder[C] | None = None) -> Scenario[C]:
    """Read a `.yaml`/`.yml` or `.toml` scenario file; any problem raises ScenarioError."""
    name = os.fspath(path)
    syntax = SUFFIXES.get(Path(name).suffix.lower())
    if syntax is None:
        raise ScenarioError(name, None, "", f"unsupported file type; expected one of {', '.join(SUFFIXES)}")
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ScenarioError(name, None, "", f"cannot read: {reason}") from None
    return parse_scenario(text, name, syntax, caller)


def parse_scenario(
    text: str, path: str = "<scenario>", syntax: Syntax = "yaml", caller: CallerDecoder[C] | None = None
) -> Scenario[C]:
    """A scenario from the text of a file; `path` only names it in errors."""
    locate: Callable[[str], int]
    if syntax == "toml":
        data = _parse_toml(text, path)
        locate = partial(_toml_line, text)
    else:
        data, root = _parse_yaml(text, path)
        locate = partial(_yaml_line, root)

    try:
        return _decode(data, path, caller)
    except FaultSpecError as error:
        raise ScenarioError(path, locate(error.field), error.field or _TOP_LEVEL, error.message) from None


def _decode(data: Any, path: str, caller: CallerDecoder[C] | None) -> Scenario[C]:
    if data is None:
        raise FaultSpecError("version", f"the file is empty; a scenario starts with `version: {FORMAT_VERSION}`")
    if not isinstance(data, dict):
        raise FaultSpecError("", f"expected a table with keys {', '.join(_TOP_KEYS)}, got {_kind(data)}")
    _decode_version(data)
    _no_unknown_keys(data, _TOP_KEYS, "")
    text_fields = {key: _text(data.get(key), key) for key in ("id", "suite", "description", "prompt")}
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise FaultSpecError("rules", f"expected a list of rules, got {_kind(rules)}")
    part: Any = None
    if any(key in data for key in CALLER_KEYS):
        part = caller(data) if caller else {key: data[key] for key in CALLER_KEYS if key in data}
    server = _decode_server(data.get("server", {}), "server")
    if "cassettes" in data:
        server = dataclasses.replace(server, cassettes=_decode_cassettes(data["cassettes"], path))
    return Scenario(
        path,
        text_fields["description"],
        server,
        [decode_rule(item, f"rules[{i}]") for i, item in enumerate(rules)],
        id=text_fields["id"],
        suite=text_fields["suite"],
        prompt=text_fields["prompt"],
        caller=part,
    )


def _decode_cassettes(value: Any, path: str) -> tuple[str, ...]:
    """Cassette paths, relative to the scenario file; each must exist (its content is read by the mock)."""
    if not isinstance(value, list) or not value:
        raise FaultSpecError("cassettes", f"expected a non-empty list of cassette files, got {_kind(value)}")
    folder = Path(path).parent
    paths = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise FaultSpecError(f"cassettes[{index}]", f"expected a file name, got {item!r}")
        resolved = folder / item
        if not resolved.is_file():
            raise FaultSpecError(f"cassettes[{index}]", f"no such file {str(resolved)!r}")
        paths.append(str(resolved))
    return tuple(paths)


def _decode_version(data: dict[Any, Any]) -> None:
    version = data.get("version")
    if version is None:
        raise FaultSpecError("version", f"required: this bgr reads `version: {FORMAT_VERSION}`")
    if not _is_int(version) or version != FORMAT_VERSION:
        raise FaultSpecError("version", f"unknown version {version!r}; this bgr reads version {FORMAT_VERSION}")


def _text(value: Any, field_path: str) -> str | None:
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise FaultSpecError(field_path, f"expected a non-empty string, got {value!r}")
    return value


def _decode_server(data: Any, field_path: str) -> ServerSettings:
    if not isinstance(data, dict):
        raise FaultSpecError(field_path, f"expected a table, got {_kind(data)}")
    _no_unknown_keys(data, _SERVER_KEYS, field_path)
    seed = data.get("seed")
    if seed is not None and not _is_int(seed):
        raise FaultSpecError(f"{field_path}.seed", f"expected an integer, got {seed!r}")
    answer_tokens = data.get("answer_tokens")
    if answer_tokens is not None and not (_is_int(answer_tokens) and answer_tokens >= 1):
        raise FaultSpecError(
            f"{field_path}.answer_tokens", f"expected a whole number of at least 1, got {answer_tokens!r}"
        )
    time_scale = _number(data.get("time_scale"), f"{field_path}.time_scale")
    if time_scale is not None and time_scale <= 0:
        raise FaultSpecError(f"{field_path}.time_scale", f"must be positive, got {time_scale!r}")
    match_on, unmatched = data.get("match_on"), data.get("unmatched")
    try:
        if match_on is not None:
            if not isinstance(match_on, list) or not all(isinstance(name, str) for name in match_on):
                raise ValueError(f"expected a list of matcher names, got {match_on!r}")
            match_on = decode_match_on(match_on)
    except ValueError as error:
        raise FaultSpecError(f"{field_path}.match_on", str(error)) from None
    try:
        if unmatched is not None:
            unmatched = decode_unmatched(unmatched if isinstance(unmatched, str) else repr(unmatched)).value
    except ValueError as error:
        raise FaultSpecError(f"{field_path}.unmatched", str(error)) from None
    return ServerSettings(
        seed,
        answer_tokens,
        time_scale,
        _decode_timing(data.get("background", {}), f"{field_path}.background"),
        _decode_timing(data.get("foreground", {}), f"{field_path}.foreground"),
        match_on=match_on,
        unmatched=unmatched,
    )


def _decode_timing(data: Any, field_path: str) -> TimingSettings:
    if not isinstance(data, dict):
        raise FaultSpecError(field_path, f"expected a table, got {_kind(data)}")
    _no_unknown_keys(data, _TIMING_KEYS, field_path)
    values = {key: _number(data.get(key), f"{field_path}.{key}") for key in _TIMING_KEYS}
    for key, value in values.items():
        if value is not None and value < 0:
            raise FaultSpecError(f"{field_path}.{key}", f"must not be negative, got {value!r}")
        if value is not None:
            try:  # Timing knows the ranges; only its verdict is wanted here
                Timing(**{key: value})
            except ValueError as error:
                raise FaultSpecError(f"{field_path}.{key}", str(error).removeprefix(f"{key} ")) from None
    return TimingSettings(**values)


def _no_unknown_keys(data: dict[Any, Any], known: tuple[str, ...], field_path: str) -> None:
    for key in data:
        if key not in known:
            where = f"{field_path}.{key}" if field_path else str(key)
            raise FaultSpecError(where, f"unknown key; expected one of {', '.join(known)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any, field_path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultSpecError(field_path, f"expected a number, got {value!r}")
    return float(value)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string"}.get(type(value), repr(value))


# ---- YAML: parse once into nodes (for lines) and data ------------------------------------------


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


_FAST_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it: ~5x faster on a suite's files (every `bgr run` reads them all)."""


def _parse_yaml(text: str, path: str) -> tuple[Any, yaml.Node | None]:
    try:
        return _parse_yaml_with(_FAST_LOADER, text, path)
    except ScenarioError as error:
        if error.field != _SYNTAX or _FAST_LOADER is yaml.SafeLoader:
            raise
    # A syntax error is told in the pure-Python parser's words, which say what it met and where, on any install.
    return _parse_yaml_with(yaml.SafeLoader, text, path)


def _parse_yaml_with(
    loader_type: type[yaml.SafeLoader] | type[yaml.CSafeLoader], text: str, path: str
) -> tuple[Any, yaml.Node | None]:
    loader = loader_type(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_keys(root, "")  # before constructing, which flattens merge keys in place
        return loader.construct_document(root), root
    except _NodeError as error:
        raise ScenarioError(path, error.line, error.field, error.problem) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        # The context says where the parser was ("while parsing a flow sequence"), the problem what it met.
        problem = ", ".join(part for part in (error.context, error.problem) if part) or "invalid YAML"
        raise ScenarioError(path, line, _SYNTAX, problem) from None
    except yaml.YAMLError as error:
        raise ScenarioError(path, None, _SYNTAX, str(error)) from None
    finally:
        loader.dispose()


def _check_keys(node: yaml.Node, field_path: str) -> None:
    """Keys must be strings and unique: YAML itself would silently keep the last of a duplicate."""
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_keys(item, f"{field_path}[{i}]")
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.tag == _MERGE_TAG:
                continue
            if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                where = field_path or _TOP_LEVEL
                raise _NodeError(key, where, f"keys must be strings, got {key.value!r}")
            child = f"{field_path}.{key.value}" if field_path else key.value
            if key.value in seen:
                raise _NodeError(key, child, "duplicate key")
            seen.add(key.value)
            _check_keys(value, child)


class _NodeError(yaml.YAMLError):
    """Raised by `_check_keys`: a well-formed file whose keys are not what a scenario allows."""

    def __init__(self, node: yaml.Node, field_path: str, problem: str) -> None:
        super().__init__(problem)
        self.line = node.start_mark.line + 1
        self.field = field_path
        self.problem = problem


_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _steps(field_path: str) -> list[int | str]:
    """`rules[0].faults[1].jitter` -> ['rules', 0, 'faults', 1, 'jitter']."""
    return [int(index) if index else key for index, key in _STEP.findall(field_path)]


def _yaml_line(root: yaml.Node | None, field_path: str) -> int:
    """The line of what `field_path` names, or of its nearest existing parent when it is missing."""
    if root is None:
        return 1
    node, line = root, root.start_mark.line + 1
    for step in _steps(field_path):
        if isinstance(step, int) and isinstance(node, yaml.SequenceNode) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        elif isinstance(step, str) and isinstance(node, yaml.MappingNode):
            found = next(((key, value) for key, value in node.value if key.value == step), None)
            if found is None:
                break
            # The key's line, not the value's: an empty or nested value starts elsewhere.
            line = found[0].start_mark.line + 1
            node = found[1]
        else:
            break
    return line


# ---- TOML --------------------------------------------------------------------------------------


_TOML_AT = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)\s*$")


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_AT.search(message)
        line = None if found is None else int(found.group(1)) if found.group(1) else max(1, len(text.splitlines()))
        raise ScenarioError(path, line, _SYNTAX, _TOML_AT.sub("", message)) from None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _toml_line(text: str, field_path: str) -> int:
    """A heuristic line for `field_path` in TOML, which keeps no positions after parsing.

    Follows table headers (`[[rules]]` the Nth time, `[[rules.faults]]`, `[server.background]`)
    to the narrowest block that holds the field, then looks for `key =` inside it. Quoted keys,
    dotted keys and inline tables spanning lines can fool it; it then points at the block.
    """
    lines = text.splitlines()
    headers = [
        (i, m.group(1) == "[[", m.group(2).replace(" ", "")) for i, raw in enumerate(lines) if (m := _HEADER.match(raw))
    ]
    start, end, table, line = 0, len(lines), "", 0
    steps = _steps(field_path)
    for n, step in enumerate(steps):
        if isinstance(step, int):
            continue
        name = f"{table}.{step}" if table else step
        following = steps[n + 1] if n + 1 < len(steps) else None
        index = following if isinstance(following, int) else None
        inside = [(i, is_array) for i, is_array, header in headers if start <= i < end and header == name]
        if index is not None:
            inside = [(i, is_array) for i, is_array in inside if is_array]
        nth = index or 0
        chosen = inside[nth] if nth < len(inside) else None
        if chosen is not None:
            start, table, line = chosen[0], name, chosen[0]
            end = next((i for i, _, header in headers if i > start and not header.startswith(f"{name}.")), end)
            continue
        # Not a table of its own: a `key = value` line, ideally among the table's direct keys.
        first_sub = next((i for i, _, _ in headers if start < i < end), end)
        pattern = re.compile(rf"^\s*{re.escape(step)}\s*[=.]")
        hit = next((i for i in range(start, first_sub) if pattern.match(lines[i])), None)
        if hit is None:
            hit = next((i for i in range(start, end) if pattern.match(lines[i])), None)
        if hit is not None:
            line = hit
        break
    return line + 1
