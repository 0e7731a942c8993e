"""Request bodies checked and turned into typed parameters, or an OpenAI 400 naming the field."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

import orjson

from mock_server.errors import APIError, invalid_type, invalid_value, missing_parameter

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
_LONGEST_CURSOR_DIGITS = 18
_PAST_ANY_LOG = 10**18
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_FEWEST_OUTPUT_TOKENS = 16
"""The real API refuses a `max_output_tokens` below this."""
_TOOL_TYPES = (
    "function",
    "file_search",
    "computer_use_preview",
    "web_search",
    "web_search_preview",
    "mcp",
    "code_interpreter",
    "image_generation",
    "local_shell",
    "custom",
)
_TOOL_CHOICES = ("none", "auto", "required")
_LESS_COMMON_FIELDS = frozenset(
    {
        "conversation",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "text",
        "service_tier",
        "top_logprobs",
        "frequency_penalty",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_retention",
        "safety_identifier",
        "max_tool_calls",
        "truncation",
        "user",
    }
)


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A function tool of the request, echoed back in every Response object."""

    name: str
    description: str | None = None
    parameters: str | None = None
    """The JSON schema of its arguments, encoded (a string keeps the params hashable, so they key a cache)."""
    strict: bool = True

    def as_dict(self) -> dict[str, Any]:
        schema = orjson.loads(self.parameters) if self.parameters is not None else None
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": schema,
            "strict": self.strict,
        }


@dataclass(frozen=True, slots=True)
class InputItems:
    """What the input of a create says about a tool loop, besides its text."""

    text: str
    function_calls: tuple[str, ...]
    """Call ids of the `function_call` items, in order."""
    tool_outputs: tuple[tuple[str, str], ...]
    """(call_id, output) of the `function_call_output` items, in order."""
    tool_rounds: int
    """Runs of consecutive `function_call` items: model turns that called tools."""


@dataclass(frozen=True, slots=True)
class ToolLoop:
    """What a create says about tools: those offered, how the model may call them, the outputs it hands back."""

    tools: tuple[FunctionTool, ...] = ()
    tool_choice: str = "auto"
    """`auto`, `none`, `required`, or `function` (then `tool_choice_name` names it)."""
    tool_choice_name: str | None = None
    parallel_tool_calls: bool = True
    max_tool_calls: int | None = None
    tool_outputs: tuple[tuple[str, str], ...] = ()
    """(call_id, output) of this request's `function_call_output` items."""
    known_call_ids: tuple[str, ...] = ()
    """Call ids of every function call earlier in the conversation (this input and previous responses)."""
    tool_rounds: int = 0
    """Model turns earlier in the conversation that called tools."""

    @property
    def tool_choice_echo(self) -> str | dict[str, str]:
        if self.tool_choice == "function":
            return {"type": "function", "name": self.tool_choice_name or ""}
        return self.tool_choice


@dataclass(frozen=True, slots=True)
class EchoedSettings:
    """Settings a Response echoes back and the mock does not act on; the defaults are the real API's."""

    reasoning_effort: str | None = None
    reasoning_summary: str | None = None
    text_verbosity: str = "medium"
    text_format: str | None = None
    """`text.format` when it is not plain text, encoded (hashable)."""
    service_tier: str = "auto"
    top_logprobs: int = 0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    safety_identifier: str | None = None
    truncation: str = "disabled"
    user: str | None = None


_TEXT_ONLY = InputItems("", (), (), 0)
"""A string input: its text is the input itself (no object made per request for it)."""
NO_TOOLS = ToolLoop()
DEFAULT_SETTINGS = EchoedSettings()


@dataclass(frozen=True, slots=True)
class ResponseParams:
    """The parts of a `POST /v1/responses` body that the mock acts on or echoes back."""

    model: str
    input_text: str
    """Every text of the input joined by newlines (and, continuing a response, the conversation's before it):
    what the answer is derived from."""
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
    # Two groups, shared defaults: a frozen dataclass pays for every field it sets, and most requests set none.
    # Their defaults also keep recipes stored before them loadable.
    tool_loop: ToolLoop = NO_TOOLS
    settings: EchoedSettings = DEFAULT_SETTINGS


