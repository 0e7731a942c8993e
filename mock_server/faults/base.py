"""What every fault is, the three abilities a fault can have, and the one path that decodes faults from data."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Protocol, runtime_checkable

from mock_server.config import FASTEST_TOKENS_PER_SECOND, LONGEST_TIMELINE_SECONDS, SLOWEST_TOKENS_PER_SECOND
from mock_server.errors import APIError, shown
from mock_server.timeline import TimelineSpec

FAULT_TYPES: dict[str, type[Fault]] = {}


# ---- ranges: every parameter has one, checked by the decoder and at construction ---------------


@dataclass(frozen=True, slots=True)
class Range:
    """The values a parameter may take: a number from `low` to `high`, or a string of that many chars."""

    low: float
    high: float
    zero_too: bool = False
    """0 is allowed as well, below `low` (a pace of 0: everything at once)."""

    def admits(self, value: object) -> bool:
        if value is None:
            return True
        size = len(value) if isinstance(value, str) else value
        assert isinstance(size, int | float)
        return self.low <= size <= self.high or (self.zero_too and size == 0)

    def describe(self) -> str:
        span = f"{_figure(self.low)} to {_figure(self.high)}"
        return f"0, or {span}" if self.zero_too else span

    def complaint(self, value: object) -> str:
        if isinstance(value, str):
            return f"must be {self.describe()} chars long, got {len(value):,}"
        return f"must be {self.describe()}, got {shown(value)}"


def _figure(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


HOLD_SECONDS = 600.0
"""The longest a fault holds a connection (a hang, a stall, a slow answer, a pause, an open stream), as
long as a stream waits for anything: faults are bounded, so a client without a timeout is let go."""

Seconds = Annotated[float, Range(0, HOLD_SECONDS)]
"""A time a connection is held for."""
Span = Annotated[float, Range(0, LONGEST_TIMELINE_SECONDS)]
"""A span of scenario time that holds no connection (a queue, a cursor's age, a Retry-After)."""
Count = Annotated[int, Range(0, 1_000_000)]
"""Events, deltas, polls, sequence numbers: far more than any response has."""
Pace = Annotated[float, Range(SLOWEST_TOKENS_PER_SECOND, FASTEST_TOKENS_PER_SECOND, zero_too=True)]
Text = Annotated[str, Range(1, 1_000)]


@functools.cache
def ranges_of(cls: type[Fault]) -> Mapping[str, Range]:
    """Each parameter of a fault with its range (once per class: every fault made checks them)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    found: dict[str, Range] = {}
    for parameter in dataclasses.fields(cls):
        for option in _options(hints[parameter.name]):
            for extra in getattr(option, "__metadata__", ()):
                if isinstance(extra, Range):
                    found[parameter.name] = extra
    return types.MappingProxyType(found)


@functools.cache
def _plain_hints(cls: type[Fault]) -> Mapping[str, Any]:
    """A fault's parameter types, Annotated stripped (once per class: a mock decodes a rule per scenario)."""
    return types.MappingProxyType(typing.get_type_hints(cls))


def check_ranges(fault: Fault) -> None:
    """Every parameter of `fault` is within its range (ValueError naming the first that is not)."""
    for name, allowed in ranges_of(type(fault)).items():
        value = getattr(fault, name)
        if not allowed.admits(value):
            raise ValueError(f"{name} {allowed.complaint(value)}")


class FaultSpecError(ValueError):
    """A fault or rule given as data is wrong; `field` is the dotted path to what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault's parameters; subclasses add fields and exactly one ability below."""

    type: ClassVar[str]

    def __post_init__(self) -> None:
        check_ranges(self)

    def describe(self) -> str:
        params = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self))
        return f"{self.type}({params})"

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, **dataclasses.asdict(self)}


# ---- abilities -------------------------------------------------------------------------


@runtime_checkable
class ShapesTimeline(Protocol):
    """Decides, when a response is created, how its events unfold (pace, queueing, ending)."""

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec: ...


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What an intercepting fault may look at; `age_of_cursor` is None unless resuming with a cursor."""

    method: str
    path: str
    age_of_cursor: float | None


@dataclass(frozen=True, slots=True)
class Delay:
    seconds: float


@dataclass(frozen=True, slots=True)
class HangUp:
    """Close the connection without answering, after `seconds`."""

    seconds: float


Interception = APIError | Delay | HangUp | None


@runtime_checkable
class InterceptsRequest(Protocol):
    """Answers (or delays) a request before the API does."""

    def intercept(self, context: RequestContext) -> Interception: ...


@runtime_checkable
class FiltersStream(Protocol):
    """Changes what a stream sends; `stream_filter` gives fresh state for each stream."""

    def stream_filter(self) -> StreamFilter: ...


# ---- what stream filters exchange -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes to write. `sequence_number` is set while a chunk is one whole event."""

    data: bytes
    sequence_number: int | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class Close:
    """End the connection now, mid-body: the client sees a dropped stream."""

    reset: bool = False
    """Send a TCP RST instead of a FIN."""


