"""`--store redis://...` is checked before anything connects; every mistake is named, no password echoed."""

from __future__ import annotations

import pytest

from mock_server import ServerConfig
from mock_server.redis_address import RedisAddress, parse_redis_address


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("redis://127.0.0.1:6390", RedisAddress("127.0.0.1", 6390, 0)),
        ("redis://localhost", RedisAddress("localhost", 6379, 0)),
        ("redis://127.0.0.1:6390/3", RedisAddress("127.0.0.1", 6390, 3)),
    ],
)
def test_good_addresses(url: str, address: RedisAddress) -> None:
    assert parse_redis_address(url) == address
    assert ServerConfig(store=url).store == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis://", "no host"),
        ("redis://:6379", "no host"),
        ("redis://127.0.0.1:notaport", "port"),
        ("redis://127.0.0.1:99999", "port"),
        ("redis://127.0.0.1:6379/zero", "database"),
        ("redis://127.0.0.1:6379/0?timeout=1", "query"),
        ("redis://user:secret@127.0.0.1:6379", "password"),
        ("rediss://127.0.0.1:6379", "store must be"),
        ("redis:/127.0.0.1", "store must be"),
    ],
)
def test_bad_addresses_name_the_mistake(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as raised:
        ServerConfig(store=url)
    assert "secret" not in str(raised.value) and "\n" not in str(raised.value)