def response_params_from_dict(data: dict[str, Any]) -> ResponseParams:
    """ResponseParams from their `dataclasses.asdict` form (a durable store's copy), old or new."""
    known = {field.name for field in fields(ResponseParams)}
    values = {key: value for key, value in data.items() if key in known}
    metadata = values.get("metadata", ())
    # Earlier versions stored metadata as an object; now it is a list of pairs.
    pairs = metadata.items() if isinstance(metadata, dict) else metadata
    values["metadata"] = tuple((key, value) for key, value in pairs)
    loop = values.get("tool_loop")
    if loop is not None:
        values["tool_loop"] = ToolLoop(
            **{
                **loop,
                "tools": tuple(FunctionTool(**tool) for tool in loop["tools"]),
                "tool_outputs": tuple((call_id, output) for call_id, output in loop["tool_outputs"]),
                "known_call_ids": tuple(loop["known_call_ids"]),
            }
        )
    if values.get("settings") is not None:
        values["settings"] = EchoedSettings(**values["settings"])
    return ResponseParams(**values)


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
    max_output_tokens = _optional_int(fields, "max_output_tokens")
    if max_output_tokens is not None and max_output_tokens < _FEWEST_OUTPUT_TOKENS:
        raise APIError(
            400,
            "Invalid 'max_output_tokens': integer below minimum value. "
            f"Expected a value >= {_FEWEST_OUTPUT_TOKENS}, but got {max_output_tokens} instead.",
            param="max_output_tokens",
            code="integer_below_min_value",
        )
    raw_input = fields["input"]
    items = _TEXT_ONLY if isinstance(raw_input, str) else _input_items(raw_input)
    common = (
        model,
        raw_input if items is _TEXT_ONLY else items.text,
        _optional_str(fields, "instructions"),
        background,
        _bool(fields, "stream", False),
        store,
        _metadata(fields),
        _optional_number(fields, "temperature"),
        _optional_number(fields, "top_p"),
        max_output_tokens,
        _optional_str(fields, "previous_response_id"),
    )
    if _LESS_COMMON_FIELDS.isdisjoint(fields):
        # Most requests set none of them: their defaults are shared, and this path stays as cheap as it was.
        if not items.function_calls and not items.tool_outputs:
            return ResponseParams(*common)
        return ResponseParams(*common, ToolLoop(**_conversation_so_far(items)))
    _no_conversation(fields)
    tools = _tools(fields)
    tool_choice, tool_choice_name = _tool_choice(fields, tools)
    effort, summary = _reasoning(fields)
    tool_loop = ToolLoop(
        tools=tools,
        tool_choice=tool_choice,
        tool_choice_name=tool_choice_name,
        parallel_tool_calls=_bool(fields, "parallel_tool_calls", True),
        max_tool_calls=_optional_int(fields, "max_tool_calls"),
        **_conversation_so_far(items),
    )
    settings = EchoedSettings(
        reasoning_effort=effort,
        reasoning_summary=summary,
        text_verbosity=_text_verbosity(fields),
        text_format=_text_format(fields),
        service_tier=_choice(fields, "service_tier", ("auto", "default", "flex", "scale", "priority"), "auto"),
        top_logprobs=_ranged_int(fields, "top_logprobs", 0, 20) or 0,
        frequency_penalty=_optional_number(fields, "frequency_penalty") or 0.0,
        presence_penalty=_optional_number(fields, "presence_penalty") or 0.0,
        prompt_cache_key=_optional_str(fields, "prompt_cache_key"),
        prompt_cache_retention=_optional_choice(fields, "prompt_cache_retention", ("in_memory", "24h")),
        safety_identifier=_optional_str(fields, "safety_identifier"),
        truncation=_choice(fields, "truncation", ("auto", "disabled"), "disabled"),
        user=_optional_str(fields, "user"),
    )
    return ResponseParams(*common, tool_loop, settings)


