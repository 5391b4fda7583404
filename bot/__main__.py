"""The `aar-bot` command line: run the bot, import a thread, list chapters, preview, back up, draft a cast.

Every command takes `--db PATH` (default: `AAR_DB_PATH` from the environment or `.env`, then
`data/aar.db`). Errors are one line on stderr and a non-zero exit status, never a traceback.

Every use of the database goes through `database()`, which turns what SQLite or the OS raise into that
one line (`bot.storage.errors.explain` says which file and what is wrong with it).  Only the database
work runs inside it, so an unrelated error is never blamed on the database.  The commands that only
read (`chapters`, `preview`, `backup`) open it read-only, so they work on a file or folder they may not
write.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sqlite3
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bot.characters.schema import CastError
from bot.config import SHIPPED_THREAD, ConfigError, Settings
from bot.storage import open_database
from bot.storage.connection import DEFAULT_BUSY_TIMEOUT, backup_to, check_writable
from bot.storage.database import Database
from bot.storage.errors import DatabaseProblem, explain
from bot.storage.story import chapter_count, list_chapters
from bot.story.importer import StoryImportError, import_file

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure to report as one line on stderr."""


def build_parser() -> argparse.ArgumentParser:
    # The options are accepted before and after the command; SUPPRESS keeps the command's parser from
    # resetting one given before it to a default.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--db", type=Path, metavar="PATH",
                        help="SQLite database (default: $AAR_DB_PATH or data/aar.db)")
    common.add_argument("--busy-timeout", type=_seconds, metavar="SECONDS",
                        help="how long to wait for a database another process has locked "
                             f"(default: {DEFAULT_BUSY_TIMEOUT:g})")

    parser = argparse.ArgumentParser(prog="aar-bot", description=__doc__.splitlines()[0], parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", parents=[common], help="run the bot (needs DISCORD_TOKEN)")

    story = argparse.ArgumentParser(add_help=False)
    story.add_argument("--story", metavar="SLUG",
                       help="the story (default: the first one; see `aar-bot stories`)")

    p_import = sub.add_parser("import", parents=[common], help="import a forum thread export")
    p_import.add_argument("file", type=Path, help="the exported thread (UTF-8 text)")
    p_import.add_argument("--story", metavar="SLUG",
                          help="into this story, added to the library when new (default: the first story)")
    p_import.add_argument("--title", help="a new story's title (default: its slug)")

    sub.add_parser("stories", parents=[common], help="list the stories in the library")

    p_chapters = sub.add_parser("chapters", parents=[common, story], help="list the imported chapters")
    p_chapters.add_argument("--json", action="store_true", help="print a JSON list")

    p_preview = sub.add_parser("preview", parents=[common, story],
                               help="print the messages a release of chapter N sends")
    p_preview.add_argument("number", type=int, help="chapter number")
    p_preview.add_argument("--json", action="store_true", help="print the Discord payloads as JSON")
    p_preview.add_argument("--guild", type=int, metavar="ID",
                           help="as released in this server (its alert role's mention and 🔔 button)")

    p_backup = sub.add_parser("backup", parents=[common], help="write a consistent copy of the database")
    p_backup.add_argument("target", type=Path, help="where to write the copy")
    p_forget = sub.add_parser("forget", parents=[common],
                              help="delete what the bot stores about a member (every server, or --guild)")
    p_forget.add_argument("user_id", type=int, metavar="USER_ID", help="the member's Discord user id")
    p_forget.add_argument("--guild", type=int, metavar="ID",
                          help="only in this server (default: every server)")
    p_cast = sub.add_parser("cast", parents=[common], help="draft a cast file from the story's text")
    p_cast.add_argument("action", choices=["draft"],
                        help="draft: write a starting cast file (recurring names, their spellings and the "
                             "chapter each first appears in) to edit")
    p_cast.add_argument("--out", type=Path, metavar="FILE",
                        help="write it to FILE (default: standard output)")
    p_migrate = sub.add_parser("migrate-to-postgres", parents=[common],
                               help="copy the SQLite database into an empty PostgreSQL database")
    p_migrate.add_argument("--from", dest="source", type=Path, metavar="FILE",
                           help="the SQLite database (default: --db, $AAR_DB_PATH or data/aar.db)")
    p_migrate.add_argument("--to", dest="target", metavar="URL",
                           help="postgresql://user:password@host:port/database (default: $AAR_DATABASE_URL)")
    return parser


def _seconds(text: str) -> float:
    seconds = float(text)
    if not seconds >= 0:  # also NaN
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"aar-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if settings.database_url and args.command == "backup":
        print("aar-bot: backup copies the SQLite file, and AAR_DATABASE_URL names a PostgreSQL database: back"
              " that up with PostgreSQL's own pg_dump", file=sys.stderr)
        return EXIT_USAGE
    if settings.database_url and "db" in args and args.command != "migrate-to-postgres":
        print("aar-bot: --db names a SQLite file, but AAR_DATABASE_URL is set: the commands use PostgreSQL;"
              " unset AAR_DATABASE_URL to use the file", file=sys.stderr)
        return EXIT_USAGE
    if "db" in args:
        settings = dataclasses.replace(settings, db_path=args.db)
    args.busy_timeout = getattr(args, "busy_timeout", DEFAULT_BUSY_TIMEOUT)
    try:
        if args.command == "run":
            return run(settings, args)
        return asyncio.run(COMMANDS[args.command](settings, args))
    except (CliError, StoryImportError, CastError) as exc:
        print(f"aar-bot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except DatabaseProblem as exc:
        print(f"aar-bot: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


@asynccontextmanager
async def database(settings: Settings, args: argparse.Namespace, *, readonly: bool = False,
                   sqlite: bool = False) -> AsyncIterator[Database]:
    """The database, open for the body; what SQLite, PostgreSQL or the OS raise in it becomes a
    `DatabaseProblem`.  PostgreSQL when AAR_DATABASE_URL is set, unless `sqlite` (a copy's source)."""
    if settings.database_url and not sqlite:
        async with _postgres(settings.database_url) as conn:
            yield conn
        return
    path = settings.db_path
    try:
        conn = await open_database(path, readonly=readonly, busy_timeout=args.busy_timeout)
        try:
            yield conn
        finally:
            await conn.close()
    except (sqlite3.Error, OSError) as exc:
        raise DatabaseProblem(explain(exc, path)) from None


@asynccontextmanager
async def _postgres(url: str) -> AsyncIterator[Database]:
    """`database` on PostgreSQL; a refusal names the database without its password."""
    import asyncpg

    from bot.storage.connection import open_postgres_database
    from bot.storage.postgres.url import describe

    try:
        conn = await open_postgres_database(url)
        try:
            yield conn
        finally:
            await conn.close()
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        raise DatabaseProblem(f"{describe(url)}: {exc}") from None


def run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.token:
        print(
            "aar-bot: DISCORD_TOKEN is not set. Put DISCORD_TOKEN=<your bot token> in the environment or in "
            "a .env file (see .env.example).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    # Refuses a database this release can't use (newer, damaged, read-only, ...) before the bot starts.
    summary = asyncio.run(ensure_story(settings, args))
    if summary:
        print(summary, file=sys.stderr)
    from bot.app import run_bot  # imported late: the other commands never need discord.py loaded

    return run_bot(settings)


async def ensure_story(settings: Settings, args: argparse.Namespace) -> str | None:
    """On first start with an empty database, import the thread the project ships."""
    async with database(settings, args) as conn:
        await check_writable(conn)  # the bot writes from its first release on: refuse now, in one line
        if await chapter_count(conn):
            return None
        summary = await import_file(conn, SHIPPED_THREAD)
        return summary.one_line(SHIPPED_THREAD.name)


async def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage import stories

    async with database(settings, args) as conn:
        if args.story is None:
            summary = await import_file(conn, args.file)
        else:
            try:
                stories.check_slug(args.story)
            except stories.BadSlug as exc:
                raise CliError(str(exc)) from None
            found = await stories.story_by_slug(conn, args.story)
            if found is not None and args.title is not None and args.title != found.title:
                await stories.rename_story(conn, found.id, args.title)
            target = found or await stories.create_story(conn, args.story, args.title or args.story)
            try:
                summary = await import_file(conn, args.file, story_id=target.id)
            except BaseException:
                if found is None:  # the story added for this import goes with it: nothing is left behind
                    await stories.forget_empty_story(conn, target.id)
                raise
    print(summary.one_line(str(args.file) if args.story is None else f"{args.file} (story {args.story})"))
    return EXIT_OK


async def cmd_stories(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage import stories

    async with database(settings, args, readonly=True) as conn:
        library = await stories.list_stories(conn)
        readers = await stories.servers_reading(conn)
    for record in library:
        first = "  (the first: servers read it until a moderator chooses another)" if record.id == 1 else ""
        print(f"{record.slug}  {record.title} — {record.chapters} chapters, read in "
              f"{readers.get(record.id, 0)} servers set up{first}")
    return EXIT_OK


async def story_of(conn: Database, slug: str | None) -> int:
    """The id of the story `--story` names (the first story without it); a CliError naming the others."""
    from bot.storage import stories

    if slug is None:
        return stories.DEFAULT_STORY_ID
    found = await stories.story_by_slug(conn, slug)
    if found is None:
        known = ", ".join(s.slug for s in await stories.list_stories(conn))
        raise CliError(f"no story {slug!r} (the library has: {known}; see `aar-bot stories`)")
    return found.id


async def cmd_chapters(settings: Settings, args: argparse.Namespace) -> int:
    async with database(settings, args, readonly=True) as conn:
        chapters = await list_chapters(conn, await story_of(conn, args.story))
    if args.json:
        print(json.dumps([c.as_json() for c in chapters], ensure_ascii=False, indent=2))
    elif not chapters:
        print("No chapters imported yet: run `aar-bot import FILE`.")
    else:
        for c in chapters:
            print(f"{c.number:>3}  {c.threadmark} — {c.title}  ({c.chars} chars, {c.pictures} pictures, "
                  f"{c.forum_likes} likes, {c.comments} comments)")
    return EXIT_OK


async def cmd_preview(settings: Settings, args: argparse.Namespace) -> int:
    from bot.chapters.plan import release_plan
    from bot.chapters.render import render_chapter
    from bot.storage.guilds import get_guild_settings
    from bot.storage.story import load_chapter

    async with database(settings, args, readonly=True) as conn:
        story = await story_of(conn, args.story)
        chapter = await load_chapter(conn, args.number, story)
        total = await chapter_count(conn, story)
        alert_role_id = (await get_guild_settings(conn, args.guild)).alert_role_id if args.guild else None
    if chapter is None:
        raise CliError(f"no chapter {args.number} (the database has {total}; see `aar-bot chapters`)")
    # The plan a release stores and sends (with --guild, that server's alert role's mention and 🔔 too).
    messages = release_plan(render_chapter(chapter, number=args.number, total=total), number=args.number,
                            alert_role_id=alert_role_id)
    if args.json:
        print(json.dumps(messages, ensure_ascii=False, indent=2))
    else:
        for index, message in enumerate(messages, 1):
            embeds = message.get("embeds", [])
            print(f"--- message {index}/{len(messages)}: {len(message.get('content', ''))} chars, "
                  f"{len(embeds)} embeds")
            if message.get("content"):
                print(message["content"])
            for embed in embeds:
                for part in (embed.get("title"), embed.get("description")):
                    if part:
                        print(part)
                if embed.get("image"):
                    print(f"[picture: {embed['image']['url']}]")
    return EXIT_OK


async def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    if args.target.exists():
        raise CliError(f"{args.target}: already exists; choose a new file name")
    async with database(settings, args, readonly=True) as conn:
        try:
            await backup_to(conn, args.target)
        except sqlite3.Error as exc:
            if args.target.exists():  # what the source did wrong is said about the source
                raise
            raise DatabaseProblem(explain(exc, args.target)) from None
    print(f"Backed up {settings.db_path} to {args.target}.")
    return EXIT_OK


async def cmd_forget(settings: Settings, args: argparse.Namespace) -> int:
    """What `/aar forget-me` does for a member, done by an admin (a data request by mail, say)."""
    from bot import privacy

    async with database(settings, args) as conn:
        try:
            deleted = await privacy.forget(conn, args.user_id, guild_id=args.guild)
        except privacy.QuizStillRunning:
            raise CliError(f"user {args.user_id} started a quiz that is still running; stop it with "
                           "/quiz stop (or start the bot once: it ends quizzes a crash left running). "
                           "Nothing was deleted.") from None
    print(privacy.cli_summary(deleted, args.user_id, args.guild))
    return EXIT_OK


async def cmd_cast(settings: Settings, args: argparse.Namespace) -> int:
    """`cast draft`: a starting cast file for the story in the database, for its author or moderators to
    edit."""
    from bot.characters.draft import draft_cast
    from bot.characters.draft_file import draft_file
    from bot.storage.story import chapter_texts

    if args.out is not None and args.out.exists():
        raise CliError(f"{args.out}: already exists; choose a new file name")
    async with database(settings, args, readonly=True) as conn:
        chapters = await chapter_texts(conn)
    if not chapters:
        raise CliError("the database holds no story: import one first with `aar-bot import FILE`")
    characters = draft_cast(chapters)
    if not characters:
        raise CliError(f"no name recurs in the story's {len(chapters)} chapters: there is no cast to draft")
    text = draft_file(characters)
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with args.out.open("x", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise CliError(f"{args.out}: can't write it ({exc.strerror or exc})") from None
    print(f"Wrote a draft cast of {len(characters)} characters to {args.out}.")
    return EXIT_OK


async def cmd_migrate_to_postgres(settings: Settings, args: argparse.Namespace) -> int:
    """Copy everything into an empty PostgreSQL database, in one transaction, counts checked on both sides."""
    import asyncpg

    from bot.storage.postgres.connection import open_postgres
    from bot.storage.postgres.copy import copy_to_postgres
    from bot.storage.postgres.url import describe, is_postgres_url

    url = args.target or settings.database_url
    if not url or not is_postgres_url(url):
        raise CliError("--to must be a postgresql://user:password@host:port/database URL "
                       "(or set AAR_DATABASE_URL)")
    if args.source is not None:
        settings = dataclasses.replace(settings, db_path=args.source)
    if not settings.db_path.is_file():
        raise CliError(f"{settings.db_path}: no such SQLite database")
    name = describe(url)
    try:
        target = await open_postgres(url)
    except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
        raise DatabaseProblem(f"{name}: can't open it ({exc})") from None
    try:
        async with database(settings, args, sqlite=True) as source:
            try:
                report = await copy_to_postgres(source, target, target_name=name)
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise DatabaseProblem(f"{name}: the copy failed and was rolled back ({exc})") from None
    finally:
        await target.close()
    for table, rows in report.rows.items():
        print(f"{rows:>9}  {table}")
    print(f"Copied {report.total} rows in {len(report.rows)} tables from {settings.db_path} to {name}; "
          "the counts match on both sides.")
    return EXIT_OK


COMMANDS = {"import": cmd_import, "stories": cmd_stories, "chapters": cmd_chapters, "preview": cmd_preview,
            "backup": cmd_backup, "forget": cmd_forget, "cast": cmd_cast,
            "migrate-to-postgres": cmd_migrate_to_postgres}


if __name__ == "__main__":
    sys.exit(main())
