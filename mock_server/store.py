"""Responses the mock has acknowledged: their timelines, and what has happened to them since."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from mock_server.errors import response_not_found
from mock_server.objects import response_object
from mock_server.params import ResponseParams
from mock_server.sse import parse_frames
from mock_server.timeline import Script, Timeline, TimelineSpec, build_timeline


@dataclass(frozen=True, slots=True)
class Recipe:
    """All a response is made from. Its events are a pure function of this, so it is what a durable store keeps."""

    id: str
    item_id: str
    created_at: float
    script: Script

    def build(self) -> Timeline:
        return build_timeline(self.script, self.id, self.item_id, self.created_at)


@dataclass(slots=True)
class StoredResponse:
    recipe: Recipe
    _timeline: Timeline | None
    cancelled_at: float | None = None
    deleted: bool = False
    polls: int = 0
    """Polls answered so far: the clock of a response paced by polls."""
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    @classmethod
    def create(cls, recipe: Recipe) -> StoredResponse:
        return cls(recipe, recipe.build())

    @property
    def timeline(self) -> Timeline:
        if self._timeline is None:
            self._timeline = self.recipe.build()
        return self._timeline

    def forget_timeline(self) -> None:
        """Drop the encoded events; they are rebuilt, identical, from the recipe when next read."""
        self._timeline = None

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
        if now < self.timeline.started_at:
            return "queued"
        if now < self.timeline.finished_at:
            return "in_progress"
        return self.timeline.final_status

    def is_finished(self, now: float) -> bool:
        return self.cancelled_at is not None or self.deleted or now >= self.timeline.finished_at

    def snapshot(self, now: float) -> dict[str, Any]:
        """The Response object as a poll at `now` sees it."""
        status = self.status(now)
        if now >= self.timeline.finished_at and status == self.timeline.final_status:
            return self.timeline.final
        recorded = self.timeline.snapshots
        if recorded is not None and status in recorded:
            return recorded[status]
        return response_object(self.id, self.params, created_at=int(self.created_at), status=status)

    def visible_events(self, now: float) -> int:
        return self.timeline.log.visible_count(now)

    def ground_truth(self) -> dict[str, Any]:
        """The whole text and every event this response will ever emit (what a client should receive)."""
        log = self.timeline.log
        final = self.timeline.final
        return {
            "id": self.id,
            "text": self.text,
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
        self._waiters.append(waiter)
        timer = loop.call_later(real_timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.remove(waiter)

    def notify(self) -> None:
        for waiter in self._waiters:
            _resolve(waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ResponseStore:
    """Every stored response by id. Memory only; a durable store keeps the same interface."""

    def __init__(self) -> None:
        self._responses: dict[str, StoredResponse] = {}

    def add(self, response: StoredResponse) -> None:
        self._responses[response.id] = response
        timeline = response.timeline
        if timeline.finished_at <= response.created_at and response.cancelled_at is None:
            # Finished the moment it was made (a foreground answer): nothing will change it, and
            # holding its ~20 KB of frames costs more than rebuilding them on the rare read back.
            response.forget_timeline()

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
            response.cancelled_at = now
            response.timeline.log.truncate(response.visible_events(now))
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
