"""What a release posts, exactly: the rendered messages plus what only the channel's copy carries.

The release engine stores the rendered messages once per chapter and, with each release, the inputs of
this plan as they were when it began (`bot.storage.release_log.StoredPlan`); `stored_plan` rebuilds the
plan from them, deterministically, so a resumed release sends the same thing, and `aar-bot preview`
prints the same plan.  On top of the
rendered story (`bot.chapters.render.render_chapter`, which is also what `/chapter read` pages through):

- the alert role's mention as the first line of the first message, when the server named one in
  `/aar setup alert_role:` (and the 🔔 button beside it, to opt in or out); the message's
  `allowed_mentions` allows exactly that role, so the line can ping nothing else.  When the mention
  does not fit the first message's content, it goes out as a message of its own in front;
- the ✅ Read button on the last message, which marks the chapter read for the member who presses it.

Buttons are Discord component JSON whose custom_ids the cogs' persistent `DynamicItem`s answer, also
after a restart.  Discord-free: ids in, dicts out.
"""

from __future__ import annotations

from typing import Any

from bot.storage.release_log import StoredPlan
from bot.text import MAX_CONTENT, discord_len

Payload = dict[str, Any]

READ_ID = "aar:readmark:{number}"   # ✅ Read under the last part (cogs/chapters.py answers it)
ALERT_ID = "aar:alerts:toggle"      # 🔔 under the first part (cogs/alerts.py answers it)
NO_MENTIONS: dict[str, Any] = {"parse": []}


def read_button(number: int) -> dict[str, Any]:
    return {"type": 2, "style": 3, "label": "Read", "emoji": {"name": "✅"},
            "custom_id": READ_ID.format(number=number)}


def alert_button() -> dict[str, Any]:
    return {"type": 2, "style": 2, "label": "Release alerts", "emoji": {"name": "🔔"}, "custom_id": ALERT_ID}


def role_mention(role_id: int) -> str:
    return f"<@&{role_id}>"


def release_plan(messages: list[Payload], *, number: int, alert_role_id: int | None = None) -> list[Payload]:
    """The messages a release of chapter `number` posts, as stored and sent: `content`, `embeds`,
    `components` and `allowed_mentions` (none, or exactly the alert role)."""
    plan: list[Payload] = []
    for message in messages:
        out: Payload = {"content": message.get("content") or "", "embeds": list(message.get("embeds") or []),
                        "allowed_mentions": dict(NO_MENTIONS)}
        plan.append(out)
    if not plan:
        return plan
    if alert_role_id is not None:
        mention = role_mention(alert_role_id)
        first = plan[0]
        if discord_len(mention) + 1 + discord_len(first["content"]) <= MAX_CONTENT:
            first["content"] = f"{mention}\n{first['content']}" if first["content"] else mention
        else:
            first = {"content": mention, "embeds": []}
            plan.insert(0, first)
        first["allowed_mentions"] = {"parse": [], "roles": [str(alert_role_id)]}
        first["components"] = [{"type": 1, "components": [alert_button()]}]
    last = plan[-1]
    row = last["components"][0]["components"] if last.get("components") else None
    if row is not None:
        row.append(read_button(number))
    else:
        last["components"] = [{"type": 1, "components": [read_button(number)]}]
    return plan


def stored_plan(stored: StoredPlan, *, number: int) -> list[Payload]:
    """The messages a release of chapter `number` sends, from what it stored: its render and the alert role
    frozen when it was claimed, or (`planned`: stored whole, before V12) the plan itself."""
    if stored.planned:
        return stored.payloads
    return release_plan(stored.payloads, number=number, alert_role_id=stored.alert_role_id)


def allowed_role_ids(payload: Payload) -> list[int]:
    """The role ids a stored payload may ping (none for plans stored before alerts existed)."""
    mentions = payload.get("allowed_mentions") or {}
    return [int(role) for role in mentions.get("roles") or []]
