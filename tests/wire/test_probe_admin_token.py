"""Probe: with an admin token set, no `/_bgr/` request passes without it, and the token is never journaled."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.conformance.mock_admin import MockAdmin, MockAdminError
from mock_server import ServerConfig, ServerThread
from mock_server.config import ADMIN_TOKEN_ENV
from mock_server.serve_command import bgr_serve
from tests.raw_http import send

BGR = str(Path(sys.executable).parent / "bgr")
TOKEN = "t0k3n-for-the-admin-api"


@pytest.fixture
def guarded(start_mock: Callable[..., ServerThread]) -> ServerThread:
    return start_mock(ServerConfig(admin_token=TOKEN))


ADMIN_REQUESTS = [
    ("GET", "/_bgr/health"),
    ("GET", "/_bgr/journal"),
    ("DELETE", "/_bgr/journal"),
    ("POST", "/_bgr/journal/marks"),
    ("GET", "/_bgr/rules"),
    ("POST", "/_bgr/rules"),
    ("DELETE", "/_bgr/rules"),
    ("DELETE", "/_bgr/rules/1"),
    ("GET", "/_bgr/responses/resp_x/truth"),
    ("GET", "/_bgr/no-such-thing"),
    ("GET", "/_bgr"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_REQUESTS)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", f"{TOKEN}"]
)
def test_every_admin_request_without_the_token_gets_a_401_envelope(
    guarded: ServerThread, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    reply = send(method, f"{guarded.url}{path}", json_body={"label": "x"}, headers=headers)
    assert reply.status == 401
    assert reply.json()["error"]["code"] == "invalid_admin_token"
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_with_the_token_the_admin_api_answers_and_the_api_needs_none(guarded: ServerThread) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert send("GET", f"{guarded.url}/_bgr/health", headers=auth).status == 200
    assert send("POST", f"{guarded.url}/_bgr/journal/marks", json_body={"label": "m"}, headers=auth).status == 200
    created = send("POST", f"{guarded.base_url}/responses", json_body={"model": "m", "input": "no token here"})
    assert created.status == 200


def test_the_token_is_never_journaled(guarded: ServerThread) -> None:
    leaks = {"Authorization": f"Bearer {TOKEN}", "X-Bgr-Note": "hello", "User-Agent": "probe"}
    send("POST", f"{guarded.base_url}/responses", json_body={"model": "m", "input": "x"}, headers=leaks)
    send("GET", f"{guarded.url}/_bgr/health", headers={"Authorization": "Bearer wrong"})
    journal = send("GET", f"{guarded.url}/_bgr/journal", headers={"Authorization": f"Bearer {TOKEN}"})
    assert journal.status == 200 and journal.json()["entries"]
    assert TOKEN not in journal.body.decode()
    assert TOKEN not in repr(guarded.server.config)


async def test_the_harness_admin_client_sends_the_token_from_the_environment(
    guarded: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    with pytest.raises(MockAdminError, match=ADMIN_TOKEN_ENV):
        async with MockAdmin(guarded.url):
            pass
    async with MockAdmin(guarded.url, admin_token=TOKEN) as admin:
        assert await admin.journal_position() >= 0
    monkeypatch.setenv(ADMIN_TOKEN_ENV, TOKEN)
    async with MockAdmin(guarded.url) as admin:
        await admin.mark("from the environment")
        assert (await admin.journal_since(0))[-1]["path"] == "from the environment"


def test_bgr_run_against_a_protected_bgr_serve(tmp_path: Path) -> None:
    env = {**__import__("os").environ, ADMIN_TOKEN_ENV: TOKEN}
    with bgr_serve("--time-scale", "0.02", env=env) as server:
        url = server.root
        assert TOKEN not in server.banner
        assert send("GET", f"{url}/_bgr/health").status == 401
        run = [BGR, "run", "--agent", "openai", "--scenario", "poll-to-completion", "--base-url", f"{url}/v1"]
        without = subprocess.run(run, capture_output=True, text=True, timeout=120, env={**env, ADMIN_TOKEN_ENV: ""})
        assert without.returncode != 0 and ADMIN_TOKEN_ENV in without.stderr and "Traceback" not in without.stderr
        passed = subprocess.run(run, capture_output=True, text=True, timeout=120, env=env)
        assert passed.returncode == 0, passed.stdout + passed.stderr


def test_a_token_that_cannot_be_a_header_is_a_one_line_error() -> None:
    result = subprocess.run([BGR, "serve", "--port", "0", "--admin-token", "has space"], capture_output=True, text=True)
    assert result.returncode != 0 and "admin token" in result.stderr and "Traceback" not in result.stderr
