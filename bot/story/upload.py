"""A forum export uploaded in Discord (`/aar import file:`): its limits, reading it, and the words shown.

An upload is bounded tighter than a file on the server (`MAX_UPLOAD_BYTES`, 8 MiB, against the CLI's 32):
the bot downloads it into memory while it serves every server, and an 8 MiB export is already some 600
chapters with their comments.  The size Discord declares is checked before anything is downloaded, and
the bytes received are checked again (a declared size is Discord's word, the bytes are what arrived).
Decoding and parsing are the importer's (`read_export_bytes`'s rules apart from the path), so an upload and
`aar-bot import` refuse the same files with the same one-line reasons.

Every text here names the file escaped (a file name is the member's input) and stays within Discord's
limits.  Spoiler safety: a chapter already in the database (edited, or missing from the file) is named
only when the server has released it; a new chapter is named from the uploaded file.
"""

from __future__ import annotations

from bot.story.importer import ImportSummary, StoryImportError, decode_export, parse_export
from bot.story.model import Story
from bot.story.preview import ChapterRef, ImportPreview
from bot.text import MAX_DESCRIPTION, MAX_TITLE, clip_escaped, lines_within, plural

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_NAME_CHARS = 80  # of a file name quoted back
MAX_LISTED_TITLE = 90  # of a chapter title in a preview's lists
LISTED = 10  # chapters listed per kind of change; the rest are counted
BULLET = "•"


def shown_name(filename: str) -> str:
    """The file's name as a reply quotes it: escaped (a name is the member's input) and clipped."""
    return clip_escaped(" ".join(filename.split()) or "the file", MAX_NAME_CHARS)


def mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def check_upload_size(filename: str, size: int) -> None:
    """Refuse a file larger than an upload may be, from its size alone (before downloading it)."""
    if size > MAX_UPLOAD_BYTES:
        raise StoryImportError(
            f"{shown_name(filename)} is {mib(size)}, larger than an export uploaded here may be "
            f"({mib(MAX_UPLOAD_BYTES)}); import it on the bot's server with `aar-bot import` instead")


def parse_upload(data: bytes, filename: str) -> Story:
    """The story in an uploaded export, or a one-line `StoryImportError` (too big, not UTF-8 text, not a
    forum export).  CPU-bound: the bot runs it in a worker thread."""
    check_upload_size(filename, len(data))
    name = shown_name(filename)
    return parse_export(decode_export(data, name), name)


# --- the preview ---------------------------------------------------------------------------------------


def preview_title(filename: str) -> str:
    return clip_escaped(f"Import preview: {' '.join(filename.split())}", MAX_TITLE)


def preview_text(preview: ImportPreview, *, released_through: int) -> str:
    """The preview's body: what the file holds, then what importing it would change."""
    diff = preview.diff
    lines = [
        f"**In this file:** {plural(preview.chapters, 'chapter')}, {plural(preview.pictures, 'picture')}, "
        f"{plural(preview.forum_likes, 'forum like')}, {plural(preview.comments, 'comment')}.",
    ]
    if preview.stored_chapters == 0:
        lines.append("**The database holds no story yet:** importing adds all of it.")
    elif not diff.changes:
        lines.append(f"**Nothing to import:** the story's {plural(preview.stored_chapters, 'chapter')} "
                     "already hold everything in this file.")
    else:
        lines.append(f"**The story now has {plural(preview.stored_chapters, 'chapter')}.** Importing "
                     "this file would:")
    if preview.stored_chapters and diff.changes:
        if diff.added:
            lines.append(f"{BULLET} add {plural(len(diff.added), 'new chapter')}:")
            lines.extend(_listed(diff.added))
        if diff.edited:
            lines.append(f"{BULLET} update {plural(len(diff.edited), 'edited chapter')} (same chapter, "
                         "new text):")
            lines.extend(_listed(diff.edited, released_through=released_through))
        if diff.new_comments:
            lines.append(f"{BULLET} add {plural(diff.new_comments, 'new comment')}")
        if diff.unchanged:
            lines.append(f"{BULLET} leave {plural(diff.unchanged, 'chapter')} as they are")
    if preview.stored_chapters and diff.missing:
        missing = len(diff.missing)
        lines.append(f"{BULLET} keep {plural(missing, 'chapter')} the file does not have "
                     f"({'it is' if missing == 1 else 'they are'} not deleted):")
        lines.extend(_listed(diff.missing, released_through=released_through))
    return lines_within(lines, MAX_DESCRIPTION)


def _listed(refs: list[ChapterRef], *, released_through: int | None = None) -> list[str]:
    """A few chapters by number and title.  A stored chapter (edited, or missing from the file) is named
    only once released here: the preview must not be where a moderator first meets a later chapter's
    title.  A new chapter is named: it is in no server yet, and its title is the uploaded file's."""
    shown = []
    for ref in refs[:LISTED]:
        if released_through is not None and ref.number > released_through:
            shown.append(f"  {ref.number}. (not released in this server)")
        else:
            shown.append(f"  {ref.number}. {clip_escaped(ref.title or ref.threadmark, MAX_LISTED_TITLE)}")
    if len(refs) > LISTED:
        shown.append(f"  …and {len(refs) - LISTED} more")
    return shown


def preview_footer(preview: ImportPreview, minutes: int) -> str:
    if not preview.diff.changes and preview.stored_chapters:
        return "Nothing has changed."
    return (f"Nothing has changed yet. Confirm imports it in one go, for every server the bot serves; "
            f"only you can confirm, within {minutes} minutes.")


# --- the outcome -----------------------------------------------------------------------------------


def imported_text(filename: str, summary: ImportSummary) -> str:
    """What Confirm answers once the import is committed."""
    parts = []
    if summary.chapters_added:
        parts.append(plural(summary.chapters_added, "new chapter"))
    if summary.chapters_updated:
        parts.append(f"{plural(summary.chapters_updated, 'chapter')} updated")
    if summary.comments_added:
        parts.append(plural(summary.comments_added, "new comment"))
    done = ", ".join(parts) if parts else "nothing new"
    text = (f"Imported {shown_name(filename)}: {done}. The story has "
            f"{plural(summary.chapters_total, 'chapter')}.")
    if summary.chapters_added:
        text += " `/chapter next` and the schedules release the new ones in order."
    return text


CANCELLED = "Cancelled: nothing was imported."
STORY_CHANGED = ("The story changed since this preview was made (another import landed): nothing was "
                 "imported. Run `/aar import` again for a fresh preview.")
