"""Release alerts end to end: `/aar setup alert_role:`, `/alerts on|off`, the 🔔 button under a release, and
a release that mentions the alert role and nothing else.  The fake Discord hands out roles as Discord
does (Manage Roles and the role order, else 403 50013).
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from bot.chapters.plan import ALERT_ID
from bot.config import Settings
from bot.storage import alerts as alert_store
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.fakediscord.models import MANAGE_ROLES, Member, Role
from tests.helpers import SEED_CHAPTERS, final_answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

MESSAGES = r"^/channels/\d+/messages$"


def alert_role(fake: FakeDiscord, setup: GuildSetup, *, manage_roles: bool = True,
               below_bot: bool = True) -> Role:
    """The alert role, made before the bot starts (so its cache knows it); the bot's role set up as asked."""
    role = fake.add_role(setup.guild, "Chapter alerts")
    bot_role = setup.guild.role("AAR Bot")
    if manage_roles:
        bot_role.permissions |= MANAGE_ROLES
    role.position = bot_role.position - 1 if below_bot else bot_role.position + 1
    return role


async def run(fake: FakeDiscord, setup: GuildSetup, command: str, member: Member, **options: Any) -> dict:
    record = await fake.invoke(command, guild=setup.guild, channel=setup.general, member=member,
                               options=options)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL
    return message


async def release(fake: FakeDiscord, setup: GuildSetup, number: int) -> list[dict[str, Any]]:
    """`/chapter next` by the moderator; the release's messages in the story channel."""
    before = len(fake.history(setup.story))
    record = await fake.invoke("chapter next", guild=setup.guild, channel=setup.story, member=setup.moderator)
    answer = await final_answer(record)
    assert f"Released chapter {number} of {SEED_CHAPTERS}" in answer["content"]
    return fake.history(setup.story)[before:]


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row["components"]]


async def click(fake: FakeDiscord, message: dict[str, Any], custom_id: str, member: Member) -> str:
    record = await fake.click(message, custom_id, member=member)
    response = await record.wait_response()
    assert response["type"] == 4 and response["data"]["flags"] & EPHEMERAL
    return str(response["data"]["content"])


def sends(fake: FakeDiscord, since: int = 0) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests_to("POST", MESSAGES)[since:] if r.status == 200]


def pings_only(body: dict[str, Any], role: Role | None) -> bool:
    return body["allowed_mentions"] == ({"parse": [], "roles": [str(role.id)]} if role else {"parse": []})


