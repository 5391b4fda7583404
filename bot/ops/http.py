"""The operators' HTTP endpoint: `/healthz` (200 or 503 with a JSON reason) and `/metrics` (Prometheus).

Off unless `AAR_HTTP_PORT` is set, and bound to 127.0.0.1 unless `AAR_HTTP_HOST` says otherwise: the
metrics name no one, but a bot's internals are nobody else's business by default.  aiohttp, which
discord.py already runs on, serves it in the bot's own event loop; `stop()` closes it with the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.ops.health import HealthReport
from bot.ops.metrics import CONTENT_TYPE, Metrics

_log = logging.getLogger(__name__)


class OperatorServer:
    """Serves `/healthz` from `health()` and `/metrics` from `metrics`, on `host:port` (port 0: any free)."""

    def __init__(self, *, host: str, port: int, health: Callable[[], Awaitable[HealthReport]],
                 metrics: Metrics) -> None:
        self.host = host
        self.port = port
        self._health = health
        self._metrics = metrics
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0 and self._runner.addresses:
            self.port = int(self._runner.addresses[0][1])
        _log.info("Operator endpoint on %s (/healthz, /metrics)", self.url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await self._health()
        return web.json_response(report.to_json(), status=200 if report.healthy else 503)

    async def _metrics_page(self, request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response
