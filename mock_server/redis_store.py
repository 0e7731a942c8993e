"""A response store shared by every worker of a fleet: one Redis, written before each answer.

As in the SQLite store, each response is kept as its recipe (request, seed, timeline spec)
plus what happened to it since (cancel, polls), never as events: the events are a pure
function of the recipe. A worker that is asked about a response it has not seen loads the
recipe and builds the same events; on every request it reads the response's cancel and poll
state again, so a cancel or a poll on one worker is what every other worker answers next.
A worker killed with SIGKILL loses nothing acknowledged: all it acknowledged is in Redis.

What a worker has built is a cache: it keeps the `LOCAL_RESPONSES` it used last, and any other that
something still holds (a live stream), so a fleet under a long load test holds a bounded number per
worker, and a stream is woken by changes made elsewhere to the very object it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import redis
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from mock_server.errors import APIError, response_not_found
from mock_server.recorded import RecordedRecipe
from mock_server.redis_address import RedisAddress
from mock_server.sqlite_store import _decode_recipe
from mock_server.store import Recipe, ResponseStore, StoredResponse

log = logging.getLogger("bgr.mock")

CLOCK = b"bgr:clock"
"""The fleet's clock: its origin (set by the first process to ask) and time scale."""
ORIGIN = b"bgr:clock:origin"
"""The clock's origin again, as a plain key: read with the rules' version on every request in one MGET,
it says whether the store is still the one the workers started on."""
KEY_PREFIX = b"bgr:response:"
ALL_RESPONSES = b"bgr:responses"
CHANGES = b"bgr:changes"
"""A channel: the id of each response cancelled, polled (when paced by polls) or deleted."""

# Scripts, so that a cancel or a poll of a response deleted meanwhile on another worker cannot bring back
# a key with its state alone. Each change is published, to wake streams of that response on other workers.
_CANCEL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'cancelled_at', ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[2])
return redis.call('HGET', KEYS[1], 'cancelled_at')
"""
_POLL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('PUBLISH', KEYS[2], ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'polls', 1)
"""
FOLLOW_RETRY_SECONDS = 1.0
LOCAL_RESPONSES = 4096
"""Responses a worker keeps built beyond those in use (under 2 KB each, the memory store's figure); one asked
for again after it was let go is built again from the recipe it reads anyway (about 30 us of CPU)."""


@contextmanager
def answered_as_unavailable(address: RedisAddress) -> Iterator[None]:
    """A Redis failure while serving becomes a 503 in the API's envelope, naming the store."""
    try:
        yield
    except redis.RedisError as error:
        raise APIError(
            503,
            f"The mock's shared store {address.url} is unavailable: {error}",
            type="server_error",
            code="store_unavailable",
        ) from None


def store_reset(address: RedisAddress) -> APIError:
    return APIError(
        503,
        f"The mock's shared store {address.url} was emptied while this fleet served it (its clock origin is gone "
        "or another): the responses, rules and ids it held are lost; restart the fleet.",
        type="server_error",
        code="store_reset",
    )


def same_origin(stored: bytes | None, origin: float | None) -> bool:
    """Whether the store still holds the clock origin this worker serves on (None: not checked)."""
    return origin is None or (stored is not None and float(stored) == origin)


