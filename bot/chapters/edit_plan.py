"""Bringing a released chapter's messages in step with the author's edit: what to change, decided purely.

When a re-import changes a chapter a server has already released, the messages it posted should read as
the new text does, without disturbing the channel (issue 14):

- each message already out is kept when it already shows what the new render has in its place, edited in
  place otherwise (Discord keeps its id, its reactions and the discussion thread opened from it);
- when the new text needs fewer messages, the spare ones are edited to a short "(moved up)" line, never
  deleted: a deleted message takes its reactions (the chapter's likes) and any thread opened from it along;
- when it needs more, the extra parts go into the chapter's discussion thread (or forum post) after a
  note, never into the channel, where later chapters may already follow.

A plan compares and produces whole payloads (`content`, `embeds`, `components`, `allowed_mentions`), so the
caller decides what a message carries: the release engine passes its release plans
(`bot.chapters.plan.stored_plan` for what went out, `release_plan` of the new render with the alert role
frozen at the release), and the alert mention and the buttons follow the text.  An edit lists every field
(`embeds: []`, `components: []` included), since Discord keeps whatever an edit leaves out.

Resumable: parts an earlier edit added to the discussion are passed back in (`posted_extras`, and
`note_posted` once the note is out) and are edited like the posted ones, so planning again after a crash
part-way, or for a later edit, changes only what still differs and never posts a part twice; the caller
journals each edit and extra part as a release journals its parts.  Discord-free: dicts in, dicts out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.text import MAX_CONTENT, MAX_DESCRIPTION, MAX_EMBEDS, MAX_EMBEDS_TOTAL, MAX_TITLE, discord_len

Payload = dict[str, Any]
Action = Literal["unchanged", "edit", "moved_up"]

MOVED_UP = "(moved up)"
NO_MENTIONS: dict[str, Any] = {"parse": []}
VISIBLE = ("content", "embeds", "components")  # what a reader sees of a message, and what an edit sets


@dataclass(frozen=True)
class Slot:
    """A message already out: part `index` of the release (`posted`), or of an earlier edit's extras."""

    where: Literal["posted", "extra"]
    index: int


@dataclass(frozen=True)
class PartChange:
    """What happens to one message already out; `payload` is what it shows afterwards.

    `unchanged`: it already shows its part of the new text; `edit`: it is edited to show it; `moved_up`: the
    new text needs no message here, and it shows the "(moved up)" line (`needs_edit` when not already).
    """

    slot: Slot
    action: Action
    payload: Payload
    needs_edit: bool


@dataclass(frozen=True)
class EditPlan:
    """Every message already out, in reading order, and what is sent after them into the discussion."""

    changes: tuple[PartChange, ...]  # the posted parts, then the extras of earlier edits
    note: Payload | None  # sent before `extras` (None: no extras, or an earlier edit already said it)
    extras: tuple[Payload, ...]

    @property
    def edits(self) -> list[PartChange]:
        """The messages to edit, in reading order (one already showing what it should needs no request)."""
        return [c for c in self.changes if c.needs_edit]

    @property
    def reading(self) -> list[Payload]:
        """The chapter as a reader finds it after the plan: the parts that carry text, in order."""
        return [c.payload for c in self.changes if c.action != "moved_up"] + list(self.extras)

    def messages(self) -> list[Payload]:
        """Every payload the plan edits or sends."""
        return [c.payload for c in self.edits] + ([self.note] if self.note else []) + list(self.extras)


def plan_edit(posted: Sequence[Payload], new: Sequence[Payload], *, number: int,
              posted_extras: Sequence[Payload] = (), note_posted: bool = False) -> EditPlan:
    """The plan that makes the messages of chapter `number` (`posted`, then the `posted_extras` an earlier
    edit sent to the discussion) read as `new`, the messages a release of the edited chapter would send.

    The note goes out once, before the first extra part ever sent: `note_posted` says it is already out (a
    plan resumed after the note was sent but before any extra part was).

    Raises ValueError when `new` is empty or breaks a Discord limit: a plan never asks Discord for what it
    would refuse half-way through.
    """
    if not new:
        raise ValueError("an edited chapter renders to at least one message")
    for index, payload in enumerate(new):
        wrong = limit_problems(payload)
        if wrong:
            raise ValueError(f"new part {index}: {'; '.join(wrong)}")
    slots = [(Slot("posted", i), p) for i, p in enumerate(posted)]
    slots += [(Slot("extra", i), p) for i, p in enumerate(posted_extras)]
    changes = []
    for position, (slot, current) in enumerate(slots):
        spare = position >= len(new)
        target = moved_up() if spare else complete(new[position])
        same = visible(current) == visible(target)
        action: Action = "moved_up" if spare else "unchanged" if same else "edit"
        changes.append(PartChange(slot, action, complete(current) if same else target, not same))
    extras = tuple(complete(p) for p in new[len(slots):])
    note = continued_note(number) if extras and not posted_extras and not note_posted else None
    return EditPlan(tuple(changes), note, extras)


def complete(payload: Payload) -> Payload:
    """`payload` with every field an edit must set: what it leaves out, Discord would keep from before."""
    return {"content": payload.get("content") or "", "embeds": list(payload.get("embeds") or []),
            "components": list(payload.get("components") or []),
            "allowed_mentions": dict(payload.get("allowed_mentions") or NO_MENTIONS)}


def visible(payload: Payload) -> tuple[Any, ...]:
    """What a reader sees of a message: two payloads equal here need no edit."""
    full = complete(payload)
    return tuple(full[key] for key in VISIBLE)


def moved_up() -> Payload:
    """A spare message: its text now lives in an earlier one."""
    return complete({"content": MOVED_UP})


def continued_note(number: int) -> Payload:
    """The line before the extra parts in the discussion, so a reader knows where they belong."""
    return complete({"content": f"*The author's edit made chapter {number} longer than the messages posted "
                                "for it: it continues here.*"})


def limit_problems(payload: Payload) -> list[str]:
    """What in `payload` breaks the limits the renderer packs to (counted as it counts, in UTF-16 units;
    the 6,000 across a message's embeds as Discord counts them: titles, descriptions, fields, footers and
    authors)."""
    problems = []
    content = payload.get("content") or ""
    embeds = payload.get("embeds") or []
    if not content and not embeds:
        problems.append("an empty message")
    if discord_len(content) > MAX_CONTENT:
        problems.append(f"content of {discord_len(content)} (at most {MAX_CONTENT})")
    if len(embeds) > MAX_EMBEDS:
        problems.append(f"{len(embeds)} embeds (at most {MAX_EMBEDS})")
    total = 0
    for number, embed in enumerate(embeds, 1):
        title, description = embed.get("title") or "", embed.get("description") or ""
        if discord_len(title) > MAX_TITLE:
            problems.append(f"embed {number}: title of {discord_len(title)} (at most {MAX_TITLE})")
        if discord_len(description) > MAX_DESCRIPTION:
            problems.append(f"embed {number}: description of {discord_len(description)} "
                            f"(at most {MAX_DESCRIPTION})")
        total += discord_len(title) + discord_len(description)
        total += discord_len((embed.get("footer") or {}).get("text") or "")
        total += discord_len((embed.get("author") or {}).get("name") or "")
        total += sum(discord_len(f.get("name") or "") + discord_len(f.get("value") or "")
                     for f in embed.get("fields") or [])
    if total > MAX_EMBEDS_TOTAL:
        problems.append(f"embeds of {total} in all (at most {MAX_EMBEDS_TOTAL})")
    return problems
