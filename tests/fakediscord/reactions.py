"""Reactions: who reacted with what on which message, and members reacting (as the test drives them).

Every change is mirrored into the message's `reactions` array the way Discord reports it, and (when the
bot's intents ask for it) dispatched as the MESSAGE_REACTION_* event the bot would get.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from .models import Member
from .state import World


def emoji_from_path(raw: str) -> dict[str, Any]:
    """An emoji as written in a URL or by a test: "👍", "name:id" or "a:name:id"."""
    text = unquote(raw)
    if ":" in text:
        name, _, eid = text.rpartition(":")
        return {"id": eid, "name": name[2:] if name.startswith("a:") else name}
    return {"id": None, "name": text}


def emoji_key(emoji: dict[str, Any] | str) -> str:
    if isinstance(emoji, str):
        emoji = emoji_from_path(emoji)
    return f"{emoji['name']}:{emoji['id']}" if emoji.get("id") else emoji["name"]


class Reactions(World):
    """FakeDiscord's part that keeps reactions: `add_reaction`, `remove_reaction`, `reactions`..."""

    def _reaction_entry(self, message: dict[str, Any], emoji: dict[str, Any]) -> dict[str, Any] | None:
        for entry in message["reactions"]:
            if emoji_key(entry["emoji"]) == emoji_key(emoji):
                return entry
        return None

    def _apply_reaction(self, message: dict[str, Any], emoji: dict[str, Any], user_id: int,
                        add: bool) -> bool:
        key = (int(message["id"]), emoji_key(emoji))
        users = self._reactions.setdefault(key, [])
        if add == (user_id in users):
            return False
        users.append(user_id) if add else users.remove(user_id)
        entry = self._reaction_entry(message, emoji)
        if entry is None:
            entry = {"emoji": emoji, "count": 0, "me": False, "me_burst": False, "burst_count": 0,
                     "count_details": {"normal": 0, "burst": 0}, "burst_colors": []}
            message["reactions"].append(entry)
        entry["count"] = len(users)
        entry["count_details"]["normal"] = len(users)
        entry["me"] = self.bot_user.id in users
        if not users:
            message["reactions"].remove(entry)
            del self._reactions[key]
        return True

    def _reaction_event(self, message: dict[str, Any], emoji: dict[str, Any]) -> dict[str, Any]:
        data = {"channel_id": message["channel_id"], "message_id": message["id"], "emoji": emoji,
                "burst": False, "type": 0}
        if message.get("guild_id"):
            data["guild_id"] = message["guild_id"]
        return data

    async def add_reaction(self, member: Member, message: dict[str, Any] | int,
                           emoji: str | dict[str, Any]) -> None:
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        em = emoji_from_path(emoji) if isinstance(emoji, str) else emoji
        if self._apply_reaction(msg, em, member.id, add=True):
            data = self._reaction_event(msg, em) | {"user_id": str(member.id), "member": member.to_dict(),
                                                    "message_author_id": msg["author"]["id"]}
            await self.dispatch("MESSAGE_REACTION_ADD", data)

    async def remove_reaction(self, member: Member, message: dict[str, Any] | int,
                              emoji: str | dict[str, Any]) -> None:
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        em = emoji_from_path(emoji) if isinstance(emoji, str) else emoji
        if self._apply_reaction(msg, em, member.id, add=False):
            await self.dispatch("MESSAGE_REACTION_REMOVE",
                                self._reaction_event(msg, em) | {"user_id": str(member.id)})

    async def remove_all_reactions(self, message: dict[str, Any] | int) -> None:
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        self._clear_reactions(msg, None)
        data = {"channel_id": msg["channel_id"], "message_id": msg["id"], "guild_id": msg.get("guild_id")}
        await self.dispatch("MESSAGE_REACTION_REMOVE_ALL", data)

    async def remove_emoji_reactions(self, message: dict[str, Any] | int,
                                     emoji: str | dict[str, Any]) -> None:
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        em = emoji_from_path(emoji) if isinstance(emoji, str) else emoji
        self._clear_reactions(msg, em)
        data = self._reaction_event(msg, em)
        data.pop("burst"), data.pop("type")
        await self.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", data)

    def _clear_reactions(self, msg: dict[str, Any], emoji: dict[str, Any] | None) -> None:
        for key in [k for k in self._reactions if k[0] == int(msg["id"])]:
            if emoji is None or key[1] == emoji_key(emoji):
                del self._reactions[key]
        msg["reactions"] = [] if emoji is None else [
            e for e in msg["reactions"] if emoji_key(e["emoji"]) != emoji_key(emoji)]

    def reactions(self, message: dict[str, Any] | int, emoji: str) -> list[int]:
        """User ids that reacted with `emoji` on `message`, in order."""
        mid = message if isinstance(message, int) else int(message["id"])
        return list(self._reactions.get((mid, emoji_key(emoji)), []))