class RedisResponseStore(ResponseStore):
    def __init__(
        self, client: redis.Redis, address: RedisAddress, origin: float | None = None, kept: int = LOCAL_RESPONSES
    ) -> None:
        """`origin`: the fleet's clock origin this worker serves on, to tell a response deleted from a store
        emptied under the fleet (None: not checked)."""
        super().__init__()
        self._origin = origin
        # One object per id while anything holds it; the last `kept` used are held here.
        self._responses = weakref.WeakValueDictionary()
        self._recent: OrderedDict[str, StoredResponse] = OrderedDict()
        self._kept = kept
        self._client = client
        self._address = address
        self._cancel = client.register_script(_CANCEL)
        self._poll = client.register_script(_POLL)
        self._follower: asyncio.Task[None] | None = None

    async def start_following(self) -> None:
        """Wake this worker's streams when another worker changes their response (a poll, a cancel, a delete).

        Returns once subscribed, so a worker that starts serving after it misses no change.
        """
        pubsub = await self._subscribe()
        self._follower = asyncio.get_running_loop().create_task(self._follow(pubsub))

    async def _subscribe(self) -> PubSub:
        address = self._address
        client = aioredis.Redis(host=address.host, port=address.port, db=address.db)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CHANGES)
        confirmed = await pubsub.parse_response(block=True, timeout=5.0)  # the subscription's confirmation
        if not confirmed:
            raise redis.ConnectionError(f"no confirmation of the subscription to {CHANGES.decode()}")
        return pubsub

    async def _follow(self, pubsub: PubSub) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    self._changed(message["data"].decode())
            except redis.RedisError as error:
                log.warning("not following changes, the store %s failed: %s", self._address.url, error)
            await asyncio.sleep(FOLLOW_RETRY_SECONDS)
            with contextlib.suppress(redis.RedisError):
                pubsub = await self._subscribe()

    def _changed(self, response_id: str) -> None:
        if response_id in self._responses:
            with contextlib.suppress(APIError):
                self.get(response_id)  # catches up, and wakes its waiters

    def add(self, response: StoredResponse) -> None:
        fields: dict[str, bytes | int | str] = {"recipe": encode_recipe(response.recipe), "polls": response.polls}
        if response.cancelled_at is not None:
            fields["cancelled_at"] = repr(response.cancelled_at)
        with answered_as_unavailable(self._address):
            pipeline = self._client.pipeline(transaction=True)
            pipeline.hset(_key(response.id), mapping=fields)  # type: ignore[arg-type]
            pipeline.sadd(ALL_RESPONSES, response.id)
            pipeline.execute()
        super().add(response)
        self._keep(response)

    def get(self, response_id: str) -> StoredResponse:
        known = self._responses.get(response_id)
        with answered_as_unavailable(self._address):
            if known is None:
                recipe, polls, cancelled_at = self._client.hmget(_key(response_id), "recipe", "polls", "cancelled_at")
            else:
                recipe = None
                polls, cancelled_at = self._client.hmget(_key(response_id), "polls", "cancelled_at")
        if polls is None or (known is None and recipe is None):
            self._refuse_if_reset()
            if known is not None:  # deleted through another worker
                self._forget(known)
            raise response_not_found(response_id)
        if known is None:
            known = StoredResponse.create(_decode_recipe(recipe))
            super().add(known)
        self._keep(known)
        self._catch_up(known, int(polls), cancelled_at)
        return known

    def _refuse_if_reset(self) -> None:
        with answered_as_unavailable(self._address):
            stored = self._client.get(ORIGIN) if self._origin is not None else None
        if not same_origin(stored, self._origin):
            raise store_reset(self._address)

    def _keep(self, response: StoredResponse) -> None:
        self._recent[response.id] = response
        self._recent.move_to_end(response.id)
        if len(self._recent) > self._kept:
            self._recent.popitem(last=False)

    def held(self) -> int:
        """Responses this worker holds built: the last used and those still in use."""
        return len(self._responses)

    def record_poll(self, response: StoredResponse) -> None:
        if not response.spec.paced_by_polls:
            return
        with answered_as_unavailable(self._address):
            polls = self._poll(keys=[_key(response.id), CHANGES], args=[response.id])
        if polls is not None:
            self._catch_up(response, int(polls), None)

    def cancel(self, response_id: str, now: float) -> StoredResponse:
        response = self.get(response_id)
        if response.is_finished(now):
            return response
        with answered_as_unavailable(self._address):
            cancelled_at = self._cancel(keys=[_key(response_id), CHANGES], args=[repr(now), response_id])
        if cancelled_at is None:
            self._forget(response)
            raise response_not_found(response_id)
        self._catch_up(response, response.polls, cancelled_at)
        return response

    def delete(self, response_id: str) -> StoredResponse:
        response = self.get(response_id)
        with answered_as_unavailable(self._address):
            pipeline = self._client.pipeline(transaction=True)
            pipeline.delete(_key(response_id))
            pipeline.srem(ALL_RESPONSES, response_id)
            pipeline.publish(CHANGES, response_id)
            removed, _, _ = pipeline.execute()
        self._forget(response)
        if not removed:  # another worker deleted it first
            raise response_not_found(response_id)
        return response

    def _catch_up(self, response: StoredResponse, polls: int, cancelled_at: bytes | None) -> None:
        """Take on what other workers did to the response: polls counted, a cancel (the first one wins)."""
        changed = polls != response.polls
        response.polls = polls
        if cancelled_at is not None and response.cancelled_at is None:
            at = float(cancelled_at)
            response.cancelled_at = at
            response.timeline.log.truncate(response.visible_events(at))
            changed = True
        if changed:
            response.notify()

    def _forget(self, response: StoredResponse) -> None:
        self._responses.pop(response.id, None)
        self._recent.pop(response.id, None)
        response.deleted = True
        response.notify()

    def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
        self._client.close()

    def __len__(self) -> int:
        with answered_as_unavailable(self._address):
            return int(self._client.scard(ALL_RESPONSES))

    def __contains__(self, response_id: str) -> bool:
        # Asked of the fleet, not this worker: a recorded answer keeps its id only while no worker holds it.
        with answered_as_unavailable(self._address):
            return bool(self._client.sismember(ALL_RESPONSES, response_id))

    def ids(self) -> list[str]:
        with answered_as_unavailable(self._address):
            return sorted(member.decode() for member in self._client.smembers(ALL_RESPONSES))


def encode_recipe(recipe: Recipe) -> bytes:
    """The SQLite store's recipe format (it decodes it), with orjson walking the dataclasses: about 15x faster
    than `dataclasses.asdict` first, which matters on every create (tests/unit/test_redis_recipe.py)."""
    script = recipe.script
    data: dict[str, object] = {
        "id": recipe.id,
        "item_id": recipe.item_id,
        "params": script.params,
        "created_at": recipe.created_at,
        "seed": script.seed,
        "answer_length": script.answer_length,
        "spec": script.spec,
    }
    if isinstance(recipe, RecordedRecipe) and recipe.answer is not None:
        # The recording itself, as the SQLite store keeps it: a worker that did not load the cassette can replay it.
        data["recorded"] = {"answer": recipe.answer.as_dict(), "recorded_pace": recipe.recorded_pace}
    return orjson.dumps(data)


def _key(response_id: str) -> bytes:
    return KEY_PREFIX + response_id.encode()
