"""Where each piece of delivered text sits in the text the backend produced.

A pure function of a history, shared by the `resume-exactly-once` check (which judges it)
and the HTML report (which draws it), so that what is drawn is what was judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.conformance.history import History

Kind = Literal["ok", "repeat", "skip", "foreign"]


@dataclass(frozen=True, slots=True)
class Segment:
    call: int
    """Index of the call that delivered it (for `skip`: the call after which the text was missed)."""
    update: int
    at: float
    start: int
    """Offsets into the ground-truth text (for `foreign`: the length of the foreign text)."""
    end: int
    kind: Kind
    text: str


@dataclass(frozen=True, slots=True)
class DeliveryMap:
    response_id: str | None
    truth: str
    segments: tuple[Segment, ...]

    def delivered(self) -> str:
        return "".join(segment.text for segment in self.segments if segment.kind != "skip")

    def of_kind(self, kind: Kind) -> list[Segment]:
        return [segment for segment in self.segments if segment.kind == kind]


def main_response_id(history: History) -> str | None:
    """The response the scenario started: the first one created (later ones are resends or continuations)."""
    for response_id in history.server.created_response_ids():
        if response_id in history.server.truths:
            return response_id
    return None


def conversation_ids(history: History) -> list[str]:
    """The main response and the responses that continue it, in order: a tool loop's turns.

    A later response continues the conversation when it names the current turn as its
    `previous_response_id`, or submits outputs for the current turn's tool calls (the conversation
    resent as input). Other responses (resends, retries) are not part of it. When a turn is
    continued twice (an output submitted twice), the conversation goes on from the later one.
    """
    first = main_response_id(history)
    if first is None:
        return []
    truths = history.server.truths
    created = [rid for rid in history.server.created_response_ids() if rid in truths]
    turns = [first]
    for response_id in created[created.index(first) + 1 :]:
        truth = truths[response_id]
        current = truths[turns[-1]]
        asked = {call["call_id"] for call in current.get("function_calls", ())}
        answered = {output["call_id"] for output in truth.get("tool_outputs", ())}
        continues = truth.get("previous_response_id") in turns or bool(asked & answered)
        if continues and response_id not in turns:
            turns.append(response_id)
    return turns


def answer_response_id(history: History) -> str | None:
    """The response whose text is the final answer: the conversation's last turn."""
    turns = conversation_ids(history)
    return turns[-1] if turns else None


def delivery_map(history: History, *, complete: bool | None = None) -> DeliveryMap:
    """Align every update's text, in order, with the truth.

    `complete`: whether the caller was told the answer is complete (its last token is null);
    if so, truth never delivered by then is a `skip` at the end. Defaults to the last call's token.
    """
    response_id = answer_response_id(history)
    truth = history.server.truths[response_id]["text"] if response_id else ""
    segments: list[Segment] = []
    furthest = 0  # end of the longest prefix of the truth delivered so far
    cursor = 0  # where the next piece is expected; below `furthest` while content is being replayed
    for call in history.calls:
        for number, update in enumerate(call.updates):
            piece = update.text
            if not piece:
                continue

            def add(
                kind: Kind,
                start: int,
                end: int,
                text: str,
                *,
                _c: int = call.index,
                _n: int = number,
                _at: float = update.at,
            ) -> None:
                segments.append(Segment(_c, _n, _at, start, end, kind, text))

            if truth.startswith(piece, cursor):
                end = cursor + len(piece)
                if end <= furthest:
                    add("repeat", cursor, end, piece)
                elif cursor >= furthest:
                    add("ok", cursor, end, piece)
                else:
                    split = furthest - cursor
                    add("repeat", cursor, furthest, piece[:split])
                    add("ok", furthest, end, piece[split:])
                cursor = end
                furthest = max(furthest, end)
                continue
            later = truth.find(piece, furthest)
            if later >= 0:
                add("skip", furthest, later, truth[furthest:later])
                add("ok", later, later + len(piece), piece)
                cursor = furthest = later + len(piece)
                continue
            earlier = truth.find(piece)
            if earlier >= 0:
                end = earlier + len(piece)
                if end <= furthest:
                    add("repeat", earlier, end, piece)
                else:
                    # Starts with text already delivered and carries on with new text.
                    split = furthest - earlier
                    add("repeat", earlier, furthest, piece[:split])
                    add("ok", furthest, end, piece[split:])
                    furthest = end
                cursor = end
                continue
            add("foreign", 0, len(piece), piece)
    final = history.final_call
    told_complete = complete if complete is not None else (final is not None and final.token_out is None)
    if told_complete and furthest < len(truth) and final is not None:
        segments.append(
            Segment(final.index, len(final.updates), final.ended_at, furthest, len(truth), "skip", truth[furthest:])
        )
    return DeliveryMap(response_id, truth, tuple(segments))
