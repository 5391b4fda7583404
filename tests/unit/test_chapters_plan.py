"""`bot.chapters.plan`: what a release stores and sends on top of the rendered messages."""

from __future__ import annotations

from bot.chapters.plan import ALERT_ID, allowed_role_ids, release_plan
from bot.text import MAX_CONTENT

RENDERED = [
    {"content": "# Title\n-# Chapter 1 of 6", "embeds": [{"description": "a"}],
     "allowed_mentions": {"parse": []}},
    {"content": "", "embeds": [{"description": "b"}], "allowed_mentions": {"parse": []}},
]


def ids(payload: dict) -> list[str]:
    return [c["custom_id"] for row in payload.get("components") or [] for c in row["components"]]


def test_without_an_alert_role_nothing_pings_and_the_last_part_carries_read() -> None:
    plan = release_plan(RENDERED, number=3)
    assert [p["content"] for p in plan] == [m["content"] for m in RENDERED]
    assert [p["embeds"] for p in plan] == [m["embeds"] for m in RENDERED]
    assert all(p["allowed_mentions"] == {"parse": []} for p in plan)
    assert [ids(p) for p in plan] == [[], ["aar:readmark:3"]]
    assert all(allowed_role_ids(p) == [] for p in plan)


def test_the_alert_role_is_the_first_line_of_part_0_and_the_only_mention_allowed() -> None:
    plan = release_plan(RENDERED, number=2, alert_role_id=42)
    assert plan[0]["content"] == "<@&42>\n" + RENDERED[0]["content"]
    assert plan[0]["allowed_mentions"] == {"parse": [], "roles": ["42"]}
    assert allowed_role_ids(plan[0]) == [42]
    assert plan[1]["allowed_mentions"] == {"parse": []}
    assert [ids(p) for p in plan] == [[ALERT_ID], ["aar:readmark:2"]]


def test_a_single_part_carries_both_buttons_in_one_row() -> None:
    plan = release_plan(RENDERED[:1], number=1, alert_role_id=42)
    assert ids(plan[0]) == [ALERT_ID, "aar:readmark:1"] and len(plan[0]["components"]) == 1


def test_a_mention_that_does_not_fit_goes_out_first_on_its_own() -> None:
    full = [{"content": "x" * MAX_CONTENT, "embeds": []}]
    plan = release_plan(full, number=1, alert_role_id=42)
    assert [p["content"] for p in plan] == ["<@&42>", "x" * MAX_CONTENT]
    assert plan[1]["allowed_mentions"] == {"parse": []}


def test_the_rendered_messages_are_not_changed() -> None:
    before = repr(RENDERED)
    release_plan(RENDERED, number=1, alert_role_id=42)
    assert repr(RENDERED) == before
