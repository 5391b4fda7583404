"""A counter one can await: "wait until n events were seen", without polling or sleeping."""

from __future__ import annotations

import asyncio


class Progress:
    def __init__(self) -> None:
        self.value = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def advance(self, by: int = 1) -> None:
        self.value += by
        still = []
        for target, future in self._waiters:
            if target <= self.value:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((target, future))
        self._waiters = still

    async def wait_for(self, target: int) -> None:
        """Return once `value` reached `target` (wrap in asyncio.wait_for for a timeout)."""
        if self.value >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        await future
