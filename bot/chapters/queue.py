"""The release queue: one per process, feeding releases of different guilds concurrently and fairly.

Every release goes through it: a moderator's `/chapter next`, the schedules (`schedules.run_due`), and
the resume of interrupted releases at start.  It runs up to `workers` releases at once, one at a time
per guild (the Publisher's per-guild lock stays behind it), and takes guilds round-robin: a guild with
ten releases waiting does not hold up a guild with one, as a FIFO over all would.  The pace itself comes
from the request budget (`bot.pacing`): workers only keep enough releases in flight to use it.

Restart safety.  A job is claimed (`release_log.claim_release`, the durable intent) when it *starts*, not
when it is queued: the claim lives inside `Publisher.release_next` with the finishing of an interrupted
release, under the guild's lock, and splitting it would take that engine apart.  What a process death
loses is therefore only what was queued and not started, and each source recovers it: a schedule only
moves on once its release is done (so an unfired slot fires at the next start), a resume is found again
from the database, and a `/chapter next` was answered "queued", so its moderator sees no jump link and
runs it again (nothing is posted twice: a started release resumes instead).

Discord-free; a job is any coroutine function.  `close()` stops intake and drops the jobs not started
(their tickets raise `QueueClosed`), `stop()` then gives the running ones a grace period and cancels
the rest: a cancelled release stays claimed, so the next start finishes it.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Source = Literal["manual", "schedule", "resume"]
DEFAULT_REQUESTS_PER_RELEASE = 4.0  # three messages and a thread: what the shipped chapters take


class QueueClosed(Exception):
    """The bot is shutting down: this job was dropped (or stopped) before its release was done."""


@dataclass
class Ticket(Generic[T]):
    """A submitted job: how much work was ahead of it when submitted, and its result when done."""

    guild_id: int
    source: Source
    ahead: int  # releases that start before this one (running ones not counted)
    estimate: float  # seconds until it is done, from the work ahead and the request budget
    starts_now: bool  # it started at once, with nothing of anyone's ahead of it
    future: asyncio.Future[T] = field(repr=False)

    async def result(self) -> T:
        """The job's result; `QueueClosed` if the bot shut down first.  Waiting can be cancelled without
        stopping the job (a moderator's command ending does not stop the release)."""
        return await asyncio.shield(self.future)


@dataclass
class _Job(Generic[T]):
    work: Callable[[], Awaitable[T]]
    ticket: Ticket[T]


class ReleaseQueue:
    """Round-robin between guilds, one job per guild at a time, at most `workers` jobs at once."""

    def __init__(self, *, workers: int, requests_per_second: float,
                 requests_granted: Callable[[], int] | None = None,
                 requests_per_release: float = DEFAULT_REQUESTS_PER_RELEASE) -> None:
        if workers < 1:
            raise ValueError("a release queue needs at least one worker")
        self.workers = workers
        self.requests_per_second = requests_per_second
        self.requests_per_release = requests_per_release
        self._granted = requests_granted
        self._granted_at_start = requests_granted() if requests_granted else 0
        self._pending: dict[int, collections.deque[_Job[Any]]] = {}
        self._rotation: collections.deque[int] = collections.deque()  # guilds with a job waiting, in turn
        self._running: dict[int, asyncio.Task[None]] = {}
        self._closed = False
        self.finished = 0  # jobs done (any outcome), for the estimate and for anyone watching

    # --- what is in it ---------------------------------------------------------------------------

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return sum(len(jobs) for jobs in self._pending.values())

    def ahead_of_new(self, guild_id: int) -> int:
        """How many jobs would start before a job submitted now for `guild_id`.

        Round-robin: with k of its own jobs waiting, the new one starts in round k + 1, after at most
        k + 1 jobs of every other waiting guild.
        """
        own = len(self._pending.get(guild_id, ()))
        others = sum(min(len(jobs), own + 1) for gid, jobs in self._pending.items() if gid != guild_id)
        return own + others + (1 if guild_id in self._running else 0)

    def estimate(self, ahead: int) -> float:
        """Seconds until a job with `ahead` jobs before it is done: the requests of those, of half the
        running ones (already part done) and its own, at the budget's rate."""
        releases = ahead + self.running / 2 + 1
        return releases * self._cost() / self.requests_per_second

    def _cost(self) -> float:
        """Requests per release, learnt from the budget once releases have finished."""
        if self._granted is None or self.finished < self.workers:
            return self.requests_per_release
        return max((self._granted() - self._granted_at_start) / self.finished, 1.0)

    # --- submitting ------------------------------------------------------------------------------

    def submit(self, guild_id: int, work: Callable[[], Awaitable[T]], *, source: Source) -> Ticket[T]:
        """Queue `work` for `guild_id`; returns at once with the ticket (and its estimate)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        ahead = self.ahead_of_new(guild_id)
        starts_now = ahead == 0 and self.running < self.workers
        ticket = Ticket(guild_id, source, ahead, self.estimate(ahead), starts_now, future)
        if self._closed:
            future.set_exception(QueueClosed("the bot is shutting down"))
            future.exception()  # retrieved here too, so an unawaited ticket logs nothing
            return ticket
        self._pending.setdefault(guild_id, collections.deque()).append(_Job(work, ticket))
        if guild_id not in self._running and guild_id not in self._rotation:
            self._rotation.append(guild_id)
        self._pump()
        return ticket

    def _pump(self) -> None:
        """Start jobs while a worker is free, taking guilds in turn."""
        while self._rotation and len(self._running) < self.workers and not self._closed:
            guild_id = self._rotation.popleft()
            jobs = self._pending[guild_id]
            job = jobs.popleft()
            if not jobs:
                del self._pending[guild_id]
            task = asyncio.create_task(self._run(job), name=f"release-{job.ticket.source}-{guild_id}")
            self._running[guild_id] = task
            task.add_done_callback(functools.partial(self._done, guild_id))

    async def _run(self, job: _Job[Any]) -> None:
        future = job.ticket.future
        try:
            result = await job.work()
        except asyncio.CancelledError:
            if not future.done():
                future.set_exception(QueueClosed("stopped by the shutdown; the release resumes at start"))
            raise
        except Exception as exc:  # the ticket's holder reports it (a member's answer, the schedule loop)
            log.debug("A %s release of guild %s failed: %r", job.ticket.source, job.ticket.guild_id, exc)
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(result)

    def _done(self, guild_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(guild_id, None)
        self.finished += 1
        if guild_id in self._pending and not self._closed:
            self._rotation.append(guild_id)  # to the back: every other waiting guild goes first
        self._pump()

    # --- shutting down ---------------------------------------------------------------------------

    def close(self) -> None:
        """Take no more jobs and drop the ones not started: their tickets raise `QueueClosed`."""
        self._closed = True
        self._rotation.clear()
        for jobs in self._pending.values():
            for job in jobs:
                if not job.ticket.future.done():
                    job.ticket.future.set_exception(QueueClosed("the bot is shutting down"))
        self._pending.clear()

    async def stop(self, grace: float) -> None:
        """`close()`, then wait up to `grace` seconds for the running jobs and cancel what is left."""
        self.close()
        running = set(self._running.values())
        if not running:
            return
        _done, left = await asyncio.wait(running, timeout=max(grace, 0.0))
        if left:
            log.warning("%d release(s) still running at shutdown; stopped (they resume at the next start)",
                        len(left))
            for task in left:
                task.cancel()
            await asyncio.wait(left, timeout=1.0)
