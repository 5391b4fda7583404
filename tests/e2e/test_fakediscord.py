"""The fake Discord itself: Discord's limits (one over is rejected, the limit is accepted), interaction
rules, nonce dedupe, fault injection as discord.py experiences it, RESUME, and the test API."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest

from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup, TestApiError
from tests.fakediscord.validation import _option_chars

pytestmark = pytest.mark.timeout(30)


async def rest(fake: FakeDiscord, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as session, session.request(
            method, fake.api_base + path, json=body, headers=headers) as resp:
        data = await resp.json() if resp.headers.get("Content-Type") == "application/json" else None
        return resp.status, data


def assert_invalid(status: int, data: Any) -> None:
    assert status == 400, data
    assert data["code"] == 50035 and data["message"] == "Invalid Form Body" and data["errors"], data


# --- message limits --------------------------------------------------------------------------------

def embed(**kw: Any) -> dict[str, Any]:
    return {"description": "x"} | kw


MESSAGE_CASES = {
    "content": lambda n: {"content": "x" * n},
    "embed count": lambda n: {"embeds": [embed() for _ in range(n)]},
    "title": lambda n: {"embeds": [embed(title="t" * n)]},
    "description": lambda n: {"embeds": [{"description": "d" * n}]},
    "field count": lambda n: {"embeds": [embed(fields=[{"name": "n", "value": "v"}] * n)]},
    "field name": lambda n: {"embeds": [embed(fields=[{"name": "n" * n, "value": "v"}])]},
    "field value": lambda n: {"embeds": [embed(fields=[{"name": "n", "value": "v" * n}])]},
    "footer": lambda n: {"embeds": [embed(footer={"text": "f" * n})]},
    "author": lambda n: {"embeds": [embed(author={"name": "a" * n})]},
    "embeds total": lambda n: {"embeds": [{"description": "d" * 4000}, {"description": "d" * (n - 4000)}]},
    "action rows": lambda n: {"content": "c", "components": [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"r{i}"}]}
        for i in range(n)]},
    "buttons per row": lambda n: {"content": "c", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "b", "custom_id": f"b{i}"} for i in range(n)]}]},
    "custom_id": lambda n: {"content": "c", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "b", "custom_id": "c" * n}]}]},
}
MESSAGE_LIMITS = {"content": 2000, "embed count": 10, "title": 256, "description": 4096, "field count": 25,
                  "field name": 256, "field value": 1024, "footer": 2048, "author": 256, "embeds total": 6000,
                  "action rows": 5, "buttons per row": 5, "custom_id": 100}


@pytest.mark.parametrize("case", sorted(MESSAGE_CASES))
async def test_message_limits(fake_discord: FakeDiscord, guild_setup: GuildSetup, case: str) -> None:
    limit = MESSAGE_LIMITS[case]
    path = f"/channels/{guild_setup.general.id}/messages"
    status, data = await rest(fake_discord, "POST", path, MESSAGE_CASES[case](limit))
    assert status == 200, data
    assert_invalid(*await rest(fake_discord, "POST", path, MESSAGE_CASES[case](limit + 1)))
    assert len(fake_discord.history(guild_setup.general)) == 1


async def test_message_edit_is_validated_too(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    path = f"/channels/{guild_setup.general.id}/messages"
    _, msg = await rest(fake_discord, "POST", path, {"content": "hi"})
    assert_invalid(*await rest(fake_discord, "PATCH", f"{path}/{msg['id']}", {"content": "x" * 2001}))
    status, edited = await rest(fake_discord, "PATCH", f"{path}/{msg['id']}", {"content": "x" * 2000})
    assert status == 200 and edited["edited_timestamp"]


async def test_an_edit_that_empties_a_message_or_touches_an_archived_thread_is_refused(
        fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    path = f"/channels/{guild_setup.general.id}/messages"
    _, msg = await rest(fake_discord, "POST", path, {"content": "hi", "embeds": [embed(description="d")]})
    status, data = await rest(fake_discord, "PATCH", f"{path}/{msg['id']}", {"content": "", "embeds": []})
    assert status == 400 and data["code"] == 50006
    status, edited = await rest(fake_discord, "PATCH", f"{path}/{msg['id']}", {"content": ""})  # embed stays
    assert status == 200 and edited["embeds"] and edited["content"] == ""
    _, thread = await rest(fake_discord, "POST", f"{path}/{msg['id']}/threads", {"name": "t"})
    _, inner = await rest(fake_discord, "POST", f"/channels/{thread['id']}/messages", {"content": "in"})
    fake_discord.channels[int(thread["id"])].archived = True
    status, data = await rest(fake_discord, "PATCH", f"/channels/{thread['id']}/messages/{inner['id']}",
                              {"content": "changed"})
    assert status == 400 and data["code"] == 50083


async def test_empty_message_rejected(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    status, data = await rest(fake_discord, "POST", f"/channels/{guild_setup.general.id}/messages",
                              {"content": ""})
    assert status == 400 and data["code"] == 50006


# --- command limits --------------------------------------------------------------------------------

def command(name: str = "cmd", description: str = "d", **kw: Any) -> dict[str, Any]:
    return {"name": name, "description": description, "type": 1} | kw


def option(name: str = "opt", **kw: Any) -> dict[str, Any]:
    return {"name": name, "description": "d", "type": 3} | kw


COMMAND_CASES = {
    "name length": (lambda n: [command("n" * n)], 32),
    "option name length": (lambda n: [command(options=[option("o" * n)])], 32),
    "description": (lambda n: [command(description="d" * n)], 100),
    "option description": (lambda n: [command(options=[option(description="d" * n)])], 100),
    "options": (lambda n: [command(options=[option(f"o{i}") for i in range(n)])], 25),
    "choices": (lambda n: [command(options=[option(choices=[{"name": f"c{i}", "value": f"v{i}"}
                                                            for i in range(n)])])], 25),
    "global commands": (lambda n: [command(f"c{i}") for i in range(n)], 100),
}


@pytest.mark.parametrize("case", sorted(COMMAND_CASES))
async def test_command_limits(fake_discord: FakeDiscord, case: str) -> None:
    build, limit = COMMAND_CASES[case]
    path = f"/applications/{fake_discord.application_id}/commands"
    status, data = await rest(fake_discord, "PUT", path, build(limit))
    assert status == 200, data
    assert_invalid(*await rest(fake_discord, "PUT", path, build(limit + 1)))
    assert len(fake_discord.command_syncs) == 1


async def test_command_total_size_limit(fake_discord: FakeDiscord) -> None:
    path = f"/applications/{fake_discord.application_id}/commands"

    def build(extra: int) -> list[dict[str, Any]]:
        # command 1 + 99; three options of (2 + 98) + 25 choice names of 100; a last option 2 + 1 + 97
        full = [option(f"o{i}", description="d" * 98, type=4,
                       choices=[{"name": f"{j:02d}".ljust(100, "n"), "value": j} for j in range(25)])
                for i in range(3)]
        last = option("o3", description="d", type=4, choices=[{"name": "n" * (97 + extra), "value": 0}])
        return [command("c", "d" * 99, options=[*full, last])]

    assert _option_chars(build(0)[0]) == 8000
    status, data = await rest(fake_discord, "PUT", path, build(0))
    assert status == 200, data
    assert_invalid(*await rest(fake_discord, "PUT", path, build(1)))


@pytest.mark.parametrize("name", ["Upper", "has space", "dot.name", "", "emoji😀"])
async def test_invalid_command_names(fake_discord: FakeDiscord, name: str) -> None:
    path = f"/applications/{fake_discord.application_id}/commands"
    assert_invalid(*await rest(fake_discord, "PUT", path, [command(name)]))


@pytest.mark.parametrize("name", ["chapter-next", "it's", "kapitel_2", "ñandú", "नमस्ते", "สวัสดี", "глава"])
async def test_valid_command_names(fake_discord: FakeDiscord, name: str) -> None:
    path = f"/applications/{fake_discord.application_id}/commands"
    status, data = await rest(fake_discord, "PUT", path, [command(name)])
    assert status == 200, data


async def test_context_menu_commands_have_no_description(fake_discord: FakeDiscord) -> None:
    path = f"/applications/{fake_discord.application_id}/commands"
    status, _ = await rest(fake_discord, "PUT", path, [{"name": "Like This", "type": 3}])
    assert status == 200
    assert_invalid(*await rest(fake_discord, "PUT", path,
                               [{"name": "Like This", "type": 3, "description": "x"}]))


# --- interactions ------------------------------------------------------------------------------------

async def open_interaction(fake: FakeDiscord, setup: GuildSetup, type: int = 2):
    return await fake._create_interaction(type, {"name": "x"}, setup.guild, setup.general, setup.member,
                                          dispatch=False)


async def callback(fake: FakeDiscord, record, body: dict[str, Any]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(
            f"{fake.api_base}/interactions/{record.id}/{record.token}/callback", json=body) as resp:
        data = await resp.json() if resp.status != 204 else None
        return resp.status, data


async def test_interaction_answered_twice(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    record = await open_interaction(fake_discord, guild_setup)
    assert (await callback(fake_discord, record, {"type": 4, "data": {"content": "hi"}}))[0] == 204
    status, data = await callback(fake_discord, record, {"type": 4, "data": {"content": "again"}})
    assert status == 400 and data["code"] == 40060


async def test_interaction_answered_too_late(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    fake_discord.response_window = 0.0
    record = await open_interaction(fake_discord, guild_setup)
    status, data = await callback(fake_discord, record, {"type": 5})
    assert status == 404 and data["code"] == 10062


async def test_autocomplete_choice_limit(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    choices = [{"name": f"c{i}", "value": f"{i}"} for i in range(26)]
    record = await open_interaction(fake_discord, guild_setup, type=4)
    assert_invalid(*await callback(fake_discord, record, {"type": 8, "data": {"choices": choices}}))
    status, _ = await callback(fake_discord, record, {"type": 8, "data": {"choices": choices[:25]}})
    assert status == 204 and len(record.choices) == 25


async def test_interaction_message_limits_and_followups(fake_discord: FakeDiscord,
                                                        guild_setup: GuildSetup) -> None:
    record = await open_interaction(fake_discord, guild_setup)
    hook = f"{fake_discord.api_base}/webhooks/{fake_discord.application_id}/{record.token}"
    async with aiohttp.ClientSession() as session:
        async with session.post(hook + "?wait=true", json={"content": "early"}) as resp:
            assert resp.status == 404  # no follow-up before the interaction is acknowledged
        assert_invalid(*await callback(fake_discord, record, {"type": 4, "data": {"content": "x" * 2001}}))
        assert (await callback(fake_discord, record, {"type": 5, "data": {"flags": EPHEMERAL}}))[0] == 204
        async with session.patch(hook + "/messages/@original", json={"content": "done"}) as resp:
            assert resp.status == 200
        async with session.post(hook + "?wait=true", json={"content": "more", "flags": EPHEMERAL}) as resp:
            assert resp.status == 200
    assert (await record.wait_message())["content"] == "done" and record.ephemeral
    followups = await record.wait_followups(1)
    assert followups[0]["content"] == "more" and followups[0]["flags"] & EPHEMERAL
    assert fake_discord.history(guild_setup.general) == []  # ephemeral messages are not in the channel


async def test_nonce_dedupe(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    path = f"/channels/{guild_setup.general.id}/messages"
    body = {"content": "part 1", "nonce": "release-1-0", "enforce_nonce": True}
    _, first = await rest(fake_discord, "POST", path, body)
    _, second = await rest(fake_discord, "POST", path, body)
    assert first["id"] == second["id"]
    assert len(fake_discord.history(guild_setup.general)) == 1
    _, other = await rest(fake_discord, "POST", path,
                          {"content": "x", "nonce": "release-1-0"})  # not enforced
    assert other["id"] != first["id"]


async def test_unauthorized_without_token(fake_discord: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session, session.get(fake_discord.api_base + "/users/@me") as resp:
        assert resp.status == 401


# --- the real discord.py client against the fake ------------------------------------------------------

async def test_rate_limit_per_route_is_waited_out(running_bot, fake_discord: FakeDiscord,
                                                  guild_setup) -> None:
    channel = running_bot.get_channel(guild_setup.general.id)
    fake_discord.inject_fault(429, method="POST", path=r"/channels/\d+/messages$", retry_after=0.05)
    message = await channel.send("hello")
    assert [m["content"] for m in fake_discord.history(guild_setup.general)] == ["hello"]
    assert [r.status for r in fake_discord.requests_to("POST", r"/channels/\d+/messages$")] == [429, 200]
    assert message.id == int(fake_discord.history(guild_setup.general)[0]["id"])


async def test_global_rate_limit_is_waited_out(running_bot, fake_discord: FakeDiscord, guild_setup) -> None:
    channel = running_bot.get_channel(guild_setup.general.id)
    fake_discord.inject_fault(429, retry_after=0.05, global_=True)
    await channel.send("hello")
    assert len(fake_discord.history(guild_setup.general)) == 1
    assert fake_discord.requests[-2].status == 429 and fake_discord.requests[-1].status == 200


@pytest.mark.parametrize("status", [500, 502])
async def test_server_error_is_retried(running_bot, fake_discord: FakeDiscord,
                                       guild_setup, status: int) -> None:
    channel = running_bot.get_channel(guild_setup.general.id)
    fake_discord.inject_fault(status, method="POST", path=r"/messages$")
    await channel.send("hello")
    assert [r.status for r in fake_discord.requests_to("POST", r"/messages$")] == [status, 200]
    assert len(fake_discord.history(guild_setup.general)) == 1


async def test_missing_permissions_surface_as_forbidden(running_bot, fake_discord: FakeDiscord,
                                                        guild_setup) -> None:
    channel = running_bot.get_channel(guild_setup.story.id)
    message = await channel.send("before")
    fake_discord.forbid(guild_setup.story, "send_messages", "create_thread", "add_reaction")
    with pytest.raises(discord.Forbidden) as exc:
        await channel.send("hello")
    assert exc.value.code == 50013
    with pytest.raises(discord.Forbidden):
        await message.create_thread(name="discussion")
    with pytest.raises(discord.Forbidden):
        await message.add_reaction("👍")
    fake_discord.allow(guild_setup.story)
    await channel.send("after")
    assert [m["content"] for m in fake_discord.history(guild_setup.story)] == ["before", "after"]


async def test_resume_after_dropped_connection(running_bot, fake_discord: FakeDiscord, guild_setup) -> None:
    reactions: asyncio.Queue[discord.RawReactionActionEvent] = asyncio.Queue()

    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        await reactions.put(payload)

    running_bot.add_listener(on_raw_reaction_add)
    message = await running_bot.get_channel(guild_setup.general.id).send("react to me")
    await fake_discord.drop_gateway()
    # dispatched while the bot is away: replayed on RESUME
    await fake_discord.add_reaction(guild_setup.member, fake_discord.messages[message.id], "👍")
    await fake_discord.wait_resumed()
    payload = await asyncio.wait_for(reactions.get(), 5)
    assert payload.user_id == guild_setup.member.id and str(payload.emoji) == "👍"
    assert fake_discord.identify_count == 1
    record = await fake_discord.invoke("aar status", member=guild_setup.member)
    assert (await record.wait_response())["type"] == 4


async def test_messages_history_threads_reactions(running_bot, fake_discord: FakeDiscord,
                                                  guild_setup) -> None:
    channel = running_bot.get_channel(guild_setup.story.id)
    sent = [await channel.send(f"m{i}") for i in range(5)]
    newest_first = [m.content async for m in channel.history(limit=3)]
    assert newest_first == ["m4", "m3", "m2"]
    assert [m.content async for m in channel.history(after=sent[1], oldest_first=True)] == ["m2", "m3", "m4"]
    assert [m.content async for m in channel.history(before=sent[2])] == ["m1", "m0"]
    fetched = await channel.fetch_message(sent[0].id)
    await fetched.edit(content="edited", embed=discord.Embed(title="T", description="D"))
    assert fake_discord.messages[sent[0].id]["embeds"][0]["title"] == "T"
    thread = await sent[0].create_thread(name="Discussion")
    assert running_bot.get_channel(thread.id) is not None  # THREAD_CREATE reached the cache
    await thread.send("in thread", file=discord.File(__file__, filename="x.py"))
    assert fake_discord.history(thread.id)[0]["attachments"][0]["filename"] == "x.py"
    await sent[1].add_reaction("👍")
    await fake_discord.add_reaction(guild_setup.member, sent[1].id, "👍")
    users = [u.id async for u in (await channel.fetch_message(sent[1].id)).reactions[0].users()]
    assert set(users) == {running_bot.user.id, guild_setup.member.id}
    await sent[4].delete()
    assert [m["content"] for m in fake_discord.history(guild_setup.story)] == ["edited", "m1", "m2", "m3"]


class Counter(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.count = 0

    @discord.ui.button(label="+1", custom_id="test:count")
    async def bump(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.count += 1
        await interaction.response.edit_message(content=f"count {self.count}")


async def test_button_click(running_bot, fake_discord: FakeDiscord, guild_setup) -> None:
    message = await running_bot.get_channel(guild_setup.general.id).send("count 0", view=Counter())
    click = await fake_discord.click(fake_discord.messages[message.id], "test:count",
                                     member=guild_setup.member)
    assert (await click.wait_response())["type"] == 7
    assert fake_discord.messages[message.id]["content"] == "count 1"
    with pytest.raises(TestApiError):
        await fake_discord.click(message.id, "no-such-button")


async def test_invoke_checks_against_registered_commands(running_bot, fake_discord: FakeDiscord,
                                                         guild_setup) -> None:
    with pytest.raises(TestApiError):
        await fake_discord.invoke("aar nonexistent", member=guild_setup.member)
    with pytest.raises(TestApiError):
        await fake_discord.invoke("aar status", member=guild_setup.member, options={"bogus": 1})
    record = await fake_discord.invoke("aar status", member=guild_setup.moderator)
    payload = record.payload
    assert int(payload["member"]["permissions"]) & discord.Permissions(manage_guild=True).value
    assert payload["data"]["options"][0] == {"name": "status", "type": 1, "options": []}
    await record.wait_response()


async def test_privileged_intents_refused(fake_discord: FakeDiscord, guild_setup, bot_factory) -> None:
    # the bot asks for no privileged intent: the fake would close with 4014 otherwise
    bot = await bot_factory()
    assert fake_discord.intents == bot.intents.value
    assert not bot.intents.members and not bot.intents.message_content and not bot.intents.presences