async def test_members_opt_in_and_out_and_a_release_pings_exactly_the_alert_role(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    role = alert_role(fake_discord, guild_setup)
    member, moderator = guild_setup.member, guild_setup.moderator
    bot = await bot_factory()

    # A plain member cannot set it; before it is set, /alerts says so.
    refused = await run(fake_discord, guild_setup, "aar setup", member, alert_role=role)
    assert "moderator" in refused["content"].lower()
    assert "no release alerts" in (await run(fake_discord, guild_setup, "alerts on", member))["content"]
    message = await run(fake_discord, guild_setup, "aar setup", moderator, alert_role=role)
    assert not message["content"]  # the bot can hand the role out: no note
    assert f"<@&{role.id}>" in str(message["embeds"])

    text = (await run(fake_discord, guild_setup, "alerts on", member))["content"]
    assert text.startswith("🔔 You now get release alerts") and role in member.roles
    assert "already" in (await run(fake_discord, guild_setup, "alerts on", member))["content"]

    posted = await release(fake_discord, guild_setup, 1)
    first, last = posted[0], posted[-1]
    assert first["content"].startswith(f"<@&{role.id}>\n# ")
    assert custom_ids(first)[0] == ALERT_ID and custom_ids(last)[-1] == "aar:readmark:1"
    bodies = sends(fake_discord)
    assert pings_only(bodies[0], role) and all(pings_only(b, None) for b in bodies[1:])
    assert sum(f"<@&{role.id}>" in b["content"] for b in bodies) == 1

    # 🔔 toggles: the moderator opts in, the member out; /alerts off when already off says so.
    assert (await click(fake_discord, first, ALERT_ID, moderator)).startswith("🔔")
    assert (await click(fake_discord, first, ALERT_ID, member)).startswith("🔕")
    assert role in moderator.roles and role not in member.roles
    assert "don't get" in (await run(fake_discord, guild_setup, "alerts off", member))["content"]
    assert (await run(fake_discord, guild_setup, "alerts off", moderator))["content"].startswith("🔕")
    assert fake_discord.role_changes == [("PUT", member.id, role.id), ("PUT", moderator.id, role.id),
                                         ("DELETE", member.id, role.id), ("DELETE", moderator.id, role.id)]

    # The button keeps working after a restart.
    await bot.close()
    await bot_factory()
    assert (await click(fake_discord, first, ALERT_ID, member)).startswith("🔔")


async def test_without_an_alert_role_a_release_pings_no_one(seeded: Settings, bot_factory,
                                                            fake_discord: FakeDiscord,
                                                            guild_setup: GuildSetup) -> None:
    await bot_factory()
    posted = await release(fake_discord, guild_setup, 1)
    assert all(pings_only(b, None) for b in sends(fake_discord))
    assert custom_ids(posted[0]) == [] or ALERT_ID not in custom_ids(posted[0])
    text = await click(fake_discord, posted[-1], "aar:readmark:1", guild_setup.member)
    assert "Marked chapter 1 as read" in text


@pytest.mark.parametrize(("manage_roles", "below_bot", "named"), [
    (False, True, "Manage Roles"), (True, False, "highest role is not above")])
async def test_what_the_bot_lacks_is_named_and_the_release_still_goes_out(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        manage_roles: bool, below_bot: bool, named: str) -> None:
    role = alert_role(fake_discord, guild_setup, manage_roles=manage_roles, below_bot=below_bot)
    await bot_factory()
    note = (await run(fake_discord, guild_setup, "aar setup", guild_setup.moderator,
                      alert_role=role))["content"]
    assert named in note and "Releases still go out" in note
    text = (await run(fake_discord, guild_setup, "alerts on", guild_setup.member))["content"]
    assert named in text and "tell a moderator" in text and role not in guild_setup.member.roles
    posted = await release(fake_discord, guild_setup, 1)
    assert posted[0]["content"].startswith(f"<@&{role.id}>")
    assert named in await click(fake_discord, posted[0], ALERT_ID, guild_setup.member)
    assert fake_discord.role_changes == []


async def test_everyone_cannot_be_the_alert_role(seeded: Settings, bot_factory, fake_discord: FakeDiscord,
                                                 guild_setup: GuildSetup) -> None:
    await bot_factory()
    message = await run(fake_discord, guild_setup, "aar setup", guild_setup.moderator,
                        alert_role=guild_setup.guild.everyone)
    assert "not @everyone" in message["content"]
    posted = await release(fake_discord, guild_setup, 1)
    assert all(pings_only(b, None) for b in sends(fake_discord)) and posted


# --- a direct message per release --------------------------------------------------------------------------

def dms(fake: FakeDiscord, member: Member) -> list[dict[str, Any]]:
    channel = fake.dm_channels.get(member.id)
    return fake.history(channel) if channel is not None else []


async def test_dm_alerts_come_after_the_release_and_closed_dms_switch_back_once(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    bot.get_cog("Alerts").dm_pace = 0.01
    member, moderator = guild_setup.member, guild_setup.moderator
    fake_discord.closed_dms.add(moderator.id)

    # Opting in sends a first DM at once: a closed inbox is found and said now, and nothing is stored.
    record = await fake_discord.invoke("alerts dm", guild=guild_setup.guild, channel=guild_setup.general,
                                       member=moderator)
    [answer] = await record.wait_followups(1)
    assert answer["flags"] & EPHEMERAL and "can't send you direct messages" in answer["content"]
    record = await fake_discord.invoke("alerts dm", guild=guild_setup.guild, channel=guild_setup.general,
                                       member=member)
    [answer] = await record.wait_followups(1)
    assert answer["content"].startswith("📬") and len(dms(fake_discord, member)) == 1
    assert "already" in (await run(fake_discord, guild_setup, "alerts dm", member))["content"]

    # A release: its messages first, then the DM (with the chapter's link), pinging no one.
    sent = asyncio.ensure_future(bot.wait_for("release_dms_sent", timeout=10))
    posted = await release(fake_discord, guild_setup, 1)
    _guild, chapter, report = await sent
    assert (chapter, report.sent, report.switched_back) == (1, [member.id], [])
    dm = dms(fake_discord, member)[-1]
    assert "Chapter 1 of 6" in dm["content"] and posted[0]["id"] in dm["content"]
    paths = [r.path for r in fake_discord.requests if r.method == "POST" and "/messages" in r.path]
    dm_path = f"/channels/{fake_discord.dm_channels[member.id].id}/messages"
    story_path = f"/channels/{guild_setup.story.id}/messages"
    assert max(i for i, p in enumerate(paths) if p.endswith(story_path)) < len(paths) - 1
    assert paths[-1].endswith(dm_path)
    dm_bodies = [r.json for r in fake_discord.requests if r.path.endswith(dm_path)]
    assert all(b["allowed_mentions"] == {"parse": []} for b in dm_bodies)

    # The member closes their DMs: the next release's DM fails once and switches them back; no retries.
    fake_discord.closed_dms.add(member.id)
    for number in (2, 3):
        sent = asyncio.ensure_future(bot.wait_for("release_dms_sent", timeout=10))
        await release(fake_discord, guild_setup, number)
        _guild, _chapter, report = await sent
        assert report.sent == [] and report.switched_back == ([member.id] if number == 2 else [])
    refused = [r for r in fake_discord.requests if r.path.endswith(dm_path) and r.status == 403]
    assert len(refused) == 1 and len(dms(fake_discord, member)) == 2
    # Switched back: /alerts off finds no DM request left (and this server has no alert role).
    assert "no release alerts" in (await run(fake_discord, guild_setup, "alerts off", member))["content"]


async def test_alerts_off_stops_dms(seeded: Settings, bot_factory, fake_discord: FakeDiscord,
                                    guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    record = await fake_discord.invoke("alerts dm", guild=guild_setup.guild, channel=guild_setup.general,
                                       member=guild_setup.member)
    await record.wait_followups(1)
    text = (await run(fake_discord, guild_setup, "alerts off", guild_setup.member))["content"]
    assert text.startswith("📭")
    sent = asyncio.ensure_future(bot.wait_for("release_dms_sent", timeout=10))
    await release(fake_discord, guild_setup, 1)
    assert (await sent)[2].sent == [] and len(dms(fake_discord, guild_setup.member)) == 1


async def test_dms_a_stopped_process_still_owed_go_out_once_at_the_next_start(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    await release(fake_discord, guild_setup, 1)
    # As if the process stopped after the release and before its DMs: the member is still owed chapter 1.
    await alert_store.subscribe_dm(bot.db, guild_setup.guild.id, guild_setup.member.id, after_chapter=0,
                                   since="2026-01-01T00:00:00Z")
    await bot.close()
    bot = await bot_factory()
    await fake_discord.wait_for(lambda: len(dms(fake_discord, guild_setup.member)) == 1, timeout=10)
    assert "Chapter 1 of 6" in dms(fake_discord, guild_setup.member)[0]["content"]
    await asyncio.wait_for(asyncio.gather(*bot.get_cog("Alerts").dm_tasks), 10)
    await bot.close()
    bot = await bot_factory()
    await asyncio.wait_for(asyncio.gather(*bot.get_cog("Alerts").dm_tasks), 10)
    assert len(dms(fake_discord, guild_setup.member)) == 1


async def test_preview_with_guild_prints_exactly_what_a_release_there_sent(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    role = alert_role(fake_discord, guild_setup)
    await bot_factory()
    await run(fake_discord, guild_setup, "aar setup", guild_setup.moderator, alert_role=role)
    await release(fake_discord, guild_setup, 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))}
    where = ["--db", str(seeded.db_path)]
    if seeded.database_url:
        env["AAR_DATABASE_URL"], where = seeded.database_url, []
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "preview", "1", "--json", "--guild",
                         str(guild_setup.guild.id), *where],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)
    bodies = sends(fake_discord)
    assert len(planned) == len(bodies)
    for plan, body in zip(planned, bodies, strict=True):
        assert plan["content"] == body["content"]
        assert plan["embeds"] == body.get("embeds", [])
        assert plan["allowed_mentions"] == body["allowed_mentions"]
        assert plan.get("components", []) == body.get("components", [])
