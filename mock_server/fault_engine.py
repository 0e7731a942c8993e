"""Engaging faults for one request: choose them, journal them, run the interceptions.

With no rules and no fault header this returns at once, so faults cost nothing when off.
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from mock_server.errors import APIError
from mock_server.exchange import journal_entry
from mock_server.faults import Fault, FaultSpecError
from mock_server.faults.base import (
    Delay,
    FiltersStream,
    HangUp,
    InterceptsRequest,
    RequestContext,
    ShapesTimeline,
    StreamFilter,
)
from mock_server.rules import RequestFacts, decode_faults_header
from mock_server.state import MockState
from mock_server.timeline import TimelineSpec

FAULTS_HEADER = "X-Bgr-Faults"


class HungUp(Exception):
    """The connection was closed on purpose without an answer."""


async def engage(
    request: web.Request, state: MockState, facts: RequestFacts, age_of_cursor: float | None = None
) -> tuple[Fault, ...]:
    """Faults for this request; interceptions run here (may raise APIError or HungUp)."""
    header = request.headers.get(FAULTS_HEADER)
    if not state.rules and header is None:
        return ()
    faults = state.rules.select(facts)
    if header is not None:
        try:
            faults += decode_faults_header(header)
        except FaultSpecError as error:
            raise APIError(400, f"Invalid {FAULTS_HEADER} header: {error}", param=FAULTS_HEADER) from None
    if not faults:
        return ()
    journal_entry(request).faults.extend(fault.describe() for fault in faults)
    context = RequestContext(facts.method, facts.path, age_of_cursor)
    for fault in faults:
        if not isinstance(fault, InterceptsRequest):
            continue
        outcome = fault.intercept(context)
        if isinstance(outcome, APIError):
            raise outcome
        if isinstance(outcome, Delay):
            await state.clock.sleep(outcome.seconds)
        elif isinstance(outcome, HangUp):
            await state.clock.sleep(outcome.seconds)
            if request.transport is not None:
                request.transport.close()
            raise HungUp
    return tuple(faults)


def shaped_spec(spec: TimelineSpec, faults: tuple[Fault, ...], tokens: int, jitter_seed: int) -> TimelineSpec:
    for fault in faults:
        if isinstance(fault, ShapesTimeline):
            spec = fault.shape(spec, tokens)
    return dataclasses.replace(spec, jitter_seed=jitter_seed) if spec.jitter else spec


def stream_filters(faults: tuple[Fault, ...]) -> list[StreamFilter]:
    if not faults:
        return []
    filters = [fault.stream_filter() for fault in faults if isinstance(fault, FiltersStream)]
    return sorted(filters, key=lambda stream_filter: stream_filter.stage)
