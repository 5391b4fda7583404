"""The fake Discord for the release-queue bench, in its own process, driven over a small control API.

Why a process of its own: Discord's CPU is not the bot's.  With the fake in the bot's event loop, every
INTERACTION_CREATE the fake builds, every request it records and every 50 ms round trip it sleeps out
competes with the bot for one core, and an answer's latency (measured by the fake: from sending the
INTERACTION_CREATE to receiving the callback) counts the fake's work as the bot's.

    python bench/fake_process.py [--latency 0.05] [--channel-limits]

starts `FakeDiscord` on a free loopback port and prints one line, `{"url": ..., "token": ...,
"gateway_url": ...}`; the control API lives beside the fake's REST routes under `/_bench/`, outside
`/api/v10` (so it is neither recorded nor rate-limited), one POST per workload step (`FakeWorkloads`).
The bench uses `RemoteFake` (this process) or `LocalFake` (the same steps in the bench's own loop, to
compare with the old single-process measurement): both expose the same coroutines.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import re
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake Discord lives in tests/

from bench.looplag import LoopLag  # noqa: E402
from tests.fakediscord import FakeDiscord, GuildSetup  # noqa: E402
from tests.helpers import PENDING_ANSWER  # noqa: E402

CONTROL = "/_bench/"


@dataclass(frozen=True)
class Place:
    """A bench server as the bot side needs it: ids only (the fake's objects stay in the fake)."""

    guild_id: int
    story_id: int
    moderator_id: int


class FakeWorkloads:
    """The bench's steps that act on the fake or read it; JSON in, JSON out (so they cross a process)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.groups: dict[str, list[GuildSetup]] = {}

    async def guilds(self, group: str, count: int) -> list[dict[str, int]]:
        setups = [await self.fake.add_standard_guild(f"{group} {i}") for i in range(count)]
        self.groups[group] = setups
        return [asdict(Place(s.guild.id, s.story.id, s.moderator.id)) for s in setups]

    async def counter(self) -> dict[str, int]:
        """The counted requests so far and the 429s the fake's limits gave."""
        return {"requests": self.fake.limited_requests, "hits": len(self.fake.rate_limit_hits)}

    async def checked(self, group: str, parts: int, threads: int = 1) -> dict[str, int]:
        """Servers whose story channel lacks a release's messages (lost) / has some twice (doubled)."""
        opened: dict[int, int] = {}
        for channel in self.fake.channels.values():
            if channel.parent_id is not None:
                opened[channel.parent_id] = opened.get(channel.parent_id, 0) + 1
        lost = doubled = 0
        for setup in self.groups[group]:
            messages = len(self.fake.history(setup.story))
            threads_opened = opened.get(setup.story.id, 0)
            if messages < parts or threads_opened < threads:
                lost += 1
            elif messages > parts or threads_opened > threads:
                doubled += 1
        return {"lost": lost, "doubled": doubled}

    async def commands(self, group: str, command: str, options: dict[str, Any], rounds: int,
                       concurrent: bool = False) -> list[float | None]:
        """Each server's member of `group` runs `/command` `rounds` times: one after another (each awaited,
        so a latency is one command alone), or all of a round at once.  The latency of each: from the
        INTERACTION_CREATE sent to the first answer received (seconds; None: never answered in 30 s)."""
        latencies: list[float | None] = []

        async def one(s: GuildSetup) -> float | None:
            record = await self.fake.invoke(command, guild=s.guild, channel=s.general, member=s.member,
                                            options=options)
            try:
                await self.fake.wait_for(lambda: record.answered_at is not None, timeout=30)
            except TimeoutError:
                return None
            return record.answered_at - record.created_at

        for _ in range(rounds):
            if concurrent:
                latencies += await asyncio.gather(*(one(s) for s in self.groups[group]))
            else:
                for s in self.groups[group]:
                    latencies.append(await one(s))
        return latencies

    async def chapter_next(self, group: str, give_up_after: float) -> dict[str, Any]:
        """Every server's moderator of `group` runs `/chapter next` at once; wait until every answer is
        edited into its outcome (or `give_up_after` seconds).  Latencies in seconds, `None` for never."""
        fake = self.fake
        started, hits = time.perf_counter(), len(fake.rate_limit_hits)
        since, lag = time.monotonic(), LoopLag()
        records = []
        for s in self.groups[group]:
            records.append(await fake.invoke("chapter next", guild=s.guild, channel=s.story,
                                             member=s.moderator))
            # Let the requests that arrived meanwhile be counted when they arrive: building a thousand
            # interactions in one go would hold them and then count them together, as Discord does not.
            await asyncio.sleep(0)
        pointer = 0

        def all_edited() -> bool:
            nonlocal pointer
            while pointer < len(records) and records[pointer].edited and PENDING_ANSWER not in (
                    records[pointer].message or {}).get("content", PENDING_ANSWER):
                pointer += 1  # past the private "thinking…" and "going out now" / "queued": the outcome
            return pointer == len(records)

        try:  # an answer refused as too late is never edited: give up well after the slowest possible
            await fake.wait_for(all_edited, timeout=give_up_after)
        except TimeoutError:
            pass
        wall = time.perf_counter() - started
        misses = []  # how far off "queued: about N s" was: actual seconds to the jump link minus N
        for r in records:
            said = re.search(r"about (\d+) s", r.responses[1].data.get("content", "")
                             if len(r.responses) > 1 else "")
            if said and r.edited_at is not None:
                misses.append(r.edited_at - r.created_at - int(said[1]))
        return {
            "wall": wall,
            "never_edited": len(records) - pointer,
            "answered": [None if r.answered_at is None else r.answered_at - r.created_at for r in records],
            "told": [None if r.first_edited_at is None else r.first_edited_at - r.created_at
                     for r in records],
            "released": sum(1 for r in records
                            if (r.message or {}).get("content", "").startswith("Released chapter 1")),
            "misses": misses,
            "fake_lag": lag.stop(),
            "rate_limited_at": [round(h.at - since, 2) for h in fake.rate_limit_hits[hits:]],
        }


class LocalFake:
    """The fake in the bench's own event loop (the old measurement, for comparison)."""

    def __init__(self, latency: float, channel_limits: bool) -> None:
        self.fake = FakeDiscord(channel_limits=channel_limits, latency=latency)
        self.steps = FakeWorkloads(self.fake)

    async def start(self) -> None:
        await self.fake.start()
        self.token, self.api_base, self.gateway_url = (self.fake.token, self.fake.api_base,
                                                       self.fake.gateway_url)

    async def call(self, step: str, **args: Any) -> Any:
        return await getattr(self.steps, step)(**args)

    async def stop(self) -> None:
        await self.fake.stop()


class RemoteFake:
    """The fake in a child process (`python bench/fake_process.py`), its steps over HTTP on loopback."""

    def __init__(self, latency: float, channel_limits: bool) -> None:
        self.args = [f"--latency={latency}"] + (["--channel-limits"] if channel_limits else [])
        self.proc: asyncio.subprocess.Process | None = None
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, *self.args, stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if not line:
            raise RuntimeError("the fake Discord process exited before it started")
        info = json.loads(line)
        self.url, self.token, self.gateway_url = info["url"], info["token"], info["gateway_url"]
        self.api_base = info["api_base"]
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))

    async def call(self, step: str, **args: Any) -> Any:
        assert self.session is not None
        async with self.session.post(f"{self.url}{CONTROL}{step}", json=args) as response:
            body = await response.json()
            if response.status != 200:
                raise RuntimeError(f"fake Discord process: {step} failed: {body}")
            return body

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await self.proc.wait()


