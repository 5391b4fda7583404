"""The release queue (bot/chapters/queue.py): fairness between guilds, one job per guild, bounded workers,
the estimate, errors, and shutting down.  Jobs are gated by events, so the order is the queue's alone."""

from __future__ import annotations

import asyncio

import pytest

from bot.chapters.queue import QueueClosed, ReleaseQueue

pytestmark = pytest.mark.timeout(10)


class Gated:
    """Jobs that record when they start and finish only when the test opens their gate."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.running: set[str] = set()
        self.most_at_once = 0
        self.gates: dict[str, asyncio.Event] = {}

    def job(self, name: str, guild: int) -> tuple[int, object]:
        gate = self.gates.setdefault(name, asyncio.Event())

        async def work() -> str:
            self.started.append(name)
            self.running.add(name)
            self.most_at_once = max(self.most_at_once, len(self.running))
            try:
                await gate.wait()
            finally:
                self.running.discard(name)
            return name
        return guild, work

    def open_all(self) -> None:
        for gate in self.gates.values():
            gate.set()


def queue(workers: int = 1, rate: float = 4.0, per_release: float = 4.0) -> ReleaseQueue:
    return ReleaseQueue(workers=workers, requests_per_second=rate, requests_per_release=per_release)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_guilds_take_turns_round_robin_not_fifo() -> None:
    q, jobs = queue(workers=1), Gated()
    tickets = [q.submit(*jobs.job(name, guild), source="manual")  # type: ignore[arg-type]
               for name, guild in [("a1", 1), ("a2", 1), ("a3", 1), ("b1", 2), ("c1", 3), ("b2", 2)]]
    for name in ["a1", "b1", "c1", "a2", "b2", "a3"]:
        await settle()
        assert jobs.started[-1] == name and len(jobs.running) == 1
        jobs.gates[name].set()
    assert [await t.result() for t in tickets] == ["a1", "a2", "a3", "b1", "c1", "b2"]
    assert jobs.started == ["a1", "b1", "c1", "a2", "b2", "a3"]


async def test_different_guilds_run_concurrently_up_to_the_workers_one_per_guild() -> None:
    q, jobs = queue(workers=3), Gated()
    tickets = [q.submit(*jobs.job(f"g{g}-{n}", g), source="schedule")  # type: ignore[arg-type]
               for g in range(5) for n in range(2)]
    await settle()
    assert sorted(jobs.running) == ["g0-0", "g1-0", "g2-0"] and q.running == 3 and q.waiting == 7
    jobs.open_all()
    assert len(await asyncio.gather(*(t.result() for t in tickets))) == 10
    assert jobs.most_at_once == 3
    # No guild ever ran two at once: each guild's second job started after its first.
    for g in range(5):
        assert jobs.started.index(f"g{g}-0") < jobs.started.index(f"g{g}-1")
    assert q.finished == 10 and q.running == 0 and q.waiting == 0


async def test_one_guild_runs_one_at_a_time_even_with_free_workers() -> None:
    q, jobs = queue(workers=4), Gated()
    for n in range(3):
        q.submit(*jobs.job(f"a{n}", 7), source="manual")  # type: ignore[arg-type]
    await settle()
    assert jobs.running == {"a0"}
    jobs.open_all()
    await settle()
    await settle()
    assert jobs.most_at_once == 1 and jobs.started == ["a0", "a1", "a2"]


async def test_estimate_from_the_work_ahead_and_the_budget() -> None:
    q, jobs = queue(workers=1, rate=4.0, per_release=4.0), Gated()  # one release a second
    first = q.submit(*jobs.job("a1", 1), source="manual")  # type: ignore[arg-type]
    assert first.starts_now and first.ahead == 0 and first.estimate == pytest.approx(1.0)
    await settle()
    second = q.submit(*jobs.job("b1", 2), source="manual")  # type: ignore[arg-type]
    assert not second.starts_now and second.ahead == 0  # nothing waiting, but the worker is busy
    assert second.estimate == pytest.approx(1.5)  # half the running one, then its own
    third = q.submit(*jobs.job("c1", 3), source="manual")  # type: ignore[arg-type]
    assert third.ahead == 1 and third.estimate == pytest.approx(2.5)
    # A guild with jobs waiting: its next one waits for its own and a turn of everyone else's.
    q.submit(*jobs.job("b2", 2), source="manual")  # type: ignore[arg-type]
    assert q.ahead_of_new(2) == 2 + 1  # b1, b2 of its own; c1 once
    assert q.ahead_of_new(1) == 1 + 1 + 1  # a1 running; b1 and c1 in the first round
    jobs.open_all()


async def test_a_failing_job_fails_its_ticket_only() -> None:
    q = queue(workers=2)

    async def boom() -> None:
        raise RuntimeError("database is locked")

    async def fine() -> str:
        return "ok"

    bad, good = q.submit(1, boom, source="manual"), q.submit(2, fine, source="manual")
    with pytest.raises(RuntimeError, match="locked"):
        await bad.result()
    assert await good.result() == "ok"
    assert await q.submit(1, fine, source="manual").result() == "ok"  # the guild goes on


async def test_a_waiter_giving_up_does_not_stop_the_job() -> None:
    q, jobs = queue(workers=1), Gated()
    ticket = q.submit(*jobs.job("a1", 1), source="manual")  # type: ignore[arg-type]
    waiter = asyncio.create_task(ticket.result())
    await settle()
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert jobs.running == {"a1"}
    jobs.open_all()
    assert await ticket.result() == "a1"


async def test_close_drops_the_jobs_not_started_and_stop_cancels_the_running_ones() -> None:
    q, jobs = queue(workers=1), Gated()
    cancelled: list[str] = []

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("running")
            raise

    running = q.submit(1, stubborn, source="resume")
    waiting = q.submit(*jobs.job("b1", 2), source="manual")  # type: ignore[arg-type]
    await settle()
    await q.stop(grace=0.05)
    with pytest.raises(QueueClosed):
        await waiting.result()
    with pytest.raises(QueueClosed):
        await running.result()
    assert cancelled == ["running"] and jobs.started == []
    late = q.submit(*jobs.job("c1", 3), source="schedule")  # type: ignore[arg-type]
    with pytest.raises(QueueClosed):
        await late.result()
    assert jobs.started == []


async def test_stop_lets_running_jobs_finish_within_the_grace() -> None:
    q, jobs = queue(workers=2), Gated()
    ticket = q.submit(*jobs.job("a1", 1), source="schedule")  # type: ignore[arg-type]
    await settle()
    stopping = asyncio.create_task(q.stop(grace=5))
    await settle()
    assert not stopping.done()
    jobs.open_all()
    await stopping
    assert await ticket.result() == "a1"


def test_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        ReleaseQueue(workers=0, requests_per_second=45)
