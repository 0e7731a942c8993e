"""Durable continuation tokens: the lesson's "persist tokens so you can resume after a crash".

An operation is one background run: who runs it (the agent spec), how (`poll` or `stream`), the
prompt, the latest token and, for streams, the text already handed to the caller. Pollers and
resumers save every token the moment it arrives, so a process killed at any point leaves behind
what a new process needs to finish the job. Tokens are opaque strings: stored, never parsed.

`SqliteTokenStore` keeps them in one SQLite file (WAL, so readers never block the writer and a
killed writer loses nothing committed); `MemoryTokenStore` is the same without the file.
"""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

__all__ = [
    "FINISHED",
    "UNFINISHED",
    "MemoryTokenStore",
    "Operation",
    "OperationKind",
    "SqliteTokenStore",
    "TokenStore",
    "new_operation",
]

OperationKind = Literal["poll", "stream"]
FINISHED = frozenset({"completed", "failed", "cancelled", "incomplete", "lost"})
"""Statuses after which there is nothing left to resume (`lost`: no token was ever saved)."""
UNFINISHED = ("pending", "timed_out", "error")
"""Statuses `pending()` returns: the backend may still be working, and the token can go on."""
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Operation:
    id: str
    agent: str
    """The agent spec that made the token (`openai`, `cmd:...`): tokens are agent-specific."""
    kind: OperationKind
    prompt: str | None
    token: str | None = None
    delivered: str = ""
    """Streams: the text handed to the caller so far. Polls: the final answer, once there is one."""
    token_at: int = 0
    """How many characters of `delivered` the stored token covers (for streams). A crash after
    delivering text but before storing its token leaves `delivered` longer than this: resuming
    from the older token repeats that text, which is then recognised and not delivered again."""
    status: str = "pending"
    attempts: int = 0
    """Calls made to the agent for this operation, over every process that worked on it."""
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    """Unix time of the last change."""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def new_operation(agent: str, kind: OperationKind, prompt: str | None, token: str | None = None) -> Operation:
    now = time.time()
    return Operation(
        id=f"op_{secrets.token_hex(8)}",
        agent=agent,
        kind=kind,
        prompt=prompt,
        token=token,
        created_at=now,
        updated_at=now,
    )


class TokenStore(Protocol):
    """Where operations and their tokens live between calls, and between processes."""

    def save(self, operation: Operation) -> None:
        """Insert or replace the whole record."""

    def get(self, operation_id: str) -> Operation | None: ...

    def find_token(self, token: str, kind: OperationKind | None = None) -> Operation | None:
        """The operation (of this kind) whose latest token this is (the most recently updated, if several)."""

    def pending(self, kind: OperationKind | None = None, agent: str | None = None) -> list[Operation]:
        """Unfinished operations (status in `UNFINISHED`), oldest first."""

    def save_token(
        self, operation_id: str, token: str | None, *, attempts: int | None = None, token_at: int | None = None
    ) -> None:
        """Record the latest token (and the call count, and how much text it covers)."""

    def deliver(self, operation_id: str, text: str) -> None:
        """Append text that has just been handed to the caller."""

    def finish(self, operation_id: str, status: str, text: str | None = None, error: str | None = None) -> None:
        """Set the final status; a finished operation forgets its token. `text` replaces `delivered`."""

    def delete(self, operation_id: str) -> bool: ...

    def close(self) -> None: ...


class MemoryTokenStore:
    """A `TokenStore` in a dict: for tests and for processes that need no restart."""

    def __init__(self) -> None:
        self._operations: dict[str, Operation] = {}

    def save(self, operation: Operation) -> None:
        self._operations[operation.id] = operation

    def get(self, operation_id: str) -> Operation | None:
        return self._operations.get(operation_id)

    def find_token(self, token: str, kind: OperationKind | None = None) -> Operation | None:
        holders = [op for op in self._operations.values() if op.token == token and kind in (None, op.kind)]
        return max(holders, key=lambda op: op.updated_at, default=None)

    def pending(self, kind: OperationKind | None = None, agent: str | None = None) -> list[Operation]:
        return sorted(
            (
                op
                for op in self._operations.values()
                if op.status in UNFINISHED and kind in (None, op.kind) and agent in (None, op.agent)
            ),
            key=lambda op: op.created_at,
        )

    def save_token(
        self, operation_id: str, token: str | None, *, attempts: int | None = None, token_at: int | None = None
    ) -> None:
        op = self._require(operation_id)
        self._operations[operation_id] = dataclasses.replace(
            op,
            token=token,
            attempts=op.attempts if attempts is None else attempts,
            token_at=op.token_at if token_at is None else token_at,
            updated_at=time.time(),
        )

    def deliver(self, operation_id: str, text: str) -> None:
        op = self._require(operation_id)
        self._operations[operation_id] = dataclasses.replace(op, delivered=op.delivered + text, updated_at=time.time())

    def finish(self, operation_id: str, status: str, text: str | None = None, error: str | None = None) -> None:
        op = self._require(operation_id)
        self._operations[operation_id] = dataclasses.replace(
            op,
            status=status,
            token=None if status in FINISHED else op.token,
            delivered=op.delivered if text is None else text,
            error=error,
            updated_at=time.time(),
        )

    def delete(self, operation_id: str) -> bool:
        return self._operations.pop(operation_id, None) is not None

    def close(self) -> None:
        pass

    def _require(self, operation_id: str) -> Operation:
        op = self._operations.get(operation_id)
        if op is None:
            raise KeyError(f"no operation {operation_id!r} in the store")
        return op


_SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('poll', 'stream')),
    prompt TEXT,
    token TEXT,
    delivered TEXT NOT NULL DEFAULT '',
    token_at INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS operations_status ON operations (status, created_at);
"""
_COLUMNS = [field.name for field in dataclasses.fields(Operation)]
_SELECT = ", ".join(_COLUMNS)


_BUSY_TIMEOUT_SECONDS = 10.0
_WAL_RETRY_SECONDS = 0.01


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode, once for good: a store already in it needs no lock.

    Switching needs the file to itself, and SQLite answers "locked" at once instead of
    waiting when another process holds it (two processes opening a new store together):
    then look again until that process has switched it, or the busy timeout passes.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_SECONDS
    while db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY_SECONDS)


class SqliteTokenStore:
    """A `TokenStore` in one SQLite file, created (with its table) on first use.

    Every change is its own committed transaction, so a process killed at any instant leaves
    the last token it received on disk. WAL with `synchronous=NORMAL` survives a killed
    process; only a power cut could lose the very last commits.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            # Autocommit: each statement commits at once; a timeout rides out another process's write.
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
            try:
                _use_wal(db)
                db.execute("PRAGMA synchronous=NORMAL")
                self._create_schema(db)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def _create_schema(self, db: sqlite3.Connection) -> None:
        # Reads first: a store that is set up needs no write, so opening it never waits on a writer.
        if self._schema_version(db) == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")  # one process creates the schema; the others wait, then find it
        try:
            if self._schema_version(db) != SCHEMA_VERSION:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _schema_version(self, db: sqlite3.Connection) -> int:
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"{self.path} was written by a newer bgr (token store version {version}, "
                f"this one reads {SCHEMA_VERSION})"
            )
        return version

    def save(self, operation: Operation) -> None:
        placeholders = ", ".join("?" for _ in _COLUMNS)
        self.db.execute(
            f"INSERT OR REPLACE INTO operations ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
            [getattr(operation, name) for name in _COLUMNS],
        )

    def get(self, operation_id: str) -> Operation | None:
        return self._one(f"SELECT {_SELECT} FROM operations WHERE id = ?", (operation_id,))

    def find_token(self, token: str, kind: OperationKind | None = None) -> Operation | None:
        return self._one(
            f"SELECT {_SELECT} FROM operations WHERE token = ? AND (? IS NULL OR kind = ?) "
            "ORDER BY updated_at DESC LIMIT 1",
            (token, kind, kind),
        )

    def pending(self, kind: OperationKind | None = None, agent: str | None = None) -> list[Operation]:
        query = f"SELECT {_SELECT} FROM operations WHERE status IN ({', '.join('?' for _ in UNFINISHED)})"
        args: list[object] = list(UNFINISHED)
        if kind is not None:
            query += " AND kind = ?"
            args.append(kind)
        if agent is not None:
            query += " AND agent = ?"
            args.append(agent)
        rows = self.db.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [_operation(row) for row in rows]

    def save_token(
        self, operation_id: str, token: str | None, *, attempts: int | None = None, token_at: int | None = None
    ) -> None:
        self._update(
            operation_id,
            "token = ?, attempts = COALESCE(?, attempts), token_at = COALESCE(?, token_at)",
            (token, attempts, token_at),
        )

    def deliver(self, operation_id: str, text: str) -> None:
        self._update(operation_id, "delivered = delivered || ?", (text,))

    def finish(self, operation_id: str, status: str, text: str | None = None, error: str | None = None) -> None:
        self._update(
            operation_id,
            "status = ?, token = CASE WHEN ? THEN NULL ELSE token END, delivered = COALESCE(?, delivered), error = ?",
            (status, status in FINISHED, text, error),
        )

    def delete(self, operation_id: str) -> bool:
        return self.db.execute("DELETE FROM operations WHERE id = ?", (operation_id,)).rowcount > 0

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _update(self, operation_id: str, assignments: str, args: tuple[object, ...]) -> None:
        cursor = self.db.execute(
            f"UPDATE operations SET {assignments}, updated_at = ? WHERE id = ?", (*args, time.time(), operation_id)
        )
        if cursor.rowcount == 0:
            raise KeyError(f"no operation {operation_id!r} in {self.path}")

    def _one(self, query: str, args: tuple[object, ...]) -> Operation | None:
        row = self.db.execute(query, args).fetchone()
        return None if row is None else _operation(row)


def _operation(row: tuple[object, ...]) -> Operation:
    return Operation(**dict(zip(_COLUMNS, row, strict=True)))  # type: ignore[arg-type]
