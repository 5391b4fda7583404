"""`bot.ops.metrics`: what each method records, read back from the Prometheus text a scrape gets."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ops.metrics import Metrics, ShardStatus


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics.render().decode()) for s in family.samples}


def test_each_method_lands_in_its_metric() -> None:
    metrics = Metrics()
    metrics.command_finished("chapter next", 0.2)
    metrics.command_finished("chapter next", 0.4, outcome="refused")
    metrics.release_finished("released")
    metrics.release_finished("channel_gone")
    metrics.rate_limit_wait(1.5)
    metrics.rate_limit_wait(0.5)
    metrics.reactions_ingested(7)
    got = samples(metrics)
    assert got[("aar_commands_total", (("command", "chapter next"), ("outcome", "ok")))] == 1
    assert got[("aar_commands_total", (("command", "chapter next"), ("outcome", "refused")))] == 1
    assert got[("aar_command_duration_seconds_count", (("command", "chapter next"),))] == 2
    assert got[("aar_command_duration_seconds_sum", (("command", "chapter next"),))] == pytest.approx(0.6)
    assert got[("aar_releases_total", (("outcome", "released"),))] == 1
    assert got[("aar_releases_total", (("outcome", "channel_gone"),))] == 1
    assert got[("aar_rate_limit_wait_seconds_count", ())] == 2
    assert got[("aar_rate_limit_wait_seconds_sum", ())] == 2.0
    assert got[("aar_reactions_ingested_total", ())] == 7


def test_live_gauges_are_read_at_scrape_time() -> None:
    shards = [ShardStatus(0, True, 0.042), ShardStatus(1, False, None)]
    guilds = [3]
    metrics = Metrics(guild_count=lambda: guilds[0], shards=lambda: shards)
    got = samples(metrics)
    assert got[("aar_guilds", ())] == 3
    assert got[("aar_shard_connected", (("shard", "0"),))] == 1
    assert got[("aar_shard_connected", (("shard", "1"),))] == 0
    assert got[("aar_shard_latency_seconds", (("shard", "0"),))] == 0.042
    assert ("aar_shard_latency_seconds", (("shard", "1"),)) not in got  # no heartbeat acknowledged yet
    assert ("aar_pending_releases", ()) not in got  # until something says how deep the queue is
    guilds[0] = 5
    metrics.queue_depth = lambda: 4
    got = samples(metrics)
    assert (got[("aar_guilds", ())], got[("aar_pending_releases", ())]) == (5, 4)


def test_a_failing_queue_depth_source_does_not_break_the_scrape() -> None:
    metrics = Metrics(guild_count=lambda: 1)

    def broken() -> int:
        raise RuntimeError("queue gone")

    metrics.queue_depth = broken
    got = samples(metrics)
    assert got[("aar_guilds", ())] == 1 and ("aar_pending_releases", ()) not in got


def test_two_bots_in_one_process_keep_their_own_counts() -> None:
    first, second = Metrics(), Metrics()  # a global registry would refuse the second as a duplicate
    first.release_finished("released")
    assert samples(first)[("aar_releases_total", (("outcome", "released"),))] == 1
    assert ("aar_releases_total", (("outcome", "released"),)) not in samples(second)
