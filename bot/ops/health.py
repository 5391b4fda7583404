"""Is this process healthy?  Every shard it runs connected to the gateway, and the database answering.

Either alone is not enough: a bot connected to Discord with a broken database answers every command with
an apology, and one with a good database but a shard in a reconnect loop is silent for that shard's
servers.  The verdict lists every reason it is not healthy, so an operator sees all of them at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from bot.ops.metrics import ShardStatus

DATABASE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    reasons: list[str] = field(default_factory=list)
    shards: dict[int, bool] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"status": "ok" if self.healthy else "unhealthy", "reasons": self.reasons,
                "shards": {str(k): v for k, v in sorted(self.shards.items())}}


async def check_health(expected_shards: Iterable[int], shards: Iterable[ShardStatus],
                       ping_database: Callable[[], Awaitable[None]], *,
                       database_timeout: float = DATABASE_TIMEOUT_SECONDS) -> HealthReport:
    """Judge the shards this process should run against what the gateway client reports, and ping the
    database (giving up after `database_timeout` seconds)."""
    seen = {s.shard_id: s.connected for s in shards}
    status = {shard: seen.get(shard, False) for shard in expected_shards}
    reasons = [f"shard {shard} is not connected to the gateway" for shard, up in status.items() if not up]
    if not status:
        reasons.append("no shard has been started yet")
    try:
        await asyncio.wait_for(ping_database(), database_timeout)
    except TimeoutError:
        reasons.append(f"the database did not answer within {database_timeout:g}s")
    except Exception as exc:  # whatever the driver raises, the operator needs to read it
        reasons.append(f"the database does not answer: {exc.__class__.__name__}: {exc}".rstrip(": "))
    return HealthReport(not reasons, reasons, status)
