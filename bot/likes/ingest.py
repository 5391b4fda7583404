"""Batched ingest of reaction events: many producers, one writer task, nothing lost on shutdown.

Why this shape: a popular chapter gets bursts of reactions, and one SQLite transaction per event would
make the bot fall behind.  Producers (the raw reaction listeners) only append a tuple to a list; a single
writer task takes everything pending (up to `max_batch`) and applies it in one transaction on its own
connection, so the rest of the bot never waits for a batch on the shared connection (see `bot.storage`;
WAL lets both read while one writes).  Batches grow by themselves under load: while one
batch is being written the next one accumulates; rows are written in key order.

Within a batch, adds and removes of the same (message, member, emoji) collapse to the last one (they are
set operations, so only the last matters); a remove-all or remove-emoji is a barrier applied in order.

Reconciliation at start runs a snapshot of a message's reactions (fetched from Discord) through the same
queue.  Live events that arrive while the snapshot is being fetched win over it: the snapshot never
re-adds or deletes a (member, emoji) that a live event touched, and a remove-all cancels it.

Which chapter a message belongs to is looked up in the database (`release_parts_by_message`, an index)
through a bounded LRU cache, not loaded whole at start: a bot with 10,000 servers × 500 chapters has
millions of release messages (about 285 bytes each in a dict), while reactions cluster on the few
recently released ones, which the cache keeps.  A miss costs one indexed lookup, batched per write.

`close()` stops intake and drains the queue before returning, so shutting down loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache

from bot.storage import likes as store
from bot.storage import open_database, transaction
from bot.storage.connection import database_file
from bot.storage.database import BUSY_ERRORS, Database
from bot.storage.releases import release_message_map

_log = logging.getLogger(__name__)

ADD, REMOVE, CLEAR, CLEAR_EMOJI, SNAPSHOT_BEGIN, SNAPSHOT_APPLY, SNAPSHOT_ABORT = range(7)

ChapterRef = tuple[int, int]  # (guild_id, chapter_number)
ChangeListener = Callable[[set[ChapterRef]], None]

RETRIES = 5
# Release messages whose chapter the ingest remembers: the busy ones (every part of the latest chapters in
# thousands of servers).  About 250 bytes each (cachetools' LRUCache: a dict and an OrderedDict entry plus
# the tuple), so the cache stays under about 5 MB whatever the database holds.
LOCATE_CACHE_SIZE = 20_000


class IngestClosed(RuntimeError):
    """An event was submitted after `close()`."""


@dataclass
class IngestStats:
    """Counters for logs, tests and the benchmark."""

    submitted: int = 0
    applied: int = 0
    ignored: int = 0          # events on messages that are not part of a release
    batches: int = 0
    largest_batch: int = 0
    dropped: int = 0          # events in batches that failed RETRIES times (logged)


@dataclass(eq=False)
class Snapshot:
    """A reconciliation in flight for one message: what live events touched since it began."""

    message_id: int
    touched: set[tuple[int, str]] = field(default_factory=set)
    touched_emojis: set[str] = field(default_factory=set)
    cleared: bool = False


@dataclass(frozen=True)
class SnapshotData:
    """What Discord showed for a message: (user_id, emoji) pairs; `partial`: emojis with more users than
    were fetched."""

    pairs: frozenset[tuple[int, str]]
    partial: frozenset[str] = frozenset()


class ReactionIngest:
    """The single writer of the `reactions` table.  Create with `await ReactionIngest.open(conn)`."""

    def __init__(self, writer: Database, *, max_batch: int = 20_000,
                 on_change: ChangeListener | None = None, owns_connection: bool = True,
                 cache_size: int = LOCATE_CACHE_SIZE) -> None:
        self._db = writer
        self._owns_connection = owns_connection
        self.max_batch = max_batch
        self.on_change = on_change
        self.stats = IngestStats()
        self._queue: list[tuple[Any, ...]] = []
        self._wake = asyncio.Event()
        self._where: LRUCache[int, ChapterRef] = LRUCache(maxsize=cache_size)
        self._snapshots: dict[int, list[Snapshot]] = {}
        self._emoji_names: dict[str, tuple[str, bool]] = {}
        self._pending_names: dict[str, tuple[str, bool]] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, conn: Database, **options: Any) -> ReactionIngest:
        """An ingest writing through its own connection to the database file `conn` uses, started.

        On PostgreSQL `conn` is a pool: the ingest's transactions borrow their own connection from it.
        """
        if conn.backend == "postgresql":
            ingest = cls(conn, owns_connection=False, **options)
            await ingest.start()
            return ingest
        path = await database_file(conn)
        if not path:
            raise ValueError("the likes ingest needs a database file"
                             " (an in-memory database has no second connection)")
        writer = await open_database(path, migrate=False)
        ingest = cls(writer, **options)
        await ingest.start()
        return ingest

    async def start(self) -> None:
        """Start the writer task (messages are looked up as their reactions arrive)."""
        self._task = asyncio.create_task(self._run(), name="likes-ingest-writer")

    # --- producers (synchronous: a listener never waits for the database) ----------------------------

    def _submit(self, event: tuple[Any, ...]) -> None:
        if self._closing:
            raise IngestClosed("the likes ingest is closed")
        self._queue.append(event)
        self.stats.submitted += 1
        self._wake.set()

    def add(self, message_id: int, user_id: int, emoji: str) -> None:
        # The hot path of a burst: `_submit` inlined.
        if self._closing:
            raise IngestClosed("the likes ingest is closed")
        self._queue.append((ADD, message_id, user_id, emoji))
        self.stats.submitted += 1
        self._wake.set()

    def remove(self, message_id: int, user_id: int, emoji: str) -> None:
        self._submit((REMOVE, message_id, user_id, emoji))

    def clear(self, message_id: int) -> None:
        self._submit((CLEAR, message_id))

    def clear_emoji(self, message_id: int, emoji: str) -> None:
        self._submit((CLEAR_EMOJI, message_id, emoji))

    def note_emoji_name(self, key: str, name: str, animated: bool = False) -> None:
        """Remember a custom emoji's current name (written with the next batch, only when it changed)."""
        if self._emoji_names.get(key) != (name, animated):
            self._emoji_names[key] = (name, animated)
            self._pending_names[key] = (name, animated)

    def forget_guild(self, guild_id: int) -> None:
        """Forget the cached messages of a server whose data was purged, so no reaction on them counts."""
        for message_id in [m for m, ref in self._where.items() if ref[0] == guild_id]:
            del self._where[message_id]

    @property
    def cached_messages(self) -> int:
        """How many message → chapter entries the cache holds now (at most its `cache_size`)."""
        return len(self._where)

    async def reconcile_message(self, message_id: int, fetch: Callable[[], Awaitable[SnapshotData]]) -> bool:
        """Make the stored reactions of a message match Discord's, as fetched by `fetch`.

        Returns False when `fetch` raised (the stored state is then left as it was).
        """
        snapshot = Snapshot(message_id)
        self._submit((SNAPSHOT_BEGIN, snapshot))
        try:
            data = await fetch()
        except BaseException:
            self._submit((SNAPSHOT_ABORT, snapshot))
            raise
        self._submit((SNAPSHOT_APPLY, snapshot, data))
        return True

    # --- waiting -----------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until every event submitted before this call is in the database."""
        target = self.stats.submitted
        if self.stats.applied + self.stats.dropped >= target:
            return
        if self._task is None or self._task.done():
            raise IngestClosed("the likes ingest writer is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        await future

    async def close(self) -> None:
        """Stop intake, write everything pending, stop the writer, close its connection."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._owns_connection:
            await self._db.close()

    # --- the writer --------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._queue) <= self.max_batch:
                batch, self._queue = self._queue, []
            else:
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            changed = await self._apply_with_retry(batch)
            if changed and self.on_change is not None:
                try:
                    self.on_change(changed)
                except Exception:
                    _log.exception("likes change listener failed")
            self._release_waiters()  # after the listener, so a flushed caller sees what it started

    def _release_waiters(self) -> None:
        done = self.stats.applied + self.stats.dropped
        still = []
        for target, future in self._waiters:
            if target <= done:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((target, future))
        self._waiters = still

    async def _apply_with_retry(self, batch: list[tuple[Any, ...]]) -> set[ChapterRef]:
        delay = 0.05
        for attempt in range(1, RETRIES + 1):
            try:
                changed = await self._apply(batch)
            except BUSY_ERRORS as exc:  # locked or busy: worth another try
                if attempt < RETRIES:
                    _log.warning("reaction batch failed (%s), retrying in %.2fs", exc, delay)
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                _log.error("dropping %d reaction events after %d failed attempts: %s", len(batch), attempt,
                           exc)
            except Exception:
                _log.exception("dropping %d reaction events: the batch cannot be written", len(batch))
            else:
                self.stats.applied += len(batch)
                self.stats.batches += 1
                self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
                return changed
            break
        self.stats.dropped += len(batch)
        self._forget_snapshots(batch)
        return set()

    async def _apply(self, batch: list[tuple[Any, ...]]) -> set[ChapterRef]:
        """Apply a batch in one transaction; returns the chapters whose reactions may have changed."""
        db = self._db
        changed: set[ChapterRef] = set()
        names, self._pending_names = self._pending_names, {}
        try:
            async with transaction(db):
                await store.save_emoji_names(db, names)
                # A segment (events between two barriers) of adds only needs no order: INSERT OR IGNORE is a
                # set union.  Once a remove shows up, the last operation per (message, member, emoji) decides.
                adds: list[tuple[Any, ...]] = []
                last: dict[tuple[int, int, str], bool] | None = None
                snapshots = self._snapshots
                for event in batch:
                    op = event[0]
                    if op == ADD and last is None:
                        adds.append(event)
                    elif op <= REMOVE:
                        if last is None:
                            last = {e[1:]: True for e in adds}
                            adds = []
                        last[event[1:]] = op == ADD
                    else:
                        await self._write_segment(adds, last, changed)
                        adds, last = [], None
                        await self._apply_barrier(event, changed)
                        continue
                    if snapshots and event[1] in snapshots:
                        for snap in snapshots[event[1]]:
                            snap.touched.add((event[2], event[3]))
                await self._write_segment(adds, last, changed)
        except BaseException:
            self._pending_names = names | self._pending_names  # written with the next batch instead
            raise
        return changed

    async def _locate(self, message_ids: Iterable[int]) -> dict[int, ChapterRef]:
        """Which of these messages are release parts, and of which chapter (cache first, then the
        database).  Returned whole: with more messages than the cache holds, some are evicted again."""
        found: dict[int, ChapterRef] = {}
        missing = []
        for message_id in set(message_ids):
            ref = self._where.get(message_id)
            if ref is None:
                missing.append(message_id)
            else:
                found[message_id] = ref
        if missing:
            looked_up = await release_message_map(self._db, missing)
            self._where.update(looked_up)
            found.update(looked_up)
        return found

    async def _write_segment(self, adds: list[tuple[Any, ...]], last: dict[tuple[int, int, str], bool] | None,
                             changed: set[ChapterRef]) -> None:
        if last is not None:
            adds = [(ADD, *key) for key, is_add in last.items() if is_add]
            await self._write(store.delete_reactions,
                              [(REMOVE, *key) for key, is_add in last.items() if not is_add], changed)
        await self._write(store.insert_reactions, adds, changed)

    async def _write(self, write: Callable[[Database, list[store.ReactionRow]], Awaitable[None]],
                     events: list[tuple[Any, ...]], changed: set[ChapterRef]) -> None:
        """Write (op, message, user, emoji) events as rows, in key order.

        In key order, B-tree pages are touched once each instead of at random: the main win of batching.
        Rows are grouped by (guild, chapter, emoji), the key's prefix, and sorted by member within a group,
        which is cheaper than sorting whole rows.
        """
        if not events:
            return
        groups: dict[tuple[int, int, str], list[tuple[int, int]]] = {}
        unknown = self._group(events, groups, self._where)
        if unknown:
            located = await self._locate(e[1] for e in unknown)
            self.stats.ignored += len(self._group(unknown, groups, located))
        changed.update((g, c) for g, c, _ in groups)
        rows = [(g, c, e, u, m) for (g, c, e) in sorted(groups) for (u, m) in sorted(groups[(g, c, e)])]
        await write(self._db, rows)

    def _group(self, events: list[tuple[Any, ...]], groups: dict[tuple[int, int, str], list[tuple[int, int]]],
               where: Mapping[int, ChapterRef]) -> list[tuple[Any, ...]]:
        """Add events on release messages `where` knows to `groups`; return the others."""
        unknown = []
        for event in events:
            ref = where.get(event[1])
            if ref is None:
                unknown.append(event)
                continue
            key = (ref[0], ref[1], event[3])
            group = groups.get(key)
            if group is None:
                groups[key] = [(event[2], event[1])]
            else:
                group.append((event[2], event[1]))
        return unknown

    async def _apply_barrier(self, event: tuple[Any, ...], changed: set[ChapterRef]) -> None:
        op = event[0]
        if op == SNAPSHOT_BEGIN:
            snap: Snapshot = event[1]
            open_ = self._snapshots.setdefault(snap.message_id, [])
            if snap not in open_:  # a retried batch begins it again
                open_.append(snap)
            return
        if op == SNAPSHOT_ABORT:
            self._close_snapshot(event[1])
            return
        if op == SNAPSHOT_APPLY:
            await self._apply_snapshot(event[1], event[2], changed)
            return
        message_id = event[1]
        for snap in self._snapshots.get(message_id, ()):
            if op == CLEAR:
                snap.cleared = True
            else:
                snap.touched_emojis.add(event[2])
        ref = (await self._locate([message_id])).get(message_id)
        if ref is None:
            self.stats.ignored += 1
            return
        await store.clear_message(self._db, ref[0], ref[1], message_id, None if op == CLEAR else event[2])
        changed.add(ref)

    async def _apply_snapshot(self, snap: Snapshot, data: SnapshotData, changed: set[ChapterRef]) -> None:
        self._close_snapshot(snap)
        if snap.cleared:
            return  # a remove-all arrived while fetching: the live state after it is the truth
        ref = (await self._locate([snap.message_id])).get(snap.message_id)
        if ref is None:
            self.stats.ignored += 1
            return

        def settled(pair: tuple[int, str]) -> bool:
            return pair in snap.touched or pair[1] in snap.touched_emojis

        stored = await store.message_reactions(self._db, ref[0], ref[1], snap.message_id)
        stale = [(ref[0], ref[1], e, u, snap.message_id) for (u, e) in stored - data.pairs
                 if not settled((u, e)) and e not in data.partial]
        fresh = [(ref[0], ref[1], e, u, snap.message_id) for (u, e) in data.pairs - stored
                 if not settled((u, e))]
        await store.delete_reactions(self._db, stale)
        await store.insert_reactions(self._db, fresh)
        if stale or fresh:
            changed.add(ref)

    def _close_snapshot(self, snap: Snapshot) -> None:
        open_ = self._snapshots.get(snap.message_id, [])
        if snap in open_:
            open_.remove(snap)
        if not open_:
            self._snapshots.pop(snap.message_id, None)

    def _forget_snapshots(self, batch: list[tuple[Any, ...]]) -> None:
        for event in batch:
            if event[0] in (SNAPSHOT_APPLY, SNAPSHOT_ABORT):
                self._close_snapshot(event[1])
