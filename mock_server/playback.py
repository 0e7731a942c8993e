"""Which recorded answer a create gets: vcrpy's matchers by vcrpy's names, and what an unmatched create gets.

A create is compared with each recording's request by the matchers named (vcrpy's, and bgr's `input`); the
least played recording that passes them all answers it, so recordings of one request play in turn, as
vcrpy plays them, and then again from the first. A Responses create is matched with the recorded Responses
creates, a Chat Completions create with the recorded chat creates, whatever the matchers. What a create no
recording matches gets is a named, validated mode, as vcrpy's record modes are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mock_server.cassette import load_cassette
from mock_server.config import DEFAULT_MATCH_ON
from mock_server.errors import APIError
from mock_server.recorded import RecordedAnswer, answers_of, input_text
from mock_server.recorded_chat import RecordedChat, chat_answers_of

if TYPE_CHECKING:  # vcrpy is imported once a matcher is needed: it takes ~0.2 s, for every `bgr run`
    from vcr.request import Request

__all__ = ["Recorded", "Recordings", "Unmatched", "decode_match_on", "decode_unmatched", "matchers"]


class Unmatched(str, Enum):  # noqa: UP042 - as vcrpy's RecordMode: str() of a member is its name
    """What a create that no recording matches gets."""

    ERROR = "error"
    """An OpenAI error envelope (400, code `cassette_no_match`) naming the closest recording and what differs."""
    GENERATE = "generate"
    """The mock's own generated answer, as without cassettes."""


def decode_unmatched(value: str) -> Unmatched:
    try:
        return Unmatched(value)
    except ValueError:
        names = ", ".join(mode.value for mode in Unmatched)
        raise ValueError(f"unknown unmatched mode {value!r}; expected one of {names}") from None


def input(r1: Request, r2: Request) -> None:
    """bgr's matcher: the recorded input's text begins the request's.

    What follows the recorded text is ignored, such as the marker `bgr run` adds to a prompt, and so are
    the model, the flags (stream, background) and how the input is spelled (a string or messages).
    """
    new_text, old_text = input_text(r1), input_text(r2)
    if not new_text.startswith(old_text):
        raise AssertionError(f"input {new_text[:80]!r} does not begin with the recorded {old_text[:80]!r}")


@cache
def matchers() -> dict[str, Callable[[Request, Request], Any]]:
    """vcrpy's matchers by their names, and bgr's `input`."""
    from vcr.config import VCR

    return {**VCR().matchers, "input": input}


def decode_match_on(names: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(names)
    known = matchers()
    for name in chosen:
        if name not in known:
            raise ValueError(f"unknown matcher {name!r}; expected some of {', '.join(sorted(known))}")
    if not chosen:
        raise ValueError("at least one matcher is needed")
    return chosen


class Recorded(Protocol):
    """What matching needs of a recorded answer, a Responses one or a chat one."""

    @property
    def source(self) -> str: ...
    @property
    def request(self) -> Request: ...


_Answer = TypeVar("_Answer", bound=Recorded)


class Recordings:
    """The answers of some cassettes, matched to creates as vcrpy matches requests."""

    def __init__(
        self,
        answers: Sequence[RecordedAnswer],
        match_on: Sequence[str] = DEFAULT_MATCH_ON,
        unmatched: Unmatched = Unmatched.ERROR,
        chats: Sequence[RecordedChat] = (),
    ) -> None:
        self.answers = list(answers)
        self.chats = list(chats)
        self.match_on = decode_match_on(match_on)
        self.unmatched = unmatched
        self._matchers = [matchers()[name] for name in self.match_on]
        self._plays = [0] * len(self.answers)
        self._chat_plays = [0] * len(self.chats)

    @classmethod
    def load(cls, paths: Sequence[str], match_on: Sequence[str], unmatched: Unmatched) -> Recordings:
        interactions = [(path, load_cassette(path)) for path in paths]
        answers = [answer for path, recorded in interactions for answer in answers_of(recorded, path)]
        chats = [chat for path, recorded in interactions for chat in chat_answers_of(recorded, path)]
        return cls(answers, match_on, unmatched, chats)

    def match(self, method: str, url: str, headers: dict[str, str], body: bytes) -> RecordedAnswer | None:
        """The least played Responses recording that matches (vcrpy plays them in order); None means generate.

        No match in `error` mode raises the envelope naming the closest recording and what differed.
        """
        return self._match(self.answers, self._plays, "responses", _request(method, url, body, headers))

    def match_chat(self, method: str, url: str, headers: dict[str, str], body: bytes) -> RecordedChat | None:
        """As `match`, among the recorded chat completions."""
        return self._match(self.chats, self._chat_plays, "chat completions", _request(method, url, body, headers))

    def _match(self, answers: list[_Answer], plays: list[int], kind: str, request: Request) -> _Answer | None:
        from vcr.matchers import get_matchers_results

        best: tuple[int, _Answer, list[tuple[str, str]]] | None = None
        chosen: int | None = None
        for index, answer in enumerate(answers):
            passed, failed = get_matchers_results(request, answer.request, self._matchers)
            if not failed:
                if chosen is None or plays[index] < plays[chosen]:
                    chosen = index
            elif best is None or len(passed) > best[0]:
                best = (len(passed), answer, failed)
        if chosen is not None:
            plays[chosen] += 1
            return answers[chosen]
        if self.unmatched is Unmatched.GENERATE:
            return None
        if best is None:
            raise APIError(
                400, f"No recording matches this request: the cassettes hold no {kind}.", code="cassette_no_match"
            )
        _, closest, failed = best
        differences = "; ".join(f"{name}: {' '.join(str(detail).split())[:200]}" for name, detail in failed)
        raise APIError(
            400,
            f"No recording matches this request (matched on {', '.join(self.match_on)}). "
            f"Closest: {closest.source}, which differs in {differences}.",
            code="cassette_no_match",
        )


def _request(method: str, url: str, body: bytes, headers: dict[str, str]) -> Request:
    from vcr.request import Request

    return Request(method, url, body, headers)
