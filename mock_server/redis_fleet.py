"""What the workers of a fleet share through Redis besides responses: the clock, ids, rules and the journal.

Every piece reads Redis where a worker could otherwise answer from a stale copy: the rules'
version on each request (a rule added through one worker applies on the next request to any),
an id block from one counter (ids never collide), one journal counter (one order for all), one
clock origin (every worker releases a response's events on the same schedule).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mock_server.answer import IdFactory
from mock_server.clock import Clock
from mock_server.config import ServerConfig
from mock_server.errors import APIError
from mock_server.journal import Journal, JournalEntry
from mock_server.redis_address import RedisAddress, StoreUnavailable, parse_redis_address
from mock_server.redis_store import (
    CLOCK,
    ORIGIN,
    RedisResponseStore,
    answered_as_unavailable,
    same_origin,
    store_reset,
)
from mock_server.rules import Rule, RuleBook, decode_rule

log = logging.getLogger("bgr.mock")

IDS = b"bgr:ids"
RULES, RULES_APPLIED = b"bgr:rules", b"bgr:rules:applied"
RULE_IDS, RULES_VERSION = b"bgr:rules:ids", b"bgr:rules:version"
JOURNAL, JOURNAL_NEXT, JOURNAL_CLEARED = b"bgr:journal", b"bgr:journal:next", b"bgr:journal:cleared"
ID_BLOCK = 64
"""Ids a worker takes from the shared counter at once: a round trip per 32 creates (two ids each), no collision."""
CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0


def connect(address: RedisAddress) -> redis.Redis:
    """A client that has answered a PING, or StoreUnavailable saying why not."""
    try:
        # Connects at once: a worker runs one event loop, so it needs one connection and no pool.
        client = redis.Redis(
            host=address.host,
            port=address.port,
            db=address.db,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),  # a down store is said at once, not after seconds of retries
            single_connection_client=True,
        )
        client.ping()
    except redis.RedisError as error:
        raise StoreUnavailable(f"cannot reach the store {address.url}: {error}") from None
    return client


class SharedOriginClock(Clock):
    """Scenario time measured from an origin every worker reads from Redis, so all agree on `now`."""

    def __init__(self, time_scale: float, wall_origin: float) -> None:
        super().__init__(time_scale)
        # monotonic() is one clock for every process of the machine; place its origin where the wall origin was.
        self._wall_origin = wall_origin
        self._mono_origin = time.monotonic() - (time.time() - wall_origin)


def claim_clock(client: redis.Redis, address: RedisAddress, time_scale: float) -> float:
    """The fleet's clock origin (set by the first process to ask); a store made at another scale is refused."""
    with answered_as_store_error(address):
        client.hsetnx(CLOCK, "origin", repr(time.time()))
        client.hsetnx(CLOCK, "time_scale", repr(time_scale))
        origin, scale = client.hmget(CLOCK, "origin", "time_scale")
        client.setnx(ORIGIN, origin)
    if float(scale) != time_scale:
        raise StoreUnavailable(
            f"the store {address.url} holds responses made at time scale {float(scale):g}, not {time_scale:g}: "
            "use the same --time-scale, another database (redis://HOST:PORT/N) or an empty one"
        )
    return float(origin)


@contextmanager
def answered_as_store_error(address: RedisAddress) -> Iterator[None]:
    """Outside a request (starting up), a Redis failure is a StoreUnavailable, for a one-line CLI error."""
    try:
        yield
    except redis.RedisError as error:
        raise StoreUnavailable(f"cannot use the store {address.url}: {error}") from None
    except APIError as error:  # from a part that serves requests, used here before serving
        raise StoreUnavailable(error.message) from None


class RedisIdFactory(IdFactory):
    """Ids numbered from one shared counter, taken a block at a time."""

    def __init__(self, seed: int, client: redis.Redis, address: RedisAddress) -> None:
        super().__init__(seed)
        self._client = client
        self._address = address
        self._limit = 0

    def next(self, prefix: str) -> str:
        if self._next >= self._limit:
            with answered_as_unavailable(self._address):
                self._limit = int(self._client.incrby(IDS, ID_BLOCK))
            self._next = self._limit - ID_BLOCK
        return super().next(prefix)


