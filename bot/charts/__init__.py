"""Charts as PNG bytes, for the commands where people would rather look than read (`/likes top`,
`/quiz stats`).

Discord-free and drawn with matplotlib's Agg canvas on a `Figure` of its own (never pyplot: no global
figure state, no GUI backend, safe to draw in a worker thread with `asyncio.to_thread`).  Each function
returns the labels it drew beside the bytes, so callers and tests can check what a chart shows without
reading pixels: the spoiler promise holds for pictures too.
"""

from bot.charts.bars import Chart, accuracy_chart, likes_chart

__all__ = ["Chart", "accuracy_chart", "likes_chart"]