class ControlledFake(FakeDiscord):
    """FakeDiscord plus the `/_bench/{step}` routes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steps = FakeWorkloads(self)

    def _add_routes(self, r: web.UrlDispatcher) -> None:
        super()._add_routes(r)
        r.add_post(CONTROL + "{step}", self._control)

    async def _control(self, request: web.Request) -> web.Response:
        step = request.match_info["step"]
        if step.startswith("_") or not hasattr(FakeWorkloads, step):
            return web.json_response({"error": f"no step {step!r}"}, status=404)
        try:
            result = await getattr(self.steps, step)(**await request.json())
        except Exception as exc:  # the bench prints it
            return web.json_response({"error": repr(exc)}, status=500)
        # The world and the records so far live to the end: out of the garbage collector's full passes,
        # which took a quarter second of this loop with them in, so requests that arrived meanwhile were
        # counted together after it (Discord counts each as it arrives) and got 429s the bot never caused.
        gc.freeze()
        return web.json_response(result)


async def serve(latency: float, channel_limits: bool) -> None:
    fake = ControlledFake(channel_limits=channel_limits, latency=latency)
    await fake.start()
    print(json.dumps({"url": fake.url, "api_base": fake.api_base, "token": fake.token,
                      "gateway_url": fake.gateway_url}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--channel-limits", action="store_true")
    args = parser.parse_args()
    asyncio.run(serve(args.latency, args.channel_limits))


if __name__ == "__main__":
    main()