Action = Chunk | Pause | Close

EVENT_STAGE = 0
BYTE_STAGE = 1


class StreamFilter(Protocol):
    stage: int
    """Event filters (whole events in) run before byte filters (any bytes in)."""

    def feed(self, action: Action) -> list[Action]: ...


@dataclass(frozen=True, slots=True)
class AtSequenceFault(Fault):
    """A fault that changes one event, chosen by its sequence number; subclasses say how in `alter`."""

    at_sequence: Count = 0

    def alter(self, event: Chunk) -> list[Action]:
        raise NotImplementedError

    def stream_filter(self) -> StreamFilter:
        return _AtSequenceFilter(self)


@dataclass(slots=True)
class _AtSequenceFilter:
    fault: AtSequenceFault
    stage: int = field(default=EVENT_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        if isinstance(action, Chunk) and action.sequence_number == self.fault.at_sequence:
            return self.fault.alter(action)
        return [action]


@dataclass(slots=True)
class CloseAfterEvents:
    """Lets `limit` events through, then ends the connection: right after the last of them (`eager`),
    or only when one more event is due (a stream that ends sooner ends normally)."""

    limit: int
    reset: bool = False
    eager: bool = False
    sent: int = 0
    stage: int = field(default=EVENT_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        if not isinstance(action, Chunk):
            return [action]
        if self.sent >= self.limit:
            return [Close(reset=self.reset)]
        self.sent += 1
        if self.eager and self.sent == self.limit:
            return [action, Close(reset=self.reset)]
        return [action]


# ---- decoding --------------------------------------------------------------------------


def register(cls: type[Fault]) -> type[Fault]:
    FAULT_TYPES[cls.type] = cls
    return cls


def decode_fault(data: Any, field: str = "fault") -> Fault:
    """A fault from `{"type": NAME, **params}`, every parameter type-checked, errors naming the field."""
    if not isinstance(data, dict):
        raise FaultSpecError(field, f"expected a table with a 'type', got {type(data).__name__}")
    name = data.get("type")
    if not isinstance(name, str) or name not in FAULT_TYPES:
        known = ", ".join(sorted(FAULT_TYPES))
        raise FaultSpecError(f"{field}.type", f"unknown fault {shown(name)}; known faults: {known}")
    cls = FAULT_TYPES[name]
    hints = _plain_hints(cls)
    ranges = ranges_of(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "type":
            continue
        if key not in fields:
            raise FaultSpecError(f"{field}.{key}", f"unknown parameter of {name}; expected one of {sorted(fields)}")
        values[key] = _coerce(value, hints[key], f"{field}.{key}")
        allowed = ranges.get(key)
        if allowed is not None and not allowed.admits(values[key]):
            raise FaultSpecError(f"{field}.{key}", allowed.complaint(value))
    missing = [
        f.name
        for f in fields.values()
        if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise FaultSpecError(f"{field}.{missing[0]}", f"required parameter of {name} is missing")
    try:
        return cls(**values)
    except ValueError as error:
        raise FaultSpecError(field, str(error)) from None


def _options(hint: Any) -> tuple[Any, ...]:
    """The types a hint allows: the members of a union, or the hint itself."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _coerce(value: Any, hint: Any, field: str) -> Any:
    # get_type_hints without include_extras strips Annotated, so the options are plain types here.
    options = _options(hint)
    if value is None:
        if type(None) in options:
            return None
        raise FaultSpecError(field, "must not be null")
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if typing.get_origin(option) is typing.Literal and value in typing.get_args(option):
            return value
    expected = " or ".join(_type_name(option) for option in options if option is not type(None))
    return _fail(field, f"expected {expected}, got {shown(value)}")


def _type_name(option: Any) -> str:
    if typing.get_origin(option) is typing.Literal:
        return " | ".join(repr(v) for v in typing.get_args(option))
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(option, str(option))


def _fail(field: str, message: str) -> Any:
    raise FaultSpecError(field, message)
