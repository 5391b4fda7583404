"""Where a picture named in the forum export can be fetched from.

The export keeps only file names. Imgur ids and Wikimedia file names can be turned back into URLs;
anything else (`latest`, `images`, `cnt.jpg`) cannot, and the picture is shown by its caption alone.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

_EXT = r"\.(?:jpe?g|png|gif|webp|bmp|svg|tiff?)"
IMGUR_ID = re.compile(rf"^[A-Za-z0-9]{{7}}{_EXT}$", re.IGNORECASE)
THUMB_PREFIX = re.compile(r"^\d{2,4}px-")
IMAGE_FILE = re.compile(rf"^\S+{_EXT}$", re.IGNORECASE)
# Words joined by underscores: "Battle_of_Lake_Khasan-...", percent-encoded or not.
UNDERSCORED = re.compile(r"[^\s_]_[^\s_]")

IMGUR_BASE = "https://i.imgur.com/"
WIKIMEDIA_BASE = "https://commons.wikimedia.org/wiki/Special:FilePath/"


def picture_url(name: str) -> str | None:
    """The URL a picture named `name` can be fetched from, or None when the name says nowhere."""
    name = name.strip()
    if IMGUR_ID.match(name):
        return IMGUR_BASE + name
    if not IMAGE_FILE.match(name):
        return None
    thumbnail = THUMB_PREFIX.match(name)
    if not thumbnail and not UNDERSCORED.search(unquote(name)):
        return None
    file_name = unquote(name[thumbnail.end():] if thumbnail else name)
    if thumbnail and file_name.lower().endswith(".svg.png"):
        # Wikimedia renders SVG thumbnails as `<px>-<file>.svg.png`; the file itself is the .svg.
        file_name = file_name[: -len(".png")]
    return WIKIMEDIA_BASE + quote(file_name.replace(" ", "_"), safe="")


def is_picture_name(line: str) -> bool:
    """Whether a line of the export names a picture rather than being text.

    Pictures show as one token: a file name with an image extension, or a bare lowercase word the
    forum's scraper used for images without a file name (`latest`, `images`).
    """
    line = line.strip()
    if not line or any(ch.isspace() for ch in line):
        return False
    return bool(IMAGE_FILE.match(line) or re.fullmatch(r"[a-z][a-z0-9+_-]*", line))
