"""How big an export the importer accepts: generous bounds a real AAR never reaches.

Without them a hostile or broken file costs what it likes: a 50 MB single-line "chapter" took 27 s and
1.6 GB to import, and a reaction count of twenty digits overflowed SQLite half-way through a write.
Each bound is checked before the work it protects, and crossing it is a one-line error naming it.

- `MAX_FILE_BYTES` (32 MiB): the shipped six-chapter thread is 80 KB, so this is room for some 2,400
  chapters with their comments. Checked from the file's size before it is read.
- `MAX_LINE_CHARS` (100,000): a line is a paragraph; the forum caps a whole post far below this, and
  the shipped thread's longest line is under 2,000 characters.
- `MAX_CHAPTERS` (1,000): the longest AARs on the forum run to a few hundred updates. Counted in the
  export, and again in the database after the import (a second thread imported on top adds up).
- `MAX_COMMENTS` (100,000): reader posts in one export. The busiest AAR threads have tens of thousands of
  replies; each is a row written in the import's one transaction (100,000 take about half a minute),
  and 32 MiB of one-word posts would otherwise be millions.
- `MAX_REACTION_COUNT` (1,000,000): a post's tally of one kind of reaction (`• 3Like`); the forum's most
  liked posts have a few thousand. A larger count is a broken export, not a popular chapter.
"""

from __future__ import annotations

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_LINE_CHARS = 100_000
MAX_CHAPTERS = 1_000
MAX_COMMENTS = 100_000
MAX_REACTION_COUNT = 1_000_000