class RedisRuleBook(RuleBook):
    """Rules kept in Redis; each worker re-reads them when their version moved, and counts `times` there.

    Read on every request, the version comes with the fleet's clock origin: a store emptied while the fleet
    served (a Redis restarted without its data, a FLUSHALL) has lost every response, rule and id the workers
    know of, so each request is refused with a 503 saying so, rather than served from what is left.
    """

    def __init__(self, client: redis.Redis, address: RedisAddress, origin: float | None = None) -> None:
        """`origin`: the clock origin this worker serves on (None: not checked, before the fleet serves)."""
        super().__init__()
        self._client = client
        self._address = address
        self._origin = origin
        self._version: bytes | None = None

    def _sync(self) -> None:
        with answered_as_unavailable(self._address):
            version, origin = self._client.mget(RULES_VERSION, ORIGIN)
            if not same_origin(origin, self._origin):
                raise store_reset(self._address)
            if version == self._version and version is not None:
                return
            stored = self._client.hgetall(RULES)
        self._rules = sorted((_decode_stored_rule(rule_id, raw) for rule_id, raw in stored.items()), key=_by_id)
        self._version = version

    def add(self, rule: Rule) -> Rule:
        with answered_as_unavailable(self._address):
            rule.id = int(self._client.incr(RULE_IDS))
            pipeline = self._client.pipeline(transaction=True)
            pipeline.hset(RULES, str(rule.id), orjson.dumps(_rule_data(rule)))
            pipeline.incr(RULES_VERSION)
            pipeline.execute()
        self._version = None
        return rule

    def remove(self, rule_id: int) -> bool:
        with answered_as_unavailable(self._address):
            pipeline = self._client.pipeline(transaction=True)
            pipeline.hdel(RULES, str(rule_id))
            pipeline.hdel(RULES_APPLIED, str(rule_id))
            pipeline.incr(RULES_VERSION)
            removed, _, _ = pipeline.execute()
        self._version = None
        return bool(removed)

    def clear(self) -> None:
        with answered_as_unavailable(self._address):
            pipeline = self._client.pipeline(transaction=True)
            pipeline.delete(RULES, RULES_APPLIED)
            pipeline.incr(RULES_VERSION)
            pipeline.execute()
        self._version = None

    def reset(self, rules: list[Rule]) -> None:
        """A fleet starts with its scenario's rules, as one process does."""
        self.clear()
        for rule in rules:
            self.add(rule)

    def __bool__(self) -> bool:
        self._sync()
        return bool(self._rules)

    def rules(self) -> list[Rule]:
        self._sync()
        with answered_as_unavailable(self._address):
            applied = self._client.hgetall(RULES_APPLIED)
        for rule in self._rules:
            rule.applied = int(applied.get(str(rule.id).encode(), 0))
        return list(self._rules)

    def claim(self, rule: Rule) -> bool:
        with answered_as_unavailable(self._address):
            rule.applied = int(self._client.hincrby(RULES_APPLIED, str(rule.id), 1))
        return rule.times is None or rule.applied <= rule.times


def _rule_data(rule: Rule) -> dict[str, Any]:
    return {key: value for key, value in rule.as_dict().items() if key not in ("id", "applied")}


def _decode_stored_rule(rule_id: bytes, raw: bytes) -> Rule:
    rule = decode_rule(orjson.loads(raw))
    rule.id = int(rule_id)
    return rule


def _by_id(rule: Rule) -> int:
    return rule.id


_JOURNAL_ADD = """
local index = redis.call('INCR', KEYS[2]) - 1
redis.call('HSET', KEYS[1], index, ARGV[1])
local limit = tonumber(ARGV[2])
if index >= limit then redis.call('HDEL', KEYS[1], index - limit) end
return index
"""
_JOURNAL_CLEAR = """
local next = redis.call('GET', KEYS[2]) or 0
redis.call('SET', KEYS[3], next)
redis.call('DEL', KEYS[1])
return next
"""
_JOURNAL_READ_BATCH = 10_000


