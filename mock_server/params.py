"""Request bodies checked and turned into typed parameters, or an OpenAI 400 naming the field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mock_server.errors import APIError, invalid_type, invalid_value, missing_parameter

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
_LONGEST_CURSOR_DIGITS = 18
_PAST_ANY_LOG = 10**18


@dataclass(frozen=True, slots=True)
class ResponseParams:
    """The parts of a `POST /v1/responses` body that the mock acts on or echoes back."""

    model: str
    input_text: str
    """Every text of the input joined by newlines: what the answer is derived from."""
    instructions: str | None
    background: bool
    stream: bool
    store: bool
    metadata: tuple[tuple[str, str], ...]
    """Key-value pairs in request order (a tuple, so that params can key a cache)."""
    temperature: float | None
    top_p: float | None
    max_output_tokens: int | None
    previous_response_id: str | None


@dataclass(frozen=True, slots=True)
class ChatParams:
    model: str
    input_text: str
    stream: bool
    include_usage: bool


def parse_response_params(body: Any) -> ResponseParams:
    fields = _object(body)
    model = _required_str(fields, "model")
    if "input" not in fields or fields["input"] is None:
        raise missing_parameter("input")
    background = _bool(fields, "background", False)
    store = _bool(fields, "store", True)
    if background and not store:
        raise invalid_value("store", "background mode requires 'store' to be true.")
    return ResponseParams(
        model=model,
        input_text=_input_text(fields["input"], "input"),
        instructions=_optional_str(fields, "instructions"),
        background=background,
        stream=_bool(fields, "stream", False),
        store=store,
        metadata=_metadata(fields),
        temperature=_optional_number(fields, "temperature"),
        top_p=_optional_number(fields, "top_p"),
        max_output_tokens=_optional_int(fields, "max_output_tokens"),
        previous_response_id=_optional_str(fields, "previous_response_id"),
    )


def parse_chat_params(body: Any) -> ChatParams:
    fields = _object(body)
    model = _required_str(fields, "model")
    messages = fields.get("messages")
    if messages is None:
        raise missing_parameter("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_value("messages", "expected a non-empty array of messages.")
    stream_options = fields.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise invalid_type("stream_options", "an object", stream_options)
    include_usage = bool(stream_options and stream_options.get("include_usage"))
    return ChatParams(
        model=model,
        input_text=_input_text(messages, "messages"),
        stream=_bool(fields, "stream", False),
        include_usage=include_usage,
    )


def parse_cursor(raw: str | None) -> int | None:
    """`starting_after`: a whole number of at least -1 (-1 replays from the first event)."""
    if raw is None:
        return None
    # Plain ASCII digits only: int() would also take "1_0", " 5 " and other scripts' digits.
    if _WHOLE_NUMBER.fullmatch(raw) is None:
        raise APIError(
            400,
            f"Invalid 'starting_after': expected an integer, but got '{raw[:64]}' instead.",
            param="starting_after",
            code="invalid_type",
        )
    if len(raw.lstrip("-")) > _LONGEST_CURSOR_DIGITS:
        # Far beyond any log (and beyond what int() will parse): past the end, or far below -1.
        if raw.startswith("-"):
            raise invalid_value("starting_after", "must be at least -1.")
        return _PAST_ANY_LOG
    cursor = int(raw)
    if cursor < -1:
        raise invalid_value("starting_after", "must be at least -1.")
    return cursor


def parse_index(raw: str, param: str) -> int:
    """A whole number of at least 0 (a journal position, a rule id), read as strictly as a cursor."""
    if _WHOLE_NUMBER.fullmatch(raw) is None or raw.startswith("-"):
        raise APIError(
            400,
            f"Invalid '{param}': expected a whole number, but got '{raw[:64]}' instead.",
            param=param,
            code="invalid_type",
        )
    # Past every journal and rule book (and what int() parses): beyond the end.
    return _PAST_ANY_LOG if len(raw) > _LONGEST_CURSOR_DIGITS else int(raw)


def parse_flag(raw: str | None, param: str) -> bool:
    if raw is None or raw in ("false", "0", ""):
        return False
    if raw in ("true", "1"):
        return True
    raise invalid_value(param, f"expected 'true' or 'false', got '{raw[:64]}'.")


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise APIError(400, "The request body must be a JSON object.", code="invalid_json")
    return body


def _required_str(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        raise missing_parameter(name)
    if not isinstance(value, str):
        raise invalid_type(name, "a string", value)
    if not value:
        raise invalid_value(name, "must not be empty.")
    return value


def _optional_str(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_type(name, "a string", value)
    return value


def _bool(fields: dict[str, Any], name: str, default: bool) -> bool:
    value = fields.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_type(name, "a boolean", value)
    return value


def _optional_number(fields: dict[str, Any], name: str) -> float | None:
    value = fields.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise invalid_type(name, "a number", value)
    return value


def _optional_int(fields: dict[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer", value)
    if value < 1:
        raise invalid_value(name, "must be at least 1.")
    return value


def _metadata(fields: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    value = fields.get("metadata")
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise invalid_type("metadata", "an object", value)
    if len(value) > 16:
        raise invalid_value("metadata", "at most 16 keys are allowed.")
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid_type(f"metadata.{key}", "a string", item)
    return tuple(value.items())


def _input_text(value: Any, param: str) -> str:
    """Texts of a string input, or of a list of messages / input items, joined."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise invalid_type(param, "a string or an array", value)
    texts: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise invalid_type(f"{param}[{index}]", "an object", item)
        content = item.get("content", item.get("output", item.get("text")))
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part_index, part in enumerate(content):
                if not isinstance(part, dict):
                    raise invalid_type(f"{param}[{index}].content[{part_index}]", "an object", part)
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
        elif content is not None:
            raise invalid_type(f"{param}[{index}].content", "a string or an array", content)
    return "\n".join(texts)
