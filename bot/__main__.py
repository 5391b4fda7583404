"""The `aar-bot` command line: run the bot, import a thread, list chapters, preview a release, back up.

Every command takes `--db PATH` (default: `AAR_DB_PATH` from the environment or `.env`, then
`data/aar.db`). Errors are one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.characters.schema import CastError
from bot.config import SHIPPED_THREAD, ConfigError, Settings
from bot.storage import open_database
from bot.storage.connection import backup_to
from bot.storage.story import chapter_count, list_chapters
from bot.story.importer import StoryImportError, import_file

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure to report as one line on stderr."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, metavar="PATH",
                        help="SQLite database (default: $AAR_DB_PATH or data/aar.db)")

    parser = argparse.ArgumentParser(prog="aar-bot", description=__doc__.splitlines()[0], parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", parents=[common], help="run the bot (needs DISCORD_TOKEN)")

    p_import = sub.add_parser("import", parents=[common], help="import a forum thread export")
    p_import.add_argument("file", type=Path, help="the exported thread (UTF-8 text)")

    p_chapters = sub.add_parser("chapters", parents=[common], help="list the imported chapters")
    p_chapters.add_argument("--json", action="store_true", help="print a JSON list")

    p_preview = sub.add_parser("preview", parents=[common],
                               help="print the messages a release of chapter N sends")
    p_preview.add_argument("number", type=int, help="chapter number")
    p_preview.add_argument("--json", action="store_true", help="print the Discord payloads as JSON")

    p_backup = sub.add_parser("backup", parents=[common], help="write a consistent copy of the database")
    p_backup.add_argument("target", type=Path, help="where to write the copy")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"aar-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.db is not None:
        settings = dataclasses.replace(settings, db_path=args.db)
    try:
        if args.command == "run":
            return run(settings)
        return asyncio.run(COMMANDS[args.command](settings, args))
    except (CliError, StoryImportError, CastError) as exc:
        print(f"aar-bot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def run(settings: Settings) -> int:
    if not settings.token:
        print(
            "aar-bot: DISCORD_TOKEN is not set. Put DISCORD_TOKEN=<your bot token> in the environment or in "
            "a .env file (see .env.example).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    summary = asyncio.run(ensure_story(settings.db_path))
    if summary:
        print(summary, file=sys.stderr)
    from bot.app import run_bot  # imported late: the other commands never need discord.py loaded

    return run_bot(settings)


async def ensure_story(db_path: Path) -> str | None:
    """On first start with an empty database, import the thread the project ships."""
    conn = await open_database(db_path)
    try:
        if await chapter_count(conn):
            return None
        summary = await import_file(conn, SHIPPED_THREAD)
        return summary.one_line(SHIPPED_THREAD.name)
    finally:
        await conn.close()


async def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    conn = await open_database(settings.db_path)
    try:
        summary = await import_file(conn, args.file)
    finally:
        await conn.close()
    print(summary.one_line(str(args.file)))
    return EXIT_OK


async def cmd_chapters(settings: Settings, args: argparse.Namespace) -> int:
    conn = await open_database(settings.db_path)
    try:
        chapters = await list_chapters(conn)
    finally:
        await conn.close()
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
    from bot.chapters.render import render_chapter
    from bot.storage.story import load_chapter

    conn = await open_database(settings.db_path)
    try:
        chapter = await load_chapter(conn, args.number)
        total = await chapter_count(conn)
    finally:
        await conn.close()
    if chapter is None:
        raise CliError(f"no chapter {args.number} (the database has {total}; see `aar-bot chapters`)")
    messages = render_chapter(chapter, number=args.number, total=total)
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
    conn = await open_database(settings.db_path)
    try:
        await backup_to(conn, args.target)
    finally:
        await conn.close()
    print(f"Backed up {settings.db_path} to {args.target}.")
    return EXIT_OK


COMMANDS = {"import": cmd_import, "chapters": cmd_chapters, "preview": cmd_preview, "backup": cmd_backup}


if __name__ == "__main__":
    sys.exit(main())
