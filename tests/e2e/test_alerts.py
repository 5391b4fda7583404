"""Release alerts end to end: `/aar setup alert_role:`, `/alerts on|off`, the 🔔 button under a release, and
a release that mentions the alert role and nothing else.  The fake Discord hands out roles as Discord
does (Manage Roles and the role order, else 403 50013).
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

from typing import Any

import pytest

from bot.chapters.plan import ALERT_ID
from bot.config import Settings
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.fakediscord.models import MANAGE_ROLES, Member, Role
from tests.helpers import SEED_CHAPTERS

pytestmark = pytest.mark.timeout(60)

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
    [followup] = await record.wait_followups(1, timeout=20)
    assert f"Released chapter {number} of {SEED_CHAPTERS}" in followup["content"]
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
