"""Where a shared store lives: `redis://HOST:PORT[/DB]`, checked before anything connects.

Kept apart from the store itself so that validating a config needs no Redis client installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEME = "redis://"
DEFAULT_PORT = 6379


class StoreUnavailable(Exception):
    """The shared store cannot be used (not reachable, no client installed, holds another run's clock)."""


@dataclass(frozen=True, slots=True)
class RedisAddress:
    host: str
    port: int
    db: int

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.host}:{self.port}/{self.db}"


def parse_redis_address(url: str) -> RedisAddress:
    """`redis://HOST[:PORT][/DB]`; a ValueError that names what is wrong otherwise."""
    expected = "expected redis://HOST:PORT or redis://HOST:PORT/DB"
    parts = urlsplit(url)
    if "@" in parts.netloc:
        # Never echoed: what stands before the @ may be a password.
        raise ValueError(f"store redis://…@{parts.netloc.rsplit('@', 1)[1]}: no user or password is understood")
    if not url.startswith(SCHEME):
        raise ValueError(f"store {url!r}: {expected}")
    if parts.query or parts.fragment:
        raise ValueError(f"store {url!r}: no query or fragment is understood; {expected}")
    if not parts.hostname:
        raise ValueError(f"store {url!r}: no host; {expected}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"store {url!r}: the port must be a number from 1 to 65535") from None
    path = parts.path.strip("/")
    if path and not (path.isascii() and path.isdigit()):
        raise ValueError(f"store {url!r}: the database must be a whole number, got {path!r}")
    return RedisAddress(parts.hostname, port, int(path) if path else 0)