def _conversation_so_far(items: InputItems) -> dict[str, Any]:
    return {
        "tool_outputs": items.tool_outputs,
        "known_call_ids": items.function_calls,
        "tool_rounds": items.tool_rounds,
    }


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
        # A function call's arguments and a tool's output are part of what the answer is derived from.
        content = item.get("content", item.get("output", item.get("text", item.get("arguments"))))
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


def _no_conversation(fields: dict[str, Any]) -> None:
    """The mock keeps no Conversations: any `conversation` names one that does not exist, as the real API says."""
    conversation = fields.get("conversation")
    if conversation is None:
        return
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else conversation
    if not isinstance(conversation_id, str):
        raise invalid_type("conversation", "a string or an object with an 'id'", conversation)
    raise APIError(404, f"Conversation with id '{conversation_id[:64]}' not found.", param="conversation")


def _input_items(value: Any) -> InputItems:
    """The input's texts, and its function calls and their outputs, each item checked as the real API checks it."""
    text = _input_text(value, "input")
    calls: list[str] = []
    outputs: list[tuple[str, str]] = []
    rounds = 0
    previous_was_call = False
    for index, item in enumerate(value):
        kind = item.get("type")
        if kind == "function_call":
            calls.append(_item_str(item, "call_id", index))
            _item_str(item, "name", index)
            _item_str(item, "arguments", index)
            rounds += not previous_was_call
        elif kind == "function_call_output":
            call_id = _item_str(item, "call_id", index)
            output = item.get("output")
            if isinstance(output, list):
                output = "".join(part.get("text", "") for part in output if isinstance(part, dict))
            if not isinstance(output, str):
                raise (missing_parameter if output is None else _output_type)(f"input[{index}].output")
            outputs.append((call_id, output))
        previous_was_call = kind == "function_call"
    # An output whose call is not here may answer a previous response's call: checked with the conversation.
    answered = {call_id for call_id, _ in outputs}
    for call_id in calls:
        if call_id not in answered:
            raise APIError(400, f"No tool output found for function call {call_id}.", param="input")
    return InputItems(text, tuple(calls), tuple(outputs), rounds)


def _output_type(param: str) -> APIError:
    return APIError(
        400, f"Invalid type for '{param}': expected a string or an array of content.", param=param, code="invalid_type"
    )


def _item_str(item: dict[str, Any], name: str, index: int) -> str:
    value = item.get(name)
    param = f"input[{index}].{name}"
    if value is None:
        raise missing_parameter(param)
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    return value


def _tools(fields: dict[str, Any]) -> tuple[FunctionTool, ...]:
    value = fields.get("tools")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid_type("tools", "an array", value)
    tools: list[FunctionTool] = []
    for index, tool in enumerate(value):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise invalid_type(param, "an object", tool)
        kind = tool.get("type")
        if kind is None:
            raise missing_parameter(f"{param}.type")
        if kind not in _TOOL_TYPES:
            supported = ", ".join(f"'{name}'" for name in _TOOL_TYPES)
            raise APIError(
                400,
                f"Invalid value: '{str(kind)[:64]}'. Supported values are: {supported}.",
                param=f"{param}.type",
                code="invalid_value",
            )
        if kind != "function":
            raise invalid_value(f"{param}.type", f"the mock serves function tools only, not '{kind}'.")
        tools.append(_function_tool(tool, param))
    names = [tool.name for tool in tools]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise invalid_value(f"tools[{index}].name", f"duplicate tool name '{name}'.")
    return tuple(tools)


