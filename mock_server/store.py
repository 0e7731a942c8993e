"""Responses the mock has acknowledged: their timelines, and what has happened to them since."""

from __future__ import annotations

import asyncio
from array import array
from bisect import bisect_right
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server.errors import response_not_found
from mock_server.objects import response_object
from mock_server.params import ResponseParams
from mock_server.sse import parse_frames
from mock_server.timeline import (
    CompiledTimeline,
    Outcome,
    Schedule,
    Script,
    Timeline,
    TimelineSpec,
    build_timeline,
    compiled_timeline,
    schedule,
)


@dataclass(frozen=True, slots=True)
class Recipe:
    """All a response is made from. Its events are a pure function of this, so it is what a durable store keeps."""

    id: str
    item_id: str
    created_at: float
    script: Script

    def build(self) -> Timeline:
        return build_timeline(self.script, self.id, self.item_id, self.created_at)

    def compiled(self) -> CompiledTimeline:
        return compiled_timeline(self.script, self.id, self.item_id, self.created_at)

    def schedule(self) -> Schedule:
        """When the events are released and how the response ends, without compiling its answer."""
        return schedule(self.script, self.id, self.item_id, self.created_at)

    def final_json(self) -> bytes:
        """The Response object in its final state, encoded."""
        compiled = self.compiled()
        return compiled.final_json % compiled.values(self.id, self.item_id, self.created_at)

    def snapshot_json(self, status: str) -> bytes | None:
        """The Response object at `status` before the end, when the recipe fixes it (a recording does); else None."""
        return None


@dataclass(slots=True, weakref_slot=True)
class StoredResponse:
    """A response: its recipe, when its events are released, and what has happened to it since.

    Its frames are not kept: they are rendered from the compiled script (shared, and cached by
    size) whenever a stream or the ground truth asks for them, so a response held costs its
    recipe and a few numbers, not the kilobytes of its events.
    """

    recipe: Recipe
    times: array[float]
    """When each event is released, after `created_at` (shared by every response of one script shape)."""
    started_at: float
    finished_at: float
    final_status: Outcome
    cancelled_at: float | None = None
    deleted: bool = False
    polls: int = 0
    """Polls answered so far: the clock of a response paced by polls."""
    _waiters: list[asyncio.Future[None]] | None = None

    @classmethod
    def create(cls, recipe: Recipe) -> StoredResponse:
        # The schedule alone: a response that is only polled until it is done never has its answer compiled.
        timing = recipe.schedule()
        created_at = recipe.created_at
        return cls(
            recipe,
            timing.times,
            created_at + timing.started_after,
            created_at + timing.finished_after,
            timing.final_status,
        )

    @property
    def timeline(self) -> Timeline:
        """Every event, rendered now (identical each time); a cancelled response's end where the cancel fell."""
        timeline = self.recipe.build()
        if self.cancelled_at is not None:
            timeline.log.truncate(self.visible_events(self.cancelled_at))
        return timeline

    @property
    def id(self) -> str:
        return self.recipe.id

    @property
    def params(self) -> ResponseParams:
        return self.recipe.script.params

    @property
    def created_at(self) -> float:
        return self.recipe.created_at

    @property
    def spec(self) -> TimelineSpec:
        return self.recipe.script.spec

    @property
    def text(self) -> str:
        return self.timeline.text

    def effective_now(self, now: float) -> float:
        """The time this response's timeline is read at: real scenario time, or its poll count."""
        return self.created_at + self.polls if self.spec.paced_by_polls else now

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        return self._scripted_status(now)

    def _scripted_status(self, now: float) -> str:
        """The status the timeline gives at `now`, whatever a caller did since (a cancel)."""
        if now < self.started_at:
            return "queued"
        if now < self.finished_at:
            return "in_progress"
        return self.final_status

    def is_finished(self, now: float) -> bool:
        return self.cancelled_at is not None or self.deleted or now >= self.finished_at

    def snapshot_json(self, now: float) -> bytes:
        """The Response object as a poll at `now` sees it, encoded: the final one is the compiled script's."""
        status = self.status(now)
        if now >= self.finished_at and status == self.final_status:
            return self.recipe.final_json()
        recorded = self.recipe.snapshot_json(status)
        if recorded is not None:
            return recorded
        return orjson.dumps(response_object(self.id, self.params, created_at=int(self.created_at), status=status))

    def snapshot(self, now: float) -> dict[str, Any]:
        """The Response object as a poll at `now` sees it."""
        snapshot: dict[str, Any] = orjson.loads(self.snapshot_json(now))
        return snapshot

    def visible_events(self, now: float) -> int:
        """How many events have been released by `now` (never more than a cancel left)."""
        if self.cancelled_at is not None:
            now = min(now, self.cancelled_at)
        return bisect_right(self.times, now - self.created_at)

    def visible_at(self, sequence_number: int) -> float:
        """When event `sequence_number` is released."""
        return self.created_at + self.times[sequence_number]

    def ground_truth(self) -> dict[str, Any]:
        """The whole text and every event this response will ever emit (what a client should receive)."""
        timeline = self.timeline
        log, final = timeline.log, timeline.final
        return {
            "id": self.id,
            "text": timeline.text,
            "final_status": self.status(float("inf")),
            "status_at_creation": self._scripted_status(self.created_at),
            "previous_response_id": self.params.previous_response_id,
            "function_calls": [
                {key: item[key] for key in ("call_id", "name", "arguments")}
                for item in final["output"]
                if item["type"] == "function_call"
            ],
            "tool_outputs": [
                {"call_id": call_id, "output": output} for call_id, output in self.params.tool_loop.tool_outputs
            ],
            "events": parse_frames(bytes(log.frames(0, len(log)))),
        }

    async def wait_for_change(self, loop: asyncio.AbstractEventLoop, real_timeout: float) -> None:
        """Sleep until `real_timeout` passes or the response is cancelled or deleted."""
        waiter = loop.create_future()
        if self._waiters is None:
            self._waiters = []  # made on first wait: most responses are never streamed live
        self._waiters.append(waiter)
        timer = loop.call_later(real_timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.remove(waiter)

    def notify(self) -> None:
        for waiter in self._waiters or ():
            _resolve(waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ResponseStore:
    """Every stored response by id. Memory only; a durable store keeps the same interface."""

    def __init__(self) -> None:
        self._responses: MutableMapping[str, StoredResponse] = {}

    def add(self, response: StoredResponse) -> None:
        self._responses[response.id] = response

    def get(self, response_id: str) -> StoredResponse:
        response = self._responses.get(response_id)
        if response is None:
            raise response_not_found(response_id)
        return response

    def record_poll(self, response: StoredResponse) -> None:
        """A poll moves a response paced by polls one step on."""
        if response.spec.paced_by_polls:
            response.polls += 1
            response.notify()

    def cancel(self, response_id: str, now: float) -> StoredResponse:
        """End the response where it stands; later cancels change nothing."""
        response = self.get(response_id)
        if not response.is_finished(now):
            # Live streams of it stop where the cancel falls: they read visible_events, which stops there.
            response.cancelled_at = now
            response.notify()
        return response

    def delete(self, response_id: str) -> StoredResponse:
        response = self._responses.pop(response_id, None)
        if response is None:
            raise response_not_found(response_id)
        response.deleted = True
        response.notify()
        return response

    def close(self) -> None:
        """Release what the store holds open (nothing, in memory)."""

    def __len__(self) -> int:
        return len(self._responses)

    def __contains__(self, response_id: str) -> bool:
        return response_id in self._responses

    def ids(self) -> list[str]:
        return list(self._responses)
