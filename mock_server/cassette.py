"""Cassettes: recorded HTTP sessions in vcrpy's own file format, with bgr's timings in a field of their own.

A cassette bgr writes is a vcrpy cassette (`version: 1`, `interactions: [{request, response}]`), written
through vcrpy's YAML serializer, so vcrpy and pytest-recording read it as they read their own. Each
interaction may carry a `bgr` mapping that vcrpy ignores: when the request started (seconds since the
session's first request) and, for a streamed answer, when each event had arrived. The file's own `bgr`
mapping holds bgr's version of that extension. Bodies are kept byte for byte (vcrpy stores text as
text and anything else as `!!binary`).

Cassettes recorded by others load too, including pydantic-ai's, whose serializer writes a JSON body
as `parsed_body` (a mapping) instead of vcrpy's `body`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

import orjson

if TYPE_CHECKING:  # vcrpy is imported where a cassette is read or written: it takes ~0.2 s, for every `bgr run`
    from vcr.request import Request

__all__ = [
    "BGR_VERSION",
    "FILTERED_HEADERS",
    "VCR_VERSION",
    "CassetteError",
    "Interaction",
    "dump_cassette",
    "load_cassette",
    "without_secrets",
    "write_cassette",
]

VCR_VERSION = 1
"""vcrpy's `version` key, its `CASSETTE_FORMAT_VERSION` (a test compares them): the only one vcrpy reads."""
BGR_VERSION = 1
"""The version of bgr's extension (`bgr.version` at the top of the file)."""
EXTENSION = "bgr"

FILTERED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
    }
)
"""Never written to a cassette, in requests or responses (vcrpy's `filter_headers`, for both sides)."""
FILTERED_QUERY_PARAMETERS = frozenset({"api_key", "api-key", "key"})


class CassetteError(ValueError):
    """A cassette cannot be used: `str(error)` is one line, `FILE: message`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {' '.join(message.split())}")


@dataclass(frozen=True, slots=True)
class Interaction:
    """One request and the answer it got, as recorded."""

    request: Request
    status: int
    reason: str
    headers: Mapping[str, list[str]]
    body: bytes
    started: float | None = None
    """Seconds since the session's first request (None: the recorder kept no times)."""
    event_times: tuple[float, ...] | None = None
    """For an event stream: seconds after `started` at which each event had arrived, in order."""

    @property
    def content_type(self) -> str:
        for name, values in self.headers.items():
            if name.lower() == "content-type" and values:
                return str(values[0]).lower()
        return ""

    @property
    def is_event_stream(self) -> bool:
        return self.content_type.startswith("text/event-stream")

    def as_dict(self) -> dict[str, Any]:
        from vcr.serializers import compat

        request = self.request._to_dict()
        request["headers"] = without_secrets(request["headers"])
        request["uri"] = _without_secret_query(request["uri"])
        data: dict[str, Any] = {
            "request": compat.convert_to_unicode(request),
            "response": compat.convert_to_unicode(
                {
                    "status": {"code": self.status, "message": self.reason},
                    "headers": without_secrets(self.headers),
                    "body": {"string": self.body},
                }
            ),
        }
        if self.started is not None:
            extension: dict[str, Any] = {"started": round(self.started, 6)}
            if self.event_times is not None:
                extension["events"] = [round(time, 6) for time in self.event_times]
            data[EXTENSION] = extension
        return data


def without_secrets(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in headers.items() if name.lower() not in FILTERED_HEADERS}


def _without_secret_query(uri: str) -> str:
    parts = urlparse(uri)
    if not parts.query:
        return uri
    kept = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in FILTERED_QUERY_PARAMETERS
    ]
    return urlunparse(parts._replace(query=urlencode(kept)))


def dump_cassette(interactions: Iterable[Interaction]) -> str:
    """The text of a cassette, through vcrpy's serializer."""
    from vcr.serializers import yamlserializer

    data = {
        "interactions": [interaction.as_dict() for interaction in interactions],
        "version": VCR_VERSION,
        EXTENSION: {"version": BGR_VERSION},
    }
    return str(yamlserializer.serialize(data))


def write_cassette(path: str | os.PathLike[str], interactions: Iterable[Interaction]) -> None:
    """Replace the file at once: a reader (or a killed recorder) never sees half a cassette."""
    target = Path(path)
    text = dump_cassette(interactions)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_cassette(path: str | os.PathLike[str]) -> list[Interaction]:
    """Every interaction of a vcrpy cassette; any problem is a one-line CassetteError."""
    from vcr.serializers import yamlserializer

    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise CassetteError(name, f"cannot read: {reason}") from None
    try:
        data = yamlserializer.deserialize(text)
    except Exception as error:  # any YAML problem, or a tag the safe loader refuses
        raise CassetteError(name, f"not a YAML cassette ({type(error).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(name, "not a vcrpy cassette: expected `interactions` and `version` at the top")
    version = data.get("version")
    if version != VCR_VERSION:
        raise CassetteError(name, f"unknown cassette version {version!r}; bgr reads vcrpy cassettes of version 1")
    extension = data.get(EXTENSION)
    if extension is not None:
        theirs = extension.get("version") if isinstance(extension, dict) else None
        if theirs != BGR_VERSION:
            raise CassetteError(name, f"unknown bgr cassette version {theirs!r}; this bgr reads version {BGR_VERSION}")
    interactions = []
    for index, item in enumerate(data["interactions"]):
        try:
            interactions.append(_interaction(item))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CassetteError(name, f"interactions[{index}]: malformed ({type(error).__name__}: {error})") from None
    return interactions


def _interaction(item: dict[str, Any]) -> Interaction:
    from vcr.request import Request

    request, response = item["request"], item["response"]
    headers = request.get("headers") or {}
    recorded = Request(request["method"], request["uri"], _body_of(request), headers)
    status = response["status"]
    extension = item.get(EXTENSION) or {}
    events = extension.get("events")
    started = extension.get("started")
    return Interaction(
        request=recorded,
        status=int(status["code"]),
        reason=str(status.get("message", "")),
        headers={
            str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])]
            for k, vs in (response.get("headers") or {}).items()
        },
        body=_body_of(response) or b"",
        started=float(started) if started is not None else None,
        event_times=tuple(float(time) for time in events) if events is not None else None,
    )


def _body_of(message: dict[str, Any]) -> bytes | None:
    """vcrpy's `body` (a string, or `{string: ...}` for a response), or pydantic-ai's `parsed_body`."""
    if "parsed_body" in message:
        return orjson.dumps(message["parsed_body"])
    body = message.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    if body is None:
        return None
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)
