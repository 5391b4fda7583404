"""The storage modules' SQL, as PostgreSQL reads it.

The storage modules write one SQL for both backends (`bot.storage.database`).  Two spellings differ, and
are translated here rather than written twice:

* placeholders: `?` becomes `$1, $2, …`;
* SQLite's scalar `MAX(a, b)` / `MIN(a, b)` (two or more arguments; the one-argument forms are the
  aggregates both share) become PostgreSQL's `GREATEST(a, b)` / `LEAST(a, b)`.

Quoted strings and identifiers are text, not SQL, and are left alone.  Statements are few and sent
often: each is translated once.
"""

from __future__ import annotations

import re
from functools import lru_cache

_QUOTED = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")""")
_SCALAR_MAX_MIN = re.compile(r"\b(MAX|MIN)\(([^()]*,[^()]*)\)", re.IGNORECASE)
_SCALAR_NAMES = {"max": "GREATEST", "min": "LEAST"}


@lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> str:
    """`sql` (the storage modules' shared dialect) as PostgreSQL reads it; see the module's docstring."""
    pieces = _QUOTED.split(sql)
    for i in range(0, len(pieces), 2):  # even pieces are outside quotes
        pieces[i] = _SCALAR_MAX_MIN.sub(lambda m: f"{_SCALAR_NAMES[m.group(1).lower()]}({m.group(2)})",
                                        pieces[i])
    return numbered_placeholders("".join(pieces))


@lru_cache(maxsize=1024)
def numbered_placeholders(sql: str) -> str:
    """`sql` with its n-th `?` (outside quotes) written `$n`."""
    count = 0
    pieces = _QUOTED.split(sql)
    for i in range(0, len(pieces), 2):  # even pieces are outside quotes
        if "?" not in pieces[i]:
            continue
        out = []
        for char in pieces[i]:
            if char == "?":
                count += 1
                out.append(f"${count}")
            else:
                out.append(char)
        pieces[i] = "".join(out)
    return "".join(pieces)


def rows_changed(status: str) -> int:
    """The row count of asyncpg's command status ("UPDATE 3", "INSERT 0 1", "DELETE 0"); 0 for DDL."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
