"""The harness's view of a mock backend, through its admin HTTP API only (so any bgr mock will do)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

import aiohttp

from mock_server.config import ADMIN_TOKEN_ENV
from mock_server.rules import Rule


class MockAdminError(RuntimeError):
    pass


def admin_headers(admin_token: str | None = None) -> dict[str, str]:
    """What every request to a mock's admin API carries: its admin token, given or from BGR_ADMIN_TOKEN."""
    token = admin_token or os.environ.get(ADMIN_TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


class MockAdmin:
    def __init__(self, url: str, admin_token: str | None = None) -> None:
        """`url`: the server's root, e.g. http://127.0.0.1:8000 (not /v1). `admin_token`: what a mock
        started with `--admin-token` wants (by default, from the environment variable BGR_ADMIN_TOKEN)."""
        self.url = url.rstrip("/")
        self._headers = admin_headers(admin_token)
        self._session: aiohttp.ClientSession | None = None
        self._known_position: int | None = None
        """The journal's length when it was last read: a position at or before any later request's."""
        self._rule_batches = False
        """The mock takes several rules, and several ids to delete, in one request (its health says so)."""

    async def __aenter__(self) -> MockAdmin:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), headers=self._headers)
        try:
            health = await self._get("/_bgr/health")
            self._rule_batches = isinstance(health, dict) and health.get("rule_batches") is True
        except BaseException:
            await self._session.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def journal_position(self) -> int:
        return int((await self._get("/_bgr/journal?since=999999999999"))["next_index"])

    async def recent_position(self) -> int:
        """A journal position at or before now: the length last read, asked for only the first time.

        For callers that keep only their own entries anyway (`journal_scope`): it saves a request per scenario.
        """
        if self._known_position is None:
            self._known_position = await self.journal_position()
        return self._known_position

    async def journal_since(self, position: int) -> list[dict[str, Any]]:
        page = await self._get(f"/_bgr/journal?since={position}")
        self._known_position = max(self._known_position or 0, int(page["next_index"]))
        return list(page["entries"])

    async def truth(self, response_id: str) -> dict[str, Any] | None:
        assert self._session is not None
        async with self._session.get(f"{self.url}/_bgr/responses/{response_id}/truth") as reply:
            if reply.status == 404:
                return None
            return await self._payload(reply)

    async def mark(self, label: str) -> int:
        """Note a moment of the caller's in the server's journal, on the server's clock; its journal index."""
        assert self._session is not None
        async with self._session.post(f"{self.url}/_bgr/journal/marks", json={"label": label}) as reply:
            return int((await self._payload(reply))["index"])

    async def add_rule(self, rule: Rule) -> int:
        assert self._session is not None
        async with self._session.post(f"{self.url}/_bgr/rules", json=_rule_body(rule)) as reply:
            return int((await self._payload(reply))["id"])

    async def add_rules(self, rules: Sequence[Rule]) -> list[int]:
        """Rules added in the order given, their ids: in one request where the mock takes batches.

        A scenario's rules go in and out once per scenario, and each request is a round trip to the mock's
        process (bgr fuzz runs one scenario after another, so the trips add up)."""
        if len(rules) <= 1 or not self._rule_batches:
            return [await self.add_rule(rule) for rule in rules]
        assert self._session is not None
        body = {"rules": [_rule_body(rule) for rule in rules]}
        async with self._session.post(f"{self.url}/_bgr/rules", json=body) as reply:
            return [int(added["id"]) for added in (await self._payload(reply))["rules"]]

    async def delete_rule(self, rule_id: int) -> None:
        assert self._session is not None
        async with self._session.delete(f"{self.url}/_bgr/rules/{rule_id}") as reply:
            await self._payload(reply)

    async def delete_rules(self, rule_ids: Sequence[int]) -> None:
        if len(rule_ids) <= 1 or not self._rule_batches:
            await asyncio.gather(*(self.delete_rule(rule_id) for rule_id in rule_ids))
            return
        assert self._session is not None
        async with self._session.delete(f"{self.url}/_bgr/rules/{','.join(map(str, rule_ids))}") as reply:
            await self._payload(reply)

    async def _get(self, path: str) -> Any:
        assert self._session is not None
        try:
            async with self._session.get(f"{self.url}{path}") as reply:
                return await self._payload(reply)
        except aiohttp.ClientError as error:
            raise MockAdminError(f"cannot reach the bgr mock admin API at {self.url}: {error}") from None

    @staticmethod
    async def _payload(reply: aiohttp.ClientResponse) -> Any:
        if reply.status == 401:
            raise MockAdminError(
                f"the bgr mock at {reply.url.origin()} wants its admin token: set {ADMIN_TOKEN_ENV} to it"
            )
        if reply.status >= 400:
            raise MockAdminError(f"{reply.method} {reply.url.path}: {reply.status} {await reply.text()}")
        return await reply.json()


def _rule_body(rule: Rule) -> dict[str, Any]:
    data = rule.as_dict()
    return {key: data[key] for key in ("name", "match", "times", "faults") if data[key] is not None}
