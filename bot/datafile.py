"""Reading the curated TOML files under `data/` (cast, quiz): one way to read, decode and report.

Each file has its own schema and error class; what they share is how a file is read, that it must be
UTF-8 TOML, and that validation names every problem at once rather than the first.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_file(path: Path, what: str, error: type[ValueError]) -> bytes:
    """The file's bytes, or `error` saying in one line why it can't be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror})") from None


def parse_toml(data: bytes | str, source: str, error: type[ValueError]) -> dict[str, Any]:
    """The TOML document, or `error` saying the text is not UTF-8 or not valid TOML."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise error(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML ({exc})") from None


def problems_error(source: str, problems: list[str], error: type[ValueError]) -> ValueError:
    """One error listing every validation problem, one a line."""
    return error(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems))
