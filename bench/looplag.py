"""How late an event loop runs: its stalls, and the full garbage collections among their causes."""

from __future__ import annotations

import asyncio
import gc
import time


class LoopLag:
    """How late this event loop runs a 10 ms timer: its stalls, which delay the bot's answers and bunch
    its requests (a request granted by the budget before a stall goes out after it, with later ones)."""

    TICK = 0.01

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.task = asyncio.create_task(self._watch())
        self.collections: list[float] = []  # the full (generation 2) garbage collections' durations
        self._collecting = 0.0
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._collecting = time.perf_counter()
        else:
            self.collections.append(time.perf_counter() - self._collecting)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.TICK)
            self.lags.append(loop.time() - before - self.TICK)

    def stop(self) -> str:
        self.task.cancel()
        gc.callbacks.remove(self._gc)
        full = (f"; {len(self.collections)} full garbage collections, the longest "
                f"{max(self.collections) * 1000:.0f} ms") if self.collections else ""
        lags = sorted(self.lags) or [0.0]
        p99 = lags[int(len(lags) * 0.99)]
        return (f"event loop lag: max {lags[-1] * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                f"{sum(1 for x in lags if x > 0.1)} stalls over 100 ms{full}")