def _function_tool(tool: dict[str, Any], param: str) -> FunctionTool:
    name = tool.get("name")
    if name is None:
        raise missing_parameter(f"{param}.name")
    if not isinstance(name, str):
        raise invalid_type(f"{param}.name", "a string", name)
    if _TOOL_NAME.fullmatch(name) is None:
        raise APIError(
            400,
            f"Invalid '{param}.name': string does not match pattern. "
            "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$' of at most 64 characters.",
            param=f"{param}.name",
            code="invalid_value",
        )
    description = tool.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid_type(f"{param}.description", "a string", description)
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise invalid_type(f"{param}.parameters", "an object", parameters)
    strict = tool.get("strict", True)
    if strict is not None and not isinstance(strict, bool):
        raise invalid_type(f"{param}.strict", "a boolean", strict)
    encoded = orjson.dumps(parameters).decode() if parameters is not None else None
    return FunctionTool(name, description, encoded, True if strict is None else strict)


def _tool_choice(fields: dict[str, Any], tools: tuple[FunctionTool, ...]) -> tuple[str, str | None]:
    value = fields.get("tool_choice")
    if value is None:
        return "auto", None
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            raise invalid_value("tool_choice", f"expected one of 'none', 'auto', 'required', got '{value[:64]}'.")
        if value == "required" and not tools:
            raise invalid_value("tool_choice", "'required' needs at least one tool in 'tools'.")
        return value, None
    if not isinstance(value, dict):
        raise invalid_type("tool_choice", "a string or an object", value)
    if value.get("type") != "function":
        raise invalid_value("tool_choice.type", "the mock serves function tools only: expected 'function'.")
    name = value.get("name")
    if name is None:
        raise missing_parameter("tool_choice.name")
    if not isinstance(name, str):
        raise invalid_type("tool_choice.name", "a string", name)
    if name not in {tool.name for tool in tools}:
        raise invalid_value("tool_choice", f"Tool choice '{name[:64]}' not found in 'tools' parameter.")
    return "function", name


def _reasoning(fields: dict[str, Any]) -> tuple[str | None, str | None]:
    value = fields.get("reasoning")
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise invalid_type("reasoning", "an object", value)
    effort = _optional_choice(value, "effort", ("none", "minimal", "low", "medium", "high", "xhigh"), "reasoning.")
    summary = _optional_choice(value, "summary", ("auto", "concise", "detailed"), "reasoning.")
    return effort, summary


def _text_verbosity(fields: dict[str, Any]) -> str:
    value = fields.get("text")
    if value is None:
        return "medium"
    if not isinstance(value, dict):
        raise invalid_type("text", "an object", value)
    return _optional_choice(value, "verbosity", ("low", "medium", "high"), "text.") or "medium"


def _text_format(fields: dict[str, Any]) -> str | None:
    """`text.format`, encoded to be echoed (None: plain text). The answer stays plain words whatever it asks."""
    value = fields.get("text")
    text_format = value.get("format") if isinstance(value, dict) else None
    if text_format is None:
        return None
    if not isinstance(text_format, dict):
        raise invalid_type("text.format", "an object", text_format)
    kind = text_format.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise invalid_value("text.format.type", "expected one of 'text', 'json_object', 'json_schema'.")
    if kind == "json_schema" and not isinstance(text_format.get("name"), str):
        raise missing_parameter("text.format.name")
    return None if kind == "text" else orjson.dumps(text_format).decode()


def _choice(fields: dict[str, Any], name: str, options: tuple[str, ...], default: str) -> str:
    return _optional_choice(fields, name, options) or default


def _optional_choice(fields: dict[str, Any], name: str, options: tuple[str, ...], prefix: str = "") -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    param = prefix + name
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if value not in options:
        expected = ", ".join(f"'{option}'" for option in options)
        raise invalid_value(param, f"expected one of {expected}, got '{value[:64]}'.")
    return value


def _ranged_int(fields: dict[str, Any], name: str, lowest: int, highest: int) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer", value)
    if not lowest <= value <= highest:
        raise invalid_value(name, f"must be between {lowest} and {highest}.")
    return value
