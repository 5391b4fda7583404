"""The oracle the renderer is measured against: the fewest messages any release of a chapter can use.

Used by the renderer's tests and by `bench/bench_render.py`; the bot itself never needs it.
"""

from __future__ import annotations

from bot.story.model import Chapter
from bot.text import MAX_CONTENT, MAX_EMBEDS, MAX_EMBEDS_TOTAL, discord_len, escape_markdown


def message_lower_bound(chapter: Chapter) -> int:
    """The fewest messages any order-keeping release of `chapter` can use under Discord's limits.

    Sound because it counts only what every such release must send:
    * E, the escaped text of the threadmark, the title and every block (captions and notes included);
      a message carries at most 2,000 chars of content plus 6,000 across its embeds.
    * The first message opens with the header and shows its content above its embeds, so its content
      can only hold text from before the chapter's first picture with a URL (run0): it carries at most
      min(2,000, run0) + 6,000. Every later message carries at most 8,000.
    * An embed shows one image and a message has at most 10 embeds: ceil(pictures with a URL / 10).
    """
    def size(text: str) -> int:
        return discord_len(escape_markdown(text.strip()))

    total = size(chapter.threadmark) + size(chapter.title) + sum(size(b.text) for b in chapter.blocks)
    run0 = size(chapter.threadmark) + size(chapter.title)
    for block in chapter.story_blocks:
        if block.kind == "picture" and block.image_url:
            break
        run0 += size(block.text)
    first = min(MAX_CONTENT, run0) + MAX_EMBEDS_TOTAL
    by_text = 1 + max(0, -(-(total - first) // (MAX_CONTENT + MAX_EMBEDS_TOTAL)))
    pictures = sum(1 for b in chapter.blocks if b.kind == "picture" and b.image_url)
    return max(by_text, -(-pictures // MAX_EMBEDS))
