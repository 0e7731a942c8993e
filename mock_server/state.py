"""Everything one running mock holds, shared by its handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from mock_server.answer import IdFactory
from mock_server.clock import Clock
from mock_server.config import ServerConfig
from mock_server.journal import Journal
from mock_server.playback import Recordings, decode_unmatched
from mock_server.redis_address import SCHEME as REDIS_SCHEME
from mock_server.rules import RuleBook
from mock_server.sqlite_store import SqliteResponseStore
from mock_server.store import ResponseStore


@dataclass(slots=True)
class MockState:
    config: ServerConfig
    clock: Clock
    store: ResponseStore = field(default_factory=ResponseStore)
    journal: Journal = field(default_factory=Journal)
    ids: IdFactory = field(default_factory=lambda: IdFactory(0))
    rules: RuleBook = field(default_factory=RuleBook)
    recordings: Recordings | None = None
    """Recorded answers of the config's cassettes (None: every answer is generated)."""

    @classmethod
    def from_config(cls, config: ServerConfig, clock: Clock | None = None) -> MockState:
        if clock is not None and clock.time_scale != config.time_scale:
            raise ValueError(f"the clock runs at time scale {clock.time_scale:g}, the config at {config.time_scale:g}")
        recordings = None
        if config.cassettes:
            # Loaded before the store opens a file: a bad cassette (a one-line CassetteError) leaves nothing open.
            recordings = Recordings.load(config.cassettes, config.match_on, decode_unmatched(config.unmatched))
        if config.store.startswith(REDIS_SCHEME):
            from mock_server.redis_fleet import connect_parts  # only here: redis is an optional extra

            parts = connect_parts(config)
            return cls(
                config=config,
                clock=clock or parts.clock,
                store=parts.store,
                journal=parts.journal,
                ids=parts.ids,
                rules=parts.rules,
                recordings=recordings,
            )
        if config.store.startswith("sqlite:"):
            durable = SqliteResponseStore(config.store.removeprefix("sqlite:"))
            store: ResponseStore = durable
            ids = IdFactory(config.seed, start=durable.id_position())
            # A run's own clock is kept (the store notes where it started); else scenario time carries on.
            clock = durable.resumed_clock(config.time_scale) if clock is None else durable.kept_clock(clock)
        else:
            store, ids, clock = ResponseStore(), IdFactory(config.seed), clock or Clock(config.time_scale)
        return cls(
            config=config,
            clock=clock,
            store=store,
            journal=Journal(config.journal_limit, config.journal_max_bytes),
            ids=ids,
            recordings=recordings,
        )

    def remember_ids(self) -> None:
        """After making ids: a durable store keeps the position, so a restart never reuses one."""
        if isinstance(self.store, SqliteResponseStore):
            self.store.save_id_position(self.ids.position)


STATE = web.AppKey("bgr_state", MockState)
