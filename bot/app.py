"""The Bot subclass and how it runs: endpoints from settings, storage, cogs, command sync, health, shutdown.

`setup_hook` opens the database, creates the release engine, loads the extensions named in `EXTENSIONS`,
and syncs the application commands (to `DEV_GUILD_ID` while developing, globally otherwise).  `run_bot` is
what `aar-bot run` calls.  With `bot/__main__.py`, this is the only core module that imports discord or cogs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands, tasks

from bot.chapters.announcing import Announcer
from bot.chapters.edit_sync import EditSyncer
from bot.chapters.publishing import Publisher
from bot.chapters.queue import ReleaseQueue
from bot.config import Settings
from bot.errors import UserError
from bot.ops.health import HealthReport, check_health
from bot.ops.http import OperatorServer
from bot.ops.metrics import Metrics, ShardStatus
from bot.ops.ratelimits import rate_limit_trace
from bot.pacing import PacingSettings, RequestBudget, request_trace
from bot.sharding import IDENTIFY_INTERVAL_SECONDS, MAX_GUILDS_PER_SHARD, IdentifyPacer, ShardPlan
from bot.storage.connection import open_storage, ping
from bot.storage.database import BUSY_ERRORS, Database
from bot.timestamps import format_timestamp
from cogs.shared.ratelimits import amortize_bucket_cleanup
from cogs.shared.sender import DiscordSender
from cogs.shared.ui import PageButton, send_refusal

_log = logging.getLogger(__name__)

API_VERSION_SUFFIX = "/api/v10"
HEALTH_INTERVAL_SECONDS = 15.0
# How long a shutdown waits for the interactions being handled (well inside Docker's 10 s before SIGKILL).
SHUTDOWN_GRACE_SECONDS = 5.0
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
# Where `TrackingTree` notes when a command's handling started (in `Interaction.extras`), for its metrics.
COMMAND_STARTED = "aar.started"
# Discord's gateway close codes that no reconnect can cure: the shard settings are wrong.
CLOSE_INVALID_SHARD, CLOSE_SHARDING_REQUIRED = 4010, 4011
DB_BUSY = "The database is busy, try again in a moment."

# The extensions, one per capability, in load order.  Named, not discovered: a module added to `cogs/`
# is not live until it is listed here.
EXTENSIONS = ("cogs.admin", "cogs.alerts", "cogs.chapters", "cogs.characters", "cogs.likes", "cogs.quiz",
              "cogs.schedule", "cogs.search")


MAX_RATELIMIT_WAIT_SECONDS = 60.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def api_base(url: str) -> str:
    """`http://host:port` or `http://host:port/api/v10` → the latter; any other API version is an error."""
    url = url.rstrip("/")
    if url.endswith(API_VERSION_SUFFIX):
        return url
    if "/api/v" in url:
        raise ValueError(f"DISCORD_API_BASE_URL must end in {API_VERSION_SUFFIX} "
                         f"(discord.py speaks v10): {url}")
    return url.removesuffix("/api") + API_VERSION_SUFFIX


def apply_endpoints(settings: Settings) -> None:
    """Point discord.py's REST routes and gateway at the configured URLs (a proxy, or the fake in tests).

    Both are class attributes in discord.py, i.e. process-wide; unset settings restore Discord's defaults.
    """
    discord.http.Route.BASE = api_base(settings.api_base_url) if settings.api_base_url else "https://discord.com/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url or "wss://gateway.discord.gg/")


def make_intents() -> discord.Intents:
    # Only what the bot uses, and no privileged intent (members, presences, message content), so the bot
    # needs no approval in the developer portal: guilds (channels, threads, roles in the cache) and
    # guild reactions (the likes feature listens to raw reaction events).  Everything else is slash commands.
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    return intents


def database_busy(error: BaseException) -> bool:
    """The database gave up waiting for others (SQLite's busy timeout ran out; PostgreSQL found a deadlock,
    a lock it may not wait for, or no free connection): nothing is wrong but timing.

    Another process (a backup, `aar-bot import`) may hold the write lock for longer than the busy
    timeout; the member is told to try again rather than that something went wrong.
    """
    if isinstance(error, BUSY_ERRORS) and not isinstance(error, sqlite3.Error):
        return True
    if not isinstance(error, sqlite3.OperationalError):
        return False
    if getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return True
    text = str(error).lower()
    return "database is locked" in text or "database is busy" in text or "table is locked" in text


class InFlight:
    """The tasks handling interactions right now, so a shutdown lets them finish before closing.

    discord.py runs each interaction (a command, an autocomplete, a button) in a task of its own and
    forgets it.  Closing the client at once closes the HTTP session under those tasks: a `/chapter next`
    half-way through its release dies with "Session is closed", and the member never gets an answer.
    Each handler task registers itself as it starts (`TrackingTree`, `cogs.shared.inflight.track`) and
    leaves when it ends; `AARBot.close()` waits for them first.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def add_current(self) -> None:
        """Count the running task (the one handling an interaction) until it ends."""
        task = asyncio.current_task()
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def wait(self, within: float) -> set[asyncio.Task[Any]]:
        """Wait up to `within` seconds for every tracked task, including ones that start meanwhile.

        Returns the tasks still running when the time is up (empty when all finished).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            pending = self._tasks - {asyncio.current_task()}
            left = deadline - loop.time()
            if not pending or left <= 0:
                return pending
            await asyncio.wait(pending, timeout=left)


class TrackingTree(app_commands.CommandTree):
    """The command tree, counting each command's (and autocomplete's) task in the bot's `in_flight`.

    `interaction_check` runs first in the task discord.py creates for the interaction, and the error
    handler runs in that same task, so a refusal sent during a shutdown is waited for too.
    """

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        in_flight = getattr(self.client, "in_flight", None)
        if isinstance(in_flight, InFlight):
            in_flight.add_current()
        interaction.extras.setdefault(COMMAND_STARTED, asyncio.get_running_loop().time())
        return True


# `commands.Bot` too, though it adds nothing at run time to what `AutoShardedBot` has (both are BotBase over a
# client, and AutoShardedClient comes first in the MRO): the cogs and shared glue recognise the bot with
# `isinstance(client, commands.Bot)`, which an AutoShardedBot alone is not.
class AARBot(commands.AutoShardedBot, commands.Bot):
    """The AAR bot.  `clock` is the one source of "now" for scheduling code (injectable in tests).

    It owns the database connection and the one release engine (`publisher`), so `/chapter next`, the
    schedules and the resume at start share the engine's per-guild locks.

    Sharded (Discord refuses a bot in more than 2,500 servers without shards): `AAR_SHARD_COUNT` shards in
    all (default: Discord's recommendation), of which this process runs `AAR_SHARD_IDS` (default: all).
    Per-server work runs only where `owns_guild(guild_id)` is true.
    """

    db: Database
    publisher: Publisher
    edit_syncer: EditSyncer  # brings posted chapters in step with the author's edits
    announcer: Announcer
    # Seconds between two IDENTIFYs of one concurrency bucket: Discord's 5 s (tests with the fake lower it).
    identify_interval: float = IDENTIFY_INTERVAL_SECONDS
    release_queue: ReleaseQueue

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now,
                 pacing: PacingSettings | None = None, **options: Any) -> None:
        options.setdefault("intents", make_intents())
        # No prefix commands; slash commands only.
        options.setdefault("command_prefix", commands.when_mentioned)
        options.setdefault("help_command", None)
        # Nothing the bot posts may ping: story text and member input are shown, never obeyed.
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        # A 429 that asks to wait longer than this raises discord.RateLimited instead of sleeping inside the
        # request: an announcement channel's publish limit answers with up to an hour, which the release
        # engine's backlog waits out in the background (bot.chapters.publishing), never a release.
        options.setdefault("max_ratelimit_timeout", MAX_RATELIMIT_WAIT_SECONDS)
        options.setdefault("tree_cls", TrackingTree)  # counts the interactions in flight, for `close`
        # Every REST request waits for one budget below Discord's global limit (bot/pacing.py).
        self.pacing = pacing or PacingSettings()
        self.request_budget = RequestBudget(self.pacing.requests_per_second)
        options.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids is not None:
            options.setdefault("shard_ids", list(settings.shard_ids))
        # Read at scrape time only, so made before the client it reads exists.
        self.metrics = Metrics(guild_count=lambda: len(self.guilds), shards=self.shard_statuses)
        # One trace on discord.py's session: the budget before each request, Discord's 429s counted after.
        trace = rate_limit_trace(self.metrics.rate_limit_wait, into=request_trace(self.request_budget))
        options.setdefault("http_trace", trace)
        super().__init__(**options)
        amortize_bucket_cleanup(self.http)  # a bucket scan per new route grew with the servers
        self.settings = settings
        self.identify_pacer = IdentifyPacer(interval=self.identify_interval)
        self.operator_server: OperatorServer | None = None
        self._shard_plan: ShardPlan | None = None
        self.recommended_shards: int | None = None  # what Discord's GET /gateway/bot said, once asked
        self.clock = clock
        self.in_flight = InFlight()
        self.shutdown_grace = SHUTDOWN_GRACE_SECONDS
        self._db: Database | None = None
        self._announcing: asyncio.Task[None] | None = None
        self.tree.error(self.on_app_command_error)

    # --- start-up --------------------------------------------------------------------------------

    async def login(self, token: str) -> None:
        apply_endpoints(self.settings)
        await super().login(token)

    async def setup_hook(self) -> None:
        self._db = await open_storage(self.settings.db_path, self.settings.database_url)
        self.db = self._db
        sender = DiscordSender(self)
        self.announcer = Announcer(self.db, sender, clock=self.clock)
        self.publisher = Publisher(self.db, sender, clock=self.clock, announcer=self.announcer)
        self.edit_syncer = EditSyncer(self.db, sender, clock=self.clock)
        self._announcing = asyncio.create_task(self._announce(), name="announcement-backlog")
        await self.plan_shards()  # before the extensions: their start-up work asks `owns_guild`
        self.publisher.on_finished.append(lambda outcome: self.metrics.release_finished(outcome.status))
        await self.start_operator_endpoint()
        self.release_queue = ReleaseQueue(workers=self.pacing.release_workers,
                                          requests_per_second=self.pacing.requests_per_second,
                                          requests_granted=lambda: self.request_budget.granted)
        self.metrics.queue_depth = lambda: self.release_queue.running + self.release_queue.waiting
        self.add_dynamic_items(PageButton)  # the page buttons of every pager (`/chapter read`, `/characters`)
        for module in EXTENSIONS:
            await self.load_extension(module)
            _log.info("Loaded extension %s", module)
        await self.sync_commands()

    async def _announce(self) -> None:
        """The announcement channels' publish backlog, in the background once connected (it resumes what
        a previous process left)."""
        await self.wait_until_ready()
        await self.announcer.run()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            _log.info("Synced %d commands to development guild %s", len(synced), guild.id)
        else:
            synced = await self.tree.sync()
            _log.info("Synced %d global commands", len(synced))
        return synced

    # --- shards --------------------------------------------------------------------------------

    async def plan_shards(self) -> ShardPlan:
        """Ask Discord (GET /gateway/bot) for its recommended shard count and identify concurrency.

        The count is needed before connecting, not at `launch_shards` as discord.py would fetch it:
        start-up work (quiz recovery, resumes) must already know which servers this process owns.
        """
        recommended, _url, limits = await self.http.get_bot_gateway()
        self.recommended_shards = recommended
        self.identify_pacer.max_concurrency = max(1, int(limits.get("max_concurrency", 1)))
        if self.shard_count is None:
            self.shard_count = recommended
            self._connection.shard_count = recommended
        self._shard_plan = plan = ShardPlan.of(self.shard_count, self.shard_ids)
        _log.info("Running shard(s) %s of %d (Discord recommends %d; identify concurrency %d)",
                  ",".join(map(str, plan.shard_ids)), plan.shard_count, recommended,
                  self.identify_pacer.max_concurrency)
        return plan

    def owns_guild(self, guild_id: int) -> bool:
        """Does this process hold the shard of `guild_id`, and so its per-server work (schedules, resumes,
        reaction catch-up, quiz recovery)?  A plain `Callable[[int], bool]` for Discord-free code."""
        if self._shard_plan is None:
            raise RuntimeError("owns_guild asked before the shards were planned (setup_hook)")
        return self._shard_plan.owns_guild(guild_id)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Pace IDENTIFYs per `max_concurrency` bucket (discord.py's default waits 5 s before each)."""
        waited = await self.identify_pacer.wait_turn(shard_id or 0)
        if waited:
            _log.info("Shard %s waited %.1fs for its identify slot", shard_id, waited)

    def shard_statuses(self) -> list[ShardStatus]:
        statuses = []
        for shard_id, info in sorted(self.shards.items()):
            latency = info.latency
            statuses.append(ShardStatus(shard_id, not info.is_closed(),
                                        latency if math.isfinite(latency) else None))
        return statuses

    def all_shards_connected(self) -> bool:
        expected = self._shard_plan.shard_ids if self._shard_plan else ()
        connected = {s.shard_id for s in self.shard_statuses() if s.connected}
        return bool(expected) and connected.issuperset(expected)

    async def on_shard_connect(self, shard_id: int) -> None:
        _log.info("Shard %d of %s connected", shard_id, self.shard_count)
        # Discord's READY names a resume URL; behind a configured gateway (a proxy) keep using that one.
        if self.settings.gateway_url:
            self._get_websocket(shard_id=shard_id).gateway = yarl.URL(self.settings.gateway_url)

    async def on_shard_ready(self, shard_id: int) -> None:
        held = sum(1 for g in self.guilds if g.shard_id == shard_id)
        _log.info("Shard %d ready in %d guild(s)", shard_id, held)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        if not self.is_closed():
            _log.warning("Shard %d lost its gateway connection", shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        _log.info("Shard %d resumed its session", shard_id)

    # --- operators: /healthz and /metrics ------------------------------------------------------------

    async def start_operator_endpoint(self) -> None:
        if self.settings.http_port is None or self.operator_server is not None:
            return
        self.operator_server = OperatorServer(host=self.settings.http_host, port=self.settings.http_port,
                                              health=self.health, metrics=self.metrics)
        await self.operator_server.start()

    async def health(self) -> HealthReport:
        expected = self._shard_plan.shard_ids if self._shard_plan else ()
        return await check_health(expected, self.shard_statuses(), self._ping_database)

    async def _ping_database(self) -> None:
        if self._db is None:
            raise RuntimeError("the database is closed")
        await ping(self._db)

    async def on_app_command_completion(self, interaction: discord.Interaction,
                                        command: app_commands.Command[Any, ..., Any]
                                        | app_commands.ContextMenu) -> None:
        self._count_command(interaction, "ok")

    def _count_command(self, interaction: discord.Interaction, outcome: str) -> None:
        started = interaction.extras.get(COMMAND_STARTED)
        if interaction.command is None or started is None:
            return
        seconds = asyncio.get_running_loop().time() - started
        self.metrics.command_finished(interaction.command.qualified_name, seconds, outcome=outcome)

    async def on_ready(self) -> None:
        gc.freeze()  # the servers' cache lives on: full collections skip it (they paused the loop 0.3 s)
        self.write_health()
        if self.settings.health_file and not self.health_loop.is_running():
            self.health_loop.start()
        _log.info("Ready as %s in %d guild(s)", self.user, len(self.guilds))

    async def on_resumed(self) -> None:
        self.write_health()

    # --- health ----------------------------------------------------------------------------------

    @tasks.loop(seconds=HEALTH_INTERVAL_SECONDS)
    async def health_loop(self) -> None:
        """While connected, refresh the health file (a Docker HEALTHCHECK checks its age)."""
        if self.is_ready() and self.all_shards_connected():
            self.write_health()

    def write_health(self) -> None:
        path = self.settings.health_file
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(format_timestamp(self.clock()) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            _log.warning("Could not write the health file %s", path, exc_info=True)

    def remove_health(self) -> None:
        if self.settings.health_file is not None:
            Path(self.settings.health_file).unlink(missing_ok=True)

    # --- errors ----------------------------------------------------------------------------------

    async def on_app_command_error(self, interaction: discord.Interaction,
                                   error: app_commands.AppCommandError) -> None:
        """Every refusal and failure of a command ends here and is told to the member, privately.

        A `UserError` (raised by a feature, wrapped by discord.py in `CommandInvokeError`) and a failed
        check are the member's to know, word for word; anything else is a bug: logged with its traceback,
        and answered with an apology.
        """
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        refused = isinstance(cause, (UserError, app_commands.CheckFailure))
        self._count_command(interaction, "refused" if refused else "error")
        message = self.error_message(interaction, error)
        try:
            await send_refusal(interaction, message)
        except discord.HTTPException:
            _log.warning("Could not tell the member about the error", exc_info=True)

    def error_message(self, interaction: discord.Interaction, error: BaseException) -> str:
        """What the member is told about `error` (logged as it deserves); also for a command that
        answered first and failed later, e.g. `/chapter next`'s queued release."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, UserError):
            return cause.message
        if isinstance(cause, app_commands.CheckFailure):
            return str(cause) or "You can't use this command here."
        name = interaction.command.qualified_name if interaction.command else "?"
        if database_busy(cause):
            _log.warning("The database was busy during /%s (guild %s): %s", name, interaction.guild_id, cause)
            return DB_BUSY
        _log.error("Error in /%s (guild %s)", name, interaction.guild_id, exc_info=error)
        return "Sorry, something went wrong with that command. It has been logged."

    # --- shutdown --------------------------------------------------------------------------------

    async def close(self) -> None:
        """Let the interactions being handled finish (for `shutdown_grace` seconds), then close.

        Closing at once would close the HTTP session under them: a member mid-command would get no
        answer and the log a "Session is closed" traceback.  What is still running after the grace period
        is cancelled (a release resumes at the next start), so it cannot fail on a closed session either.
        """
        if self.health_loop.is_running():
            self.health_loop.cancel()
        if self._announcing is not None:
            self._announcing.cancel()
            await asyncio.gather(self._announcing, return_exceptions=True)
        self.remove_health()
        if self.operator_server is not None:
            server, self.operator_server = self.operator_server, None
            await server.stop()
        if not self.is_closed():
            queue = getattr(self, "release_queue", None)
            if queue is not None:
                queue.close()  # releases not started are dropped: nothing of them is claimed yet
            started = asyncio.get_running_loop().time()
            await self._finish_in_flight()
            if queue is not None:  # the rest of the grace for releases nobody waits on (schedules, resumes)
                await queue.stop(self.shutdown_grace - (asyncio.get_running_loop().time() - started))
        await super().close()
        gc.unfreeze()  # what `on_ready` froze may go now
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()


    async def _finish_in_flight(self) -> None:
        if not len(self.in_flight):
            return
        _log.info("Waiting up to %.0fs for %d interaction(s) in flight", self.shutdown_grace,
                  len(self.in_flight))
        left = await self.in_flight.wait(self.shutdown_grace)
        if left:
            _log.warning("%d interaction(s) still running after %.0fs; stopping them to shut down", len(left),
                         self.shutdown_grace)
            for task in left:
                task.cancel()
            await asyncio.wait(left, timeout=1.0)


async def _run(settings: Settings, pacing: PacingSettings) -> int:
    bot = AARBot(settings, pacing=pacing)
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []

    def request_stop(signame: str) -> None:
        if closing:
            return
        _log.info("Received %s, shutting down", signame)
        closing.append(loop.create_task(bot.close()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, request_stop, sig.name)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on Windows
            pass
    try:
        async with bot:
            await bot.start(settings.token or "")
    except discord.LoginFailure:
        _log.error("Discord rejected the token (DISCORD_TOKEN); check it in the developer portal")
        return EXIT_ERROR
    except discord.PrivilegedIntentsRequired:
        _log.error("Discord refused the gateway intents")
        return EXIT_ERROR
    except discord.ConnectionClosed as exc:
        if exc.code == CLOSE_SHARDING_REQUIRED:
            _log.error("Discord requires more shards: a shard may hold at most %d servers; set "
                       "AAR_SHARD_COUNT to %s or more, or unset it for Discord's recommendation "
                       "(close code 4011)",
                       MAX_GUILDS_PER_SHARD, bot.recommended_shards or "a higher count")
            return EXIT_ERROR
        if exc.code == CLOSE_INVALID_SHARD:
            _log.error("Discord refused the shard settings AAR_SHARD_COUNT/AAR_SHARD_IDS (close code 4010)")
            return EXIT_ERROR
        raise
    finally:
        if closing:
            await closing[0]
    return EXIT_OK


def run_bot(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT or a fatal error; return the process exit code."""
    if not settings.token:
        print("aar-bot: DISCORD_TOKEN is not set; set it in the environment or in a .env file.",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        pacing = PacingSettings.from_env()
    except ValueError as exc:
        print(f"aar-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    discord.utils.setup_logging(level=logging.getLevelNamesMapping()[settings.log_level])
    return asyncio.run(_run(settings, pacing))
