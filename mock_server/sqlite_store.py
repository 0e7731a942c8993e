"""A response store that survives the process: SQLite, one file, written before each answer.

It keeps each response's recipe (request, seed, timeline spec) and what happened to it
since (cancel, polls), not its events: the events are a pure function of the recipe, so
a restarted server rebuilds them byte for byte. WAL with synchronous=NORMAL survives a
SIGKILL of the server (the OS holds committed pages); only a power cut could lose the
last commits, which a mock need not survive.

It keeps where the scenario clock started too, so that a restarted server's clock carries on:
at a time scale below 1 scenario time runs ahead of real time, and a clock restarted from real
time would put every stored response back in the past's future (queued again, replays paced).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from pathlib import Path

import orjson

from mock_server.clock import Clock, ClockAnchor
from mock_server.params import response_params_from_dict
from mock_server.recorded import RecordedAnswer, RecordedRecipe
from mock_server.store import Recipe, ResponseStore, StoredResponse
from mock_server.timeline import Script, TimelineSpec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    recipe BLOB NOT NULL,
    cancelled_at REAL,
    polls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    real REAL NOT NULL,
    scenario REAL NOT NULL,
    time_scale REAL NOT NULL
);
"""


class SqliteResponseStore(ResponseStore):
    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._latest_created_at = 0.0
        for response_id, recipe, cancelled_at, polls in self._db.execute(
            "SELECT id, recipe, cancelled_at, polls FROM responses ORDER BY rowid"
        ):
            response = StoredResponse.create(_decode_recipe(recipe))
            response.polls = polls
            self._latest_created_at = max(self._latest_created_at, response.created_at)
            super().add(response)
            if cancelled_at is not None:
                super().cancel(response_id, cancelled_at)

    def id_position(self) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = 'ids'").fetchone()
        return int(row[0]) if row else 0

    def save_id_position(self, position: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES ('ids', ?)", (position,))

    def resumed_clock(self, time_scale: float) -> Clock:
        """The scenario clock, carried on from the last process's (its scale counts for the time between);
        never behind any stored response, so what had finished stays finished."""
        row = self._db.execute("SELECT real, scenario, time_scale FROM clock WHERE id = 0").fetchone()
        now = time.time()
        start = ClockAnchor(*row).scenario_time_at(now) if row else now
        return self.kept_clock(Clock(time_scale, start=max(start, self._latest_created_at)))

    def kept_clock(self, clock: Clock) -> Clock:
        """`clock`, with where it started written down for the next process to carry on from."""
        anchor = clock.anchor
        self._db.execute(
            "INSERT OR REPLACE INTO clock (id, real, scenario, time_scale) VALUES (0, ?, ?, ?)",
            (anchor.real, anchor.scenario, anchor.time_scale),
        )
        return clock

    def add(self, response: StoredResponse) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses (id, recipe, cancelled_at, polls) VALUES (?, ?, ?, ?)",
            (response.id, _encode_recipe(response.recipe), response.cancelled_at, response.polls),
        )
        super().add(response)

    def record_poll(self, response: StoredResponse) -> None:
        super().record_poll(response)
        if response.spec.paced_by_polls:
            self._db.execute("UPDATE responses SET polls = ? WHERE id = ?", (response.polls, response.id))

    def cancel(self, response_id: str, now: float) -> StoredResponse:
        response = super().cancel(response_id, now)
        self._db.execute("UPDATE responses SET cancelled_at = ? WHERE id = ?", (response.cancelled_at, response_id))
        return response

    def delete(self, response_id: str) -> StoredResponse:
        response = super().delete(response_id)
        self._db.execute("DELETE FROM responses WHERE id = ?", (response_id,))
        return response

    def close(self) -> None:
        self._db.close()


def _encode_recipe(recipe: Recipe) -> bytes:
    # Flat, as before scripts were shared: files written by earlier versions still load.
    script = recipe.script
    data = {
        "id": recipe.id,
        "item_id": recipe.item_id,
        "params": dataclasses.asdict(script.params),
        "created_at": recipe.created_at,
        "seed": script.seed,
        "answer_length": script.answer_length,
        "spec": dataclasses.asdict(script.spec),
    }
    if isinstance(recipe, RecordedRecipe) and recipe.answer is not None:
        # The recording itself, not its cassette's path: a restart needs no file but this one.
        data["recorded"] = {"answer": recipe.answer.as_dict(), "recorded_pace": recipe.recorded_pace}
    return orjson.dumps(data)


def _decode_recipe(raw: bytes) -> Recipe:
    data = orjson.loads(raw)
    script = Script(
        params=response_params_from_dict(data["params"]),
        seed=data["seed"],
        answer_length=data["answer_length"],
        spec=TimelineSpec.from_dict(data["spec"]),
    )
    if "recorded" in data:
        recorded = data["recorded"]
        answer = RecordedAnswer.from_dict(recorded["answer"])
        return RecordedRecipe(
            data["id"], data["item_id"], data["created_at"], script, answer, recorded_pace=recorded["recorded_pace"]
        )
    return Recipe(id=data["id"], item_id=data["item_id"], created_at=data["created_at"], script=script)
