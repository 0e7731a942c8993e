"""A least-recently-used cache bounded by the total size of what it holds, as a decorator.

cachetools' LRUCache does the same in Python; this one leans on OrderedDict (in C) and hashes
the key once per call, which matters when a miss happens on every request (a new prompt each time).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
V = TypeVar("V")


class SizedLRU(Generic[V]):
    """Values by key, up to `max_size` in all as `size_of` counts it; the least recently used go first."""

    def __init__(self, max_size: int, size_of: Callable[[V], int]) -> None:
        self.max_size = max_size
        self.currsize = 0
        self._size_of = size_of
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: Hashable) -> tuple[V, int] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def keep(self, key: Hashable, value: V) -> None:
        size = self._size_of(value)
        if size > self.max_size:
            return  # bigger than the whole cache: made again each time it is asked for
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.currsize -= previous[1]
            self._entries[key] = (value, size)
            self.currsize += size
            while self.currsize > self.max_size:
                _, (_, evicted) = self._entries.popitem(last=False)
                self.currsize -= evicted

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.currsize = 0


SEEN_KEPT = 1 << 16
"""Keys remembered as asked for once; past this many the memory starts again (a doorkeeper's reset)."""


class _Cached(Generic[P, V]):
    def __init__(
        self, function: Callable[P, V], cache: SizedLRU[V], second_sight: bool | Callable[[Hashable], bool]
    ) -> None:
        self.__wrapped__ = function
        self.__doc__ = function.__doc__
        self.cache = cache
        self._seen: set[int] | None = set() if second_sight else None
        self._waits: Callable[[Hashable], bool] | None = second_sight if callable(second_sight) else None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> V:
        key = args if len(args) != 1 or kwargs else args[0]
        entry = self.cache.lookup(key)
        if entry is not None:
            return entry[0]
        value = self.__wrapped__(*args, **kwargs)
        if (self._waits is not None and not self._waits(key)) or not self.first_sight(key):
            self.cache.keep(key, value)
        return value

    def first_sight(self, key: Hashable) -> bool:
        """Whether `key` was never asked for (and now it has been); always False without `second_sight`.

        Values are kept only when asked for a second time: a stream of one-off keys (a new prompt on
        every request) then never churns the cache, nor pushes out the keys that do repeat.
        """
        seen = self._seen
        if seen is None:
            return False
        fingerprint = hash(key)
        if fingerprint in seen:
            return False
        if len(seen) >= SEEN_KEPT:
            seen.clear()
        seen.add(fingerprint)
        return True


def cached_by_size(
    max_size: int, size_of: Callable[[V], int], *, second_sight: bool | Callable[[Hashable], bool] = False
) -> Callable[[Callable[P, V]], _Cached[P, V]]:
    """Memoise a function of hashable positional arguments in a SizedLRU (the function's `.cache`).

    With `second_sight`, a value is kept only the second time its key is asked for; given as a
    predicate, only for the keys it holds true of (those with a cheaper way to serve a first sight),
    and the others are kept at once.
    """

    def decorate(function: Callable[P, V]) -> _Cached[P, V]:
        return _Cached(function, SizedLRU(max_size, size_of), second_sight)

    return decorate
