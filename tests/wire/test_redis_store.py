"""A fleet worker's responses on a real redis-server: a bounded cache of what it built, one object per id while
anything holds it (a live stream follows changes made elsewhere), and a store emptied under it refused, not
served from what is left."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator

import pytest
import redis

from mock_server.errors import APIError
from mock_server.params import parse_response_params
from mock_server.redis_address import parse_redis_address
from mock_server.redis_fleet import claim_clock, connect
from mock_server.redis_store import RedisResponseStore
from mock_server.store import Recipe, StoredResponse
from mock_server.timeline import Script, TimelineSpec
from tests.redis_fleet import RedisServer, redis_server

KEPT = 3
CHANGE_WAIT_SECONDS = 10.0
"""How long a change published by one worker may take to reach another (a bound on failure, not a pace)."""
HELD_FOR_EVER = TimelineSpec(queue_seconds=1e6)


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with redis_server() as started:
        yield started


@pytest.fixture
def url(server: RedisServer) -> Iterator[str]:
    address = f"{server.url}/5"
    yield address
    redis.Redis.from_url(address).flushdb()


def worker(url: str, kept: int = KEPT) -> RedisResponseStore:
    address = parse_redis_address(url)
    client = connect(address)
    return RedisResponseStore(client, address, claim_clock(client, address, 1.0), kept=kept)


def response(number: int, spec: TimelineSpec = HELD_FOR_EVER) -> StoredResponse:
    params = parse_response_params({"model": "gpt-4o", "input": f"Job {number}.", "background": True})
    return StoredResponse.create(Recipe(f"resp_{number}", f"msg_{number}", 1000.0, Script(params, number, 12, spec)))


def test_a_worker_keeps_the_last_it_used_and_builds_the_others_again_from_redis(url: str) -> None:
    store = worker(url)
    for number in range(20):
        store.add(response(number))
    gc.collect()
    assert store.held() == KEPT and len(store) == 20
    first = store.get("resp_0")  # let go long ago: built again, the same response
    assert first.recipe == response(0).recipe and first.status(1001.0) == "queued"
    gc.collect()
    assert store.held() == KEPT
    store.close()


async def test_a_response_in_use_is_one_object_and_follows_a_cancel_made_on_another_worker(url: str) -> None:
    streaming, other = worker(url), worker(url)
    await streaming.start_following()
    try:
        live = response(1)
        streaming.add(live)  # held here, as a live stream holds the response it sends
        for number in range(2, 2 + 5 * KEPT):
            streaming.add(response(number))
        gc.collect()
        assert streaming.get("resp_1") is live  # past the cache, but still in use: the very object
        other.cancel("resp_1", 1002.0)
        deadline = time.monotonic() + CHANGE_WAIT_SECONDS
        while live.cancelled_at is None and time.monotonic() < deadline:
            await live.wait_for_change(asyncio.get_running_loop(), 0.05)
        assert live.cancelled_at == 1002.0 and live.status(1003.0) == "cancelled"
    finally:
        streaming.close()
        other.close()


def test_a_store_emptied_under_the_worker_is_a_503_not_a_missing_response(url: str) -> None:
    store = worker(url)
    store.add(response(1))
    redis.Redis.from_url(url).flushdb()
    with pytest.raises(APIError) as raised:
        store.get("resp_1")
    assert (raised.value.status, raised.value.code) == (503, "store_reset")
    assert url.removesuffix("/5") in raised.value.message
    store.close()
    # A response deleted from a store that is still the fleet's is simply gone.
    store = worker(url)
    store.add(response(2))
    store.delete("resp_2")
    with pytest.raises(APIError) as raised:
        store.get("resp_2")
    assert raised.value.status == 404
    store.close()