class RedisJournal(Journal):
    """One journal for the fleet: indexes from one counter, entries written on arrival and again when answered.

    A failure to write is logged, not raised: the request is still answered (with a 503, if Redis is down).
    """

    def __init__(self, client: redis.Redis, address: RedisAddress, limit: int) -> None:
        super().__init__(limit)
        self._client = client
        self._address = address
        self._limit = limit
        self._add = client.register_script(_JOURNAL_ADD)
        self._clear = client.register_script(_JOURNAL_CLEAR)

    def add(self, entry: JournalEntry) -> None:
        try:
            entry.index = int(self._add(keys=[JOURNAL, JOURNAL_NEXT], args=[_encode_entry(entry), self._limit]))
        except redis.RedisError as error:
            log.warning("journal entry not shared, the store %s failed: %s", self._address.url, error)

    def settle(self, entry: JournalEntry) -> None:
        """The request is answered: publish the complete entry (faults, notes, status) to the fleet."""
        if entry.index < 0:
            return
        try:
            self._client.hset(JOURNAL, str(entry.index), _encode_entry(entry))
        except redis.RedisError as error:
            log.warning("journal entry not updated, the store %s failed: %s", self._address.url, error)

    def _bounds(self) -> tuple[int, int]:
        """(first index kept, next index)."""
        with answered_as_unavailable(self._address):
            next_index, cleared = self._client.mget(JOURNAL_NEXT, JOURNAL_CLEARED)
        end = int(next_index or 0)
        return max(end - self._limit, int(cleared or 0), 0), end

    @property
    def dropped(self) -> int:
        """Entries pushed out by the limit since the last clear (as `Journal.dropped`: never those cleared)."""
        return self._bounds()[0] - self.cleared

    @property
    def first_index(self) -> int:
        return self._bounds()[0]

    @property
    def next_index(self) -> int:
        return self._bounds()[1]

    @property
    def cleared(self) -> int:
        """The index the last `clear()` reached: every entry before it was cleared or dropped."""
        with answered_as_unavailable(self._address):
            return int(self._client.get(JOURNAL_CLEARED) or 0)

    def entries(self, since: int = 0) -> list[JournalEntry]:
        first, end = self._bounds()
        indexes = [str(index) for index in range(max(first, since), end)]
        entries: list[JournalEntry] = []
        with answered_as_unavailable(self._address):
            for start in range(0, len(indexes), _JOURNAL_READ_BATCH):
                batch = indexes[start : start + _JOURNAL_READ_BATCH]
                for index, raw in zip(batch, self._client.hmget(JOURNAL, batch), strict=True):
                    if raw is not None:
                        entries.append(JournalEntry(**{**orjson.loads(raw), "index": int(index)}))
        return entries

    def clear(self) -> int:
        """Remove every entry of the fleet; returns how many there were."""
        held = len(self)
        with answered_as_unavailable(self._address):
            self._clear(keys=[JOURNAL, JOURNAL_NEXT, JOURNAL_CLEARED])
        return held

    def __len__(self) -> int:
        first, end = self._bounds()
        return end - first


def _encode_entry(entry: JournalEntry) -> bytes:
    return orjson.dumps(entry)  # the same as `as_dict()`, without copying it first: twice a request


@dataclass(frozen=True, slots=True)
class FleetParts:
    """What one worker's MockState is made of when the fleet shares a Redis."""

    clock: Clock
    store: RedisResponseStore
    journal: RedisJournal
    ids: RedisIdFactory
    rules: RedisRuleBook


def connect_parts(config: ServerConfig) -> FleetParts:
    """Connect one worker to the fleet's Redis (StoreUnavailable if it cannot be used)."""
    address = parse_redis_address(config.store)
    client = connect(address)
    origin = claim_clock(client, address, config.time_scale)
    return FleetParts(
        clock=SharedOriginClock(config.time_scale, origin),
        store=RedisResponseStore(client, address, origin),
        journal=RedisJournal(client, address, config.journal_limit),
        ids=RedisIdFactory(config.seed, client, address),
        rules=RedisRuleBook(client, address, origin),
    )


def prepare_fleet(config: ServerConfig, rules: list[Rule]) -> None:
    """Before the workers start: the store is reachable, its clock agrees, and its rules are the scenario's."""
    address = parse_redis_address(config.store)
    client = connect(address)
    try:
        claim_clock(client, address, config.time_scale)
        with answered_as_store_error(address):
            RedisRuleBook(client, address).reset(rules)
    finally:
        client.close()
