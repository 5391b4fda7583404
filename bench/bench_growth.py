"""Benchmark: bounded growth (issue 13) — storage per release, and the bot's memory with many releases.

(a) Database size per server and chapter.  The real publisher releases `--chapters` chapters of the
    shipped AAR in `--servers` servers (an in-memory sender stands in for Discord); the same database is
    then rewritten in the layout before V12 (every release holding its whole planned payloads, as V6..V11
    stored them) as the baseline, and both are vacuumed and compared, less the story they share.

(b) RSS of the whole bot process with `--messages` release messages in the database: the real bot
    (`python -m bot run`) runs as a subprocess against the fake Discord (`tests.fakediscord`), reactions
    on `--reactions` random release messages arrive as gateway events, and once every one of them is in
    the database VmRSS and VmHWM are read from /proc/<pid>/status.  Baseline in the same run: the bot as
    it was before this change (`--baseline-ref`, extracted with `git archive`) on the same rows in a
    database at the schema it knew (V10); it loaded every release message into a dict at start.  Without
    git (or with `--baseline-ref ''`) the baseline is skipped and the documented 285 bytes/message quoted.

    .venv/bin/python bench/bench_growth.py [--servers 1000] [--chapters 2] [--messages 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fakediscord

from bot.chapters.plan import stored_plan  # noqa: E402
from bot.chapters.publishing import Publisher  # noqa: E402
from bot.config import SHIPPED_THREAD  # noqa: E402
from bot.storage import open_database  # noqa: E402
from bot.storage.migrations import apply_migrations  # noqa: E402
from bot.story.importer import import_file  # noqa: E402
from tests.fakediscord import FakeDiscord  # noqa: E402

BASELINE_REF = "92c3d6c"  # main before issue 13's bounded growth
FIRST_MESSAGE = 10**17
PARTS_PER_RELEASE = 5
CHAPTERS_PER_SERVER = 100
OLD_SCHEMA = 10
DOCUMENTED_BYTES_PER_MESSAGE = 285


# --- (a) storage ------------------------------------------------------------------------------------

class MemorySender:
    """Discord as the publisher needs it, in memory: every send succeeds with a new id."""

    def __init__(self) -> None:
        self.ids = itertools.count(10**15)

    async def missing_permissions(self, channel_id: int, *, thread: bool) -> list[str]:
        return []

    async def send(self, channel_id: int, payload: dict[str, Any], *, nonce: str) -> int:
        return next(self.ids)

    async def find_sent(self, channel_id: int, payload: dict[str, Any], *, nonce: str,
                        after: int | None) -> int | None:
        return None

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        return message_id


def vacuumed_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        return int(conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size")
                   .fetchone()[0])
    finally:
        conn.close()


def to_old_layout(path: Path) -> None:
    """Rewrite every release as the releases before V12 stored it: its whole plan in its own row."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT r.rowid AS id, r.chapter_number, r.alert_role_id, c.payloads, c.planned"
                            " FROM releases r JOIN rendered_chapters c ON c.id = r.rendered_id").fetchall()
        with conn:
            for row in rows:
                plan = stored_plan(json.loads(row["payloads"]), planned=bool(row["planned"]),
                                   number=row["chapter_number"], alert_role_id=row["alert_role_id"])
                conn.execute("UPDATE releases SET payloads = ?, rendered_id = NULL WHERE rowid = ?",
                             (json.dumps(plan, ensure_ascii=False), row["id"]))
            conn.execute("DELETE FROM rendered_chapters")
    finally:
        conn.close()


async def bench_storage(tmp: Path, servers: int, chapters: int) -> None:
    story = tmp / "story.db"
    conn = await open_database(story)
    await import_file(conn, SHIPPED_THREAD)
    await conn.close()
    story_size = vacuumed_size(story)
    new = tmp / "releases-new.db"
    shutil.copy(story, new)
    conn = await open_database(new)
    started = time.perf_counter()
    try:
        publisher = Publisher(conn, MemorySender())
        for guild in range(1, servers + 1):
            if guild % 10 == 0:  # one server in ten names an alert role: its plan differs
                await conn.execute("INSERT INTO guild_settings(guild_id, alert_role_id) VALUES (?, ?)",
                                   (guild, 5000 + guild))
            for _ in range(chapters):
                outcome = await publisher.release_next(guild, 100 + guild)
                assert outcome.status == "released", outcome
        await conn.commit()
    finally:
        await conn.close()
    took = time.perf_counter() - started
    old = tmp / "releases-old.db"
    shutil.copy(new, old)
    to_old_layout(old)
    new_size, old_size = vacuumed_size(new), vacuumed_size(old)
    releases = servers * chapters
    per_old, per_new = (old_size - story_size) / releases, (new_size - story_size) / releases
    print(f"(a) {servers:,} servers x {chapters} chapters ({releases:,} releases, published in {took:.1f}s)")
    print(f"    story alone                      {story_size / 1e6:8.2f} MB")
    print(f"    before V12 (plan per release)    {old_size / 1e6:8.2f} MB   {per_old / 1e3:6.2f} KB"
          " per server and chapter  (baseline)")
    print(f"    V12 (render stored once)         {new_size / 1e6:8.2f} MB   {per_new / 1e3:6.2f} KB"
          f" per server and chapter  ({per_old / per_new:.1f}x smaller)")
    print(f"    at 500 chapters: {per_old * 500 * servers / 1e9:.2f} GB before, "
          f"{per_new * 500 * servers / 1e9:.2f} GB now (growth per release; renders add one per chapter)")


# --- (b) memory -------------------------------------------------------------------------------------

