"""Benchmark: drawing the `/likes top` and `/quiz stats` charts, and what it costs the event loop.

For 6, 60 and 300 released chapters it times `likes_chart` and `accuracy_chart` (median and p99 per
chart, PNG size), then measures the event loop's longest stall while 20 charts are drawn one after the
other: drawn on the loop (the baseline, what a plain `await`-less call would do) and with
`asyncio.to_thread` (what the cogs do).  A ticker on the loop records how late its 1 ms sleeps wake up;
read the ratio baseline / ours measured in this run, not the absolute figures.

    .venv/bin/python bench/bench_charts.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from bot.charts import Chart, accuracy_chart, likes_chart


def data(chapters: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    likes = [(n, (n * 7) % 23, (n * 5) % 11) for n in range(1, chapters + 1)]
    accuracy = [(n, 1 + n % 5, n % 5) for n in range(1, chapters + 1)]
    return likes, accuracy


def timed(draw: Callable[[], Chart], repeat: int) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = len(draw().png)
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], size


async def longest_stall(draw: Callable[[], Chart], repeat: int, *, threaded: bool) -> float:
    stop = asyncio.Event()
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - start - 0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    for _ in range(repeat):
        if threaded:
            await asyncio.to_thread(draw)
        else:
            draw()
            await asyncio.sleep(0)
    stop.set()
    await task
    return worst


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    likes_chart([(1, 1, 1)])  # fonts and the Agg renderer loaded once, outside the figures
    print(f"{'chapters':>8} {'chart':>9} {'median ms':>10} {'p99 ms':>8} {'PNG KB':>7}")
    for chapters in (6, 60, 300):
        likes, accuracy = data(chapters)
        for name, draw in (("likes", lambda likes=likes: likes_chart(likes)),
                           ("accuracy", lambda accuracy=accuracy: accuracy_chart(accuracy))):
            median, p99, size = timed(draw, args.repeat)
            print(f"{chapters:>8} {name:>9} {median * 1000:>10.1f} {p99 * 1000:>8.1f} {size / 1024:>7.1f}")
    likes, _ = data(60)
    baseline = asyncio.run(longest_stall(lambda: likes_chart(likes), args.repeat, threaded=False))
    ours = asyncio.run(longest_stall(lambda: likes_chart(likes), args.repeat, threaded=True))
    ratio = baseline / max(ours, 1e-6)
    print(f"longest event-loop stall while drawing {args.repeat} charts:")
    print(f"  on the loop {baseline * 1000:.1f} ms, in a thread {ours * 1000:.1f} ms"
          f" (baseline / ours = {ratio:.1f}x)")


if __name__ == "__main__":
    main()
