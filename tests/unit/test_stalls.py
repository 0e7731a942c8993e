"""The stall probe sees the run's event loop held up, on a real loop, and a history sums what it recorded."""

from __future__ import annotations

import asyncio

from harness.conformance.history import History, ServerRecord, Stall
from harness.conformance.stalls import PERIOD_SECONDS, stall_probe
from mock_server.clock import Clock
from tests.held_loop import hold_the_loop

BLOCK_SECONDS = 0.06
"""Real seconds the test holds the loop with work that never yields, as a cold import or a busy machine would."""


async def test_a_held_loop_is_recorded_as_a_stall_of_about_its_length() -> None:
    clock = Clock(0.02)
    async with stall_probe(clock) as probe:
        await asyncio.sleep(2 * PERIOD_SECONDS)  # the probe is asleep on the loop now
        held_from = clock.now()
        hold_the_loop(BLOCK_SECONDS)
        held_to = clock.now()
        await asyncio.sleep(2 * PERIOD_SECONDS)  # and has woken late once
    stalls = probe.between(held_from, held_to)
    history = History("s", "a", 0, clock.time_scale, (), ServerRecord(), stalls=stalls)
    # At least the hold less the one period the probe may already have slept of it, in scenario seconds.
    assert history.stalled(held_from, held_to) >= clock.scenario_seconds(BLOCK_SECONDS - PERIOD_SECONDS)


def test_stalled_counts_only_the_part_of_a_stall_inside_the_window() -> None:
    history = History("s", "a", 0, 0.02, (), ServerRecord(), stalls=(Stall(110.0, 10.0), Stall(130.0, 2.0)))
    assert history.stalled(105.0, 128.0) == 5.0
    assert history.stalled(105.0, 131.0) == 7.0
    assert history.stalled(90.0, 99.0) == 0.0


def test_a_saved_history_keeps_its_stalls() -> None:
    history = History("s", "a", 0, 0.02, (), ServerRecord(), stalls=(Stall(110.0, 10.0),))
    assert History.from_dict(history.as_dict()) == history
