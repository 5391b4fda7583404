"""`bot.chapters.edit_plan`: bringing a released chapter's messages in step with the author's edit.

Examples first, then properties (Hypothesis) over two kinds of input: small payloads, where whole parts
repeat and move, and real releases of the shipped chapters before and after random edits, rendered and
planned as the release engine does.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.chapters.edit_plan import (
    MOVED_UP,
    EditPlan,
    complete,
    limit_problems,
    moved_up,
    plan_edit,
    visible,
)
from bot.chapters.plan import release_plan
from bot.chapters.render import render_chapter
from bot.config import SHIPPED_THREAD
from bot.story.model import Block, Chapter
from bot.story.parser import parse_thread
from bot.text import MAX_CONTENT

Payload = dict[str, Any]
CHAPTERS = parse_thread(Path(SHIPPED_THREAD).read_text(encoding="utf-8")).chapters
TOTAL = len(CHAPTERS)


def text(content: str, *descriptions: str) -> Payload:
    return {"content": content, "embeds": [{"description": d} for d in descriptions],
            "allowed_mentions": {"parse": []}}


A, B, C, D = text("a"), text("b", "pic"), text("c"), text("d")


def actions(plan: EditPlan) -> list[str]:
    return [c.action for c in plan.changes]


def test_an_unchanged_chapter_plans_nothing() -> None:
    plan = plan_edit([A, B, C], [A, B, C], number=2)
    assert actions(plan) == ["unchanged"] * 3 and not plan.edits and not plan.extras and plan.note is None
    # spare messages already moved up stay as they are
    plan = plan_edit([A, B, moved_up()], [A, B], number=2)
    assert actions(plan) == ["unchanged", "unchanged", "moved_up"] and not plan.edits


def test_changed_parts_are_edited_in_place_with_every_field_set() -> None:
    plan = plan_edit([A, B, C], [A, text("b2"), C], number=2)
    assert actions(plan) == ["unchanged", "edit", "unchanged"]
    # an edit clears the embed the part had: Discord keeps whatever an edit leaves out
    assert plan.edits[0].payload == {"content": "b2", "embeds": [], "components": [],
                                     "allowed_mentions": {"parse": []}}


def test_a_shorter_chapter_moves_up_and_never_deletes() -> None:
    plan = plan_edit([A, B, C, D], [A, text("bc")], number=4)
    assert actions(plan) == ["unchanged", "edit", "moved_up", "moved_up"]
    assert [c.payload["content"] for c in plan.changes[2:]] == [MOVED_UP, MOVED_UP]
    assert all(c.payload["embeds"] == [] and c.payload["components"] == [] for c in plan.changes[2:])
    assert not plan.extras and plan.note is None
    assert plan.reading == [complete(A), complete(text("bc"))]


def test_a_longer_chapter_continues_in_the_discussion_after_a_note() -> None:
    plan = plan_edit([A, B], [A, B, C, D], number=3)
    assert actions(plan) == ["unchanged", "unchanged"]
    assert plan.extras == (complete(C), complete(D))
    assert plan.note is not None and "chapter 3" in plan.note["content"]
    assert plan.note["allowed_mentions"] == {"parse": []} and not limit_problems(plan.note)
    # resumed after the note went out but before the first extra part did: no second note
    assert plan_edit([A, B], [A, B, C, D], number=3, note_posted=True).note is None


def test_parts_an_earlier_edit_added_are_edited_like_the_posted_ones() -> None:
    # the first edit made the chapter longer: C and D went to the discussion
    first = plan_edit([A, B], [A, B, C, D], number=3)
    # a second edit makes it one part longer still: C, D are kept or edited, one more follows, no second note
    second = plan_edit([A, B], [A, B, C, text("d2"), text("e")], number=3, posted_extras=first.extras)
    assert [(c.slot.where, c.slot.index, c.action) for c in second.changes] == [
        ("posted", 0, "unchanged"), ("posted", 1, "unchanged"),
        ("extra", 0, "unchanged"), ("extra", 1, "edit")]
    assert second.extras == (complete(text("e")),) and second.note is None
    # a third makes it short: the extras move up too
    third = plan_edit([A, B], [text("all")], number=3, posted_extras=[*first.extras, *second.extras])
    assert actions(third) == ["edit", "moved_up", "moved_up", "moved_up", "moved_up"]


def test_the_buttons_and_the_alert_mention_follow_the_new_plan() -> None:
    posted = release_plan([A, B, C], number=5, alert_role_id=42)
    new = release_plan([A, text("bc")], number=5, alert_role_id=42)
    plan = plan_edit(posted, new, number=5)
    assert actions(plan) == ["unchanged", "edit", "moved_up"]
    assert plan.changes[0].payload["content"].startswith("<@&42>\n")  # the mention line is kept as it was
    assert "aar:readmark:5" in repr(plan.changes[1].payload["components"])  # ✅ Read moves to the new last
    assert plan.changes[2].payload["components"] == []


def test_a_new_render_over_a_limit_or_empty_is_refused() -> None:
    with pytest.raises(ValueError, match="content of 2001"):
        plan_edit([A], [text("x" * (MAX_CONTENT + 1))], number=1)
    with pytest.raises(ValueError, match="at least one message"):
        plan_edit([A], [], number=1)
    two_long = {"content": "", "embeds": [{"description": "d" * 4000, "title": "t" * 300}] * 2}
    assert limit_problems(two_long) == ["embed 1: title of 300 (at most 256)",
                                        "embed 2: title of 300 (at most 256)",
                                        "embeds of 8600 in all (at most 6000)"]


# --- properties -------------------------------------------------------------------------------------


def check(plan: EditPlan, posted: list[Payload], new: list[Payload], posted_extras: list[Payload]) -> None:
    """What every plan must satisfy."""
    slots = [*posted, *posted_extras]
    # read in order, posted parts then extras, the messages are the new render
    assert plan.reading == [complete(p) for p in new]
    # one change per message already out, in order; nothing is deleted
    assert [(c.slot.where, c.slot.index) for c in plan.changes] == \
        [("posted", i) for i in range(len(posted))] + [("extra", i) for i in range(len(posted_extras))]
    for position, (change, current) in enumerate(zip(plan.changes, slots, strict=True)):
        target = new[position] if position < len(new) else moved_up()
        assert change.action == ("moved_up" if position >= len(new) else
                                 "unchanged" if visible(current) == visible(target) else "edit")
        if visible(current) == visible(target):  # a part that already reads right is not edited
            assert not change.needs_edit and change.payload == complete(current)
        else:
            assert change.needs_edit and visible(change.payload) == visible(target)
    assert sum(c.action == "moved_up" for c in plan.changes) == max(0, len(slots) - len(new))
    assert len(plan.extras) == max(0, len(new) - len(slots))
    assert (plan.note is not None) == (bool(plan.extras) and not posted_extras)
    # no planned message breaks a limit the renderer packs to
    for message in plan.messages():
        assert limit_problems(message) == [], message
    # planned again once carried out (a resume after a crash, or the same edit imported twice): nothing to do
    after = [c.payload for c in plan.changes]
    again = plan_edit(after[:len(posted)], new, number=1,
                      posted_extras=[*after[len(posted):], *plan.extras])
    assert not again.edits and not again.extras and again.note is None


def _payload(content: str, descriptions: list[str], button: dict[str, Any] | None) -> Payload:
    payload = text(content, *(descriptions if content or descriptions else ["pic"]))  # never empty
    if button:
        payload["components"] = [{"type": 1, "components": [button]}]
    return payload


small_payloads = st.builds(
    _payload,
    st.sampled_from(["", "a", "b", "# Title", MOVED_UP, "ü" * 1000]),
    st.lists(st.sampled_from(["pic", "caption", "x" * 3000]), max_size=2),  # at most 6,000 in all
    st.none() | st.just({"type": 2, "style": 3, "label": "Read", "custom_id": "aar:readmark:1"}),
)


@given(posted=st.lists(small_payloads, max_size=6), new=st.lists(small_payloads, min_size=1, max_size=8),
       posted_extras=st.lists(small_payloads, max_size=3))
def test_any_plan_reads_as_the_new_render_edits_only_what_differs_and_fits(
        posted: list[Payload], new: list[Payload], posted_extras: list[Payload]) -> None:
    before = copy.deepcopy((posted, new, posted_extras))
    plan = plan_edit(posted, new, number=1, posted_extras=posted_extras)
    check(plan, posted, new, posted_extras)
    assert (posted, new, posted_extras) == before  # the inputs are not changed


@st.composite
def edited_chapters(draw: st.DrawFn) -> tuple[int, Chapter, Chapter]:
    """A shipped chapter and an edit of it: blocks dropped, repeated, rewritten, or added."""
    number = draw(st.integers(1, TOTAL))
    chapter = CHAPTERS[number - 1]
    blocks = list(chapter.blocks)
    for _ in range(draw(st.integers(0, 6))):
        what = draw(st.sampled_from(["drop", "repeat", "rewrite", "add", "picture"]))
        at = draw(st.integers(0, max(0, len(blocks) - 1)))
        if what == "drop" and blocks:
            del blocks[at:at + draw(st.integers(1, len(blocks)))]
        elif what == "repeat" and blocks:
            blocks[at:at] = blocks[at:at + draw(st.integers(1, 30))]
        elif what == "rewrite" and blocks and blocks[at].kind == "paragraph":
            blocks[at] = Block("paragraph", draw(st.text(min_size=1, max_size=3000)))
        elif what == "add":
            blocks.insert(at, Block("paragraph", draw(st.sampled_from(["A new sentence.", "x" * 5000]))))
        elif what == "picture":
            blocks.insert(at, Block("picture", draw(st.sampled_from(["", "A caption."])), "p.png",
                                    "https://example.com/p.png"))
    return number, chapter, dataclasses.replace(chapter, blocks=blocks)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit=edited_chapters(), alert_role_id=st.none() | st.just(42))
def test_real_releases_edited_at_random(edit: tuple[int, Chapter, Chapter],
                                        alert_role_id: int | None) -> None:
    number, before, after = edit
    posted = release_plan(render_chapter(before, number=number, total=TOTAL), number=number,
                          alert_role_id=alert_role_id)
    new = release_plan(render_chapter(after, number=number, total=TOTAL), number=number,
                       alert_role_id=alert_role_id)
    plan = plan_edit(posted, new, number=number)
    event("fewer parts" if len(new) < len(posted) else "more parts" if len(new) > len(posted) else "as many")
    event("some parts unchanged" if len(plan.edits) < len(plan.changes) else "every part edited")
    check(plan, posted, new, [])
    # a chapter edited back to what was posted is nothing to do
    assert not plan_edit(posted, posted, number=number).edits
