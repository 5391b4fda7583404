"""Every metric the bot exports, in one place, in Prometheus' format (`/metrics`).

The bot's code says what happened in its own words (`command_finished`, `release_finished`,
`rate_limit_wait`, `reactions_ingested`); this module decides names, labels and buckets.  Gauges of the
present state (servers, shards, latency, pending releases) are read at scrape time from callbacks, so they
are never stale and cost nothing between scrapes.

Each bot has its own `CollectorRegistry`, not prometheus_client's global one: several bots run in one test
process, and a global registry would refuse the second bot's metrics as duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Slash commands answer within Discord's 3 s (or defer); a release can take tens of seconds.
COMMAND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RATE_LIMIT_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class ShardStatus:
    """One shard of this process as the gateway client sees it."""

    shard_id: int
    connected: bool
    latency: float | None  # seconds between heartbeat and ack; None before the first ack


class _LiveState(Collector):
    """The gauges read at scrape time from `Metrics`' callbacks."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self._metrics
        guilds = GaugeMetricFamily("aar_guilds", "Servers the shards of this process hold")
        guilds.add_metric([], m.guild_count())
        yield guilds
        connected = GaugeMetricFamily("aar_shard_connected", "1 while the shard's gateway is connected",
                                      labels=["shard"])
        latency = GaugeMetricFamily("aar_shard_latency_seconds",
                                    "Gateway heartbeat latency of the shard", labels=["shard"])
        for shard in m.shards():
            connected.add_metric([str(shard.shard_id)], 1.0 if shard.connected else 0.0)
            if shard.latency is not None:
                latency.add_metric([str(shard.shard_id)], shard.latency)
        yield connected
        yield latency
        if m.queue_depth is not None:
            depth = GaugeMetricFamily("aar_pending_releases", "Releases queued and not yet posted")
            try:
                depth.add_metric([], float(m.queue_depth()))
            except Exception:  # a scrape must not fail because one source did
                _log.warning("Could not read the release queue depth", exc_info=True)
            else:
                yield depth


class Metrics:
    """The bot's metrics.  `guild_count` and `shards` are read at each scrape; `queue_depth` (pending
    releases) is exported once something sets it."""

    def __init__(self, *, guild_count: Callable[[], int] = lambda: 0,
                 shards: Callable[[], Iterable[ShardStatus]] = tuple) -> None:
        self.registry = CollectorRegistry()  # not auto-describing: the callbacks run at scrape time only
        self.guild_count = guild_count
        self.shards = shards
        self.queue_depth: Callable[[], int] | None = None
        self.registry.register(_LiveState(self))
        self._commands = Counter("aar_commands", "Application commands handled, by name and outcome",
                                 ["command", "outcome"], registry=self.registry)
        self._command_seconds = Histogram("aar_command_duration_seconds",
                                          "Time from receiving a command to finishing it, by name",
                                          ["command"], buckets=COMMAND_BUCKETS, registry=self.registry)
        self._releases = Counter("aar_releases", "Chapter releases finished, by outcome", ["outcome"],
                                 registry=self.registry)
        self._rate_limit_waits = Histogram("aar_rate_limit_wait_seconds",
                                           "Waits imposed by Discord's rate limits",
                                           buckets=RATE_LIMIT_BUCKETS, registry=self.registry)
        self._reactions = Counter("aar_reactions_ingested", "Reaction events taken in for likes",
                                  registry=self.registry)

    def command_finished(self, name: str, seconds: float, *, outcome: str = "ok") -> None:
        """A command (`name` as typed: "chapter next") ran for `seconds`, ending "ok", "refused" (the
        member was told no) or "error" (a bug)."""
        self._commands.labels(command=name, outcome=outcome).inc()
        self._command_seconds.labels(command=name).observe(seconds)

    def release_finished(self, outcome: str) -> None:
        """A release ended as `outcome` ("released", "channel_gone", "missing_permissions", ...)."""
        self._releases.labels(outcome=outcome).inc()

    def rate_limit_wait(self, seconds: float) -> None:
        """The bot waited `seconds` for a rate limit before sending."""
        self._rate_limit_waits.observe(max(0.0, seconds))

    def reactions_ingested(self, count: int = 1) -> None:
        """`count` reaction events (adds, removes, clears) were handed to the likes ingest."""
        self._reactions.inc(count)

    def render(self) -> bytes:
        """The text exposition format, as served at `/metrics`."""
        return generate_latest(self.registry)
