"""Coalescing follow-up work: mark keys dirty, one worker handles each key once per burst.

The hall of fame must not edit a Discord message for every single reaction of a burst (rate limits),
and must never post twice because two updates of the same chapter ran at the same time.  Marking a key
that is already waiting is free; one worker handles keys one at a time, in the order they were marked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

_log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class Coalescer(Generic[K]):
    def __init__(self, handler: Callable[[K], Awaitable[None]], *, name: str = "coalescer") -> None:
        self._handler = handler
        self._name = name
        self._dirty: dict[K, None] = {}
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def mark(self, keys: Iterable[K]) -> None:
        if self._closed:
            return
        for key in keys:
            self._dirty[key] = None
        if self._dirty:
            self._idle.clear()
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._work(), name=self._name)

    async def _work(self) -> None:
        try:
            while self._dirty:
                key = next(iter(self._dirty))
                del self._dirty[key]
                try:
                    await self._handler(key)
                except Exception:
                    _log.exception("%s: handling %r failed", self._name, key)
        finally:
            if not self._dirty:
                self._idle.set()

    async def drain(self) -> None:
        """Wait until every marked key has been handled."""
        await self._idle.wait()

    async def close(self) -> None:
        """Handle what is already marked, then accept nothing more."""
        self._closed = True
        await self.drain()