def fill_releases(path: Path, messages: int) -> None:
    """`messages` posted release parts (PARTS_PER_RELEASE per release, CHAPTERS_PER_SERVER per server),
    written by two recursive-CTE statements; part i has message id FIRST_MESSAGE + i."""
    releases = messages // PARTS_PER_RELEASE
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("PRAGMA foreign_keys = OFF")  # chapters 7..100 are not imported: rows only
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)"
                " INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
                " completed_at) SELECT 1000 + i / ?, 1 + i % ?, 5000 + i / ?, 'done', ?,"
                " '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z' FROM n",
                (releases, CHAPTERS_PER_SERVER, CHAPTERS_PER_SERVER, CHAPTERS_PER_SERVER, PARTS_PER_RELEASE))
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)"
                " INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, message_id,"
                " channel_id, sent_at) SELECT 1000 + i / ?, 1 + (i / ?) % ?, i % ?, 'n' || i, ? + i,"
                " 5000 + i / ?, '2025-01-01T00:00:00.000Z' FROM n",
                (releases * PARTS_PER_RELEASE, CHAPTERS_PER_SERVER * PARTS_PER_RELEASE, PARTS_PER_RELEASE,
                 CHAPTERS_PER_SERVER, PARTS_PER_RELEASE, FIRST_MESSAGE,
                 CHAPTERS_PER_SERVER * PARTS_PER_RELEASE))
    finally:
        conn.close()



async def build_database(path: Path, schema: int | None) -> None:
    conn = await open_database(path, migrate=False)
    try:
        await apply_migrations(conn, through=schema)
        await import_file(conn, SHIPPED_THREAD)
    finally:
        await conn.close()


def status_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def reactions_stored(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM reactions").fetchone()[0])
    except sqlite3.OperationalError:
        return -1
    finally:
        conn.close()


async def measure_bot(label: str, source: Path, db: Path, messages: int, reactions: int,
                      limit_s: float) -> dict[str, int] | None:
    """Run the bot from `source` on `db`, send reactions, return its memory once they are all stored."""
    fake = FakeDiscord()
    await fake.start()
    try:
        setup = await fake.add_standard_guild()
        env = {**os.environ, "PYTHONPATH": str(source), "DISCORD_TOKEN": fake.token,
               "DISCORD_API_BASE_URL": fake.api_base, "DISCORD_GATEWAY_URL": fake.gateway_url,
               "LOG_LEVEL": "WARNING", "AAR_DB_PATH": str(db)}
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--db", str(db),
                                                    cwd=db.parent, env=env)
        try:
            await fake.wait_for(lambda: fake.connected and fake.identify_count > 0, timeout=limit_s)
            ready = status_kb(proc.pid)
            rng = random.Random(13)
            chosen = rng.sample(range(messages), reactions)
            for n, offset in enumerate(chosen):
                await fake.dispatch("MESSAGE_REACTION_ADD", {
                    "channel_id": str(setup.story.id), "message_id": str(FIRST_MESSAGE + offset),
                    "guild_id": str(setup.guild.id), "user_id": str(10**16 + n), "burst": False, "type": 0,
                    "emoji": {"id": None, "name": "👍"}})
            deadline = time.perf_counter() + limit_s
            while reactions_stored(db) < reactions:
                if proc.returncode is not None or time.perf_counter() > deadline:
                    print(f"    {label}: only {reactions_stored(db)} of {reactions} reactions stored",
                          file=sys.stderr)
                    return None
                await asyncio.sleep(0.2)  # a benchmark polling another process, not a test
            took = time.perf_counter() - started
            after = status_kb(proc.pid)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        return {"ready_rss": ready.get("VmRSS", 0), "rss": after["VmRSS"], "hwm": after["VmHWM"],
                "seconds": int(took)}
    finally:
        await fake.stop()


def baseline_source(tmp: Path, ref: str) -> Path | None:
    if not ref:
        return None
    target = tmp / "baseline-src"
    target.mkdir()
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "bot", "cogs", "data"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"    no baseline: cannot extract {ref} ({exc})", file=sys.stderr)
        return None
    return target


async def bench_memory(tmp: Path, messages: int, reactions: int, ref: str, limit_s: float) -> None:
    print(f"(b) bot process RSS with {messages:,} release messages, reactions on {reactions:,} of them")
    results = {}
    runs = [("V12 (indexed lookup, LRU cache)", ROOT, None)]
    old_source = baseline_source(tmp, ref)
    if old_source is not None:
        runs.insert(0, (f"before ({ref}: every message in a dict)", old_source, OLD_SCHEMA))
    for label, source, schema in runs:
        db = tmp / f"memory-{schema or 'new'}" / "aar.db"
        db.parent.mkdir()
        await build_database(db, schema)
        fill_releases(db, messages)
        results[label] = await measure_bot(label, source, db, messages, reactions, limit_s)
    for label, got in results.items():
        if got is None:
            print(f"    {label:40} failed")
            continue
        print(f"    {label:40} RSS {got['rss'] / 1024:7.1f} MB (at connect {got['ready_rss'] / 1024:6.1f} MB,"
              f" peak {got['hwm'] / 1024:6.1f} MB), {got['seconds']}s")
    if old_source is None:
        print(f"    baseline (documented): {DOCUMENTED_BYTES_PER_MESSAGE} bytes/message ="
              f" {DOCUMENTED_BYTES_PER_MESSAGE * messages / 2**20:.0f} MB for the map alone")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--chapters", type=int, default=2)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--reactions", type=int, default=20_000)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--skip", choices=("storage", "memory"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as name:
        tmp = Path(name)
        if args.skip != "storage":
            await bench_storage(tmp, args.servers, args.chapters)
        if args.skip != "memory":
            await bench_memory(tmp, args.messages, args.reactions, args.baseline_ref, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
