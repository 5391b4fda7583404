"""REST handlers for channels: messages (history, send, edit, delete, crosspost), reactions, threads and
forum posts, and a guild's active threads."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from . import validation as v
from .errors import DiscordError, form_error, json_response
from .faults import Faults
from .models import CROSSPOSTED, HAS_THREAD, Channel, snowflake
from .reactions import Reactions, emoji_from_path, emoji_key
from .rest import FILES_KEY, JSON_KEY


class RestChannels(Reactions, Faults):
    """FakeDiscord's part that answers /channels/..."""

    def _channel(self, request: web.Request) -> Channel:
        channel = self.channels.get(int(request.match_info["cid"]))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, channel: Channel, mid: str) -> dict[str, Any]:
        msg = channel.messages.get(int(mid))
        if msg is None:
            raise DiscordError(404, 10008, "Unknown Message")
        return msg

    async def _get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._channel(request).to_dict())

    # --- messages --------------------------------------------------------------------------------

    async def _channel_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if request.method == "GET":
            q = request.query
            limit = min(max(int(q.get("limit", 50)), 1), 100)
            ids = sorted(channel.messages)
            if "after" in q:
                picked = [i for i in ids if i > int(q["after"])][:limit]
            elif "around" in q:
                around = int(q["around"])
                before = [i for i in ids if i < around][-(limit // 2):] if limit > 1 else []
                picked = before + [i for i in ids if i >= around][: limit - len(before)]
            else:
                pool = [i for i in ids if i < int(q["before"])] if "before" in q else ids
                picked = pool[-limit:]
            return json_response([channel.messages[i] for i in sorted(picked, reverse=True)])
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        if channel.type == 15:  # a forum holds posts (threads), never messages of its own
            raise DiscordError(400, 50008, "Cannot send messages in a non-text channel")
        if channel.type == 1 and channel.recipient_id in self.closed_dms:  # DMs closed, or bot blocked
            raise DiscordError(403, 50007, "Cannot send messages to this user")
        self._check_allowed(channel.id, "send_messages")
        if channel.archived:
            raise DiscordError(400, 50083, "Thread is archived")
        payload = self._validate_message(request[JSON_KEY], request[FILES_KEY])
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            key = (channel.id, str(nonce))
            seen = self._nonces.get(key)
            if seen and time.monotonic() - seen[0] < self.nonce_window and seen[1] in channel.messages:
                return json_response(channel.messages[seen[1]])
        msg = self._create_message(channel, payload, author=self.bot_user, files=request[FILES_KEY])
        if nonce is not None and payload.get("enforce_nonce"):
            self._nonces[(channel.id, str(nonce))] = (time.monotonic(), int(msg["id"]))
        return json_response(msg)

    async def _channel_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        if request.method == "GET":
            return json_response(msg)
        if request.method == "PATCH":
            if msg["author"]["id"] != str(self.bot_user.id):
                raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
            if channel.archived:  # as for sending: an archived thread's messages cannot change
                raise DiscordError(400, 50083, "Thread is archived")
            body = request[JSON_KEY] or {}
            merged = {k: msg.get(k) for k in ("content", "embeds", "components")} | body
            kept = msg["attachments"] if "attachments" not in body else body["attachments"]
            if v.is_empty_message(merged, len(request[FILES_KEY]) + len(kept or [])):
                raise DiscordError(400, 50006, "Cannot send an empty message")
            self._edit_message(msg, body, request[FILES_KEY])
            return json_response(msg)
        if request.method == "DELETE":
            del channel.messages[int(msg["id"])]
            self.messages.pop(int(msg["id"]), None)
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])

    async def _crosspost(self, request: web.Request) -> web.Response:
        """Publish a message of an announcement channel to the channels following it: only there, each
        message once, and at most `crosspost_limit` per channel per `crosspost_window`.

        As Discord does it: the route's own bucket headers describe a short per-second bucket, and the
        hourly publish limit shows only as a 429 of scope "shared" whose body's `retry_after` runs to the
        window's end (the headers still show the short bucket, with requests remaining)."""
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        if channel.type != 5:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        self._check_allowed(channel.id, "crosspost", own_message=msg["author"]["id"] == str(self.bot_user.id))
        if msg["flags"] & CROSSPOSTED:
            raise DiscordError(400, 40033, "This message has already been crossposted.")
        now = time.monotonic()
        recent = [t for t in self._crossposts.get(channel.id, []) if now - t < self.crosspost_window]
        self._crossposts[channel.id] = recent
        if len(recent) >= self.crosspost_limit:
            wait = self.crosspost_window - (now - recent[0])
            return json_response({"message": "You are being rate limited.", "retry_after": wait,
                                  "global": False},
                                 status=429, headers=self._crosspost_headers(scope="shared"))
        recent.append(now)
        msg["flags"] |= CROSSPOSTED
        return json_response(msg, headers=self._crosspost_headers())

    @staticmethod
    def _crosspost_headers(*, scope: str = "user") -> dict[str, str]:
        return {"Retry-After": "1", "Via": "1.1 google", "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "4", "X-RateLimit-Reset": str(time.time() + 1.0),
                "X-RateLimit-Reset-After": "1.000", "X-RateLimit-Bucket": "crosspost",
                "X-RateLimit-Scope": scope}

    # --- reactions -------------------------------------------------------------------------------

    async def _reactions_all(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        if request.method != "DELETE":
            raise web.HTTPMethodNotAllowed(request.method, ["DELETE"])
        await self.remove_all_reactions(msg)
        return web.Response(status=204)

    async def _reactions_emoji(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        emoji = emoji_from_path(request.match_info["emoji"])
        if request.method == "GET":
            users = self._reactions.get((int(msg["id"]), emoji_key(emoji)), [])
            after = int(request.query.get("after", 0))
            limit = min(int(request.query.get("limit", 25)), 100)
            picked = sorted(u for u in users if u > after)[:limit]
            return json_response([self.users[u].to_dict() for u in picked])
        if request.method == "DELETE":
            await self.remove_emoji_reactions(msg, emoji)
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "DELETE"])

    async def _reaction_user(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        emoji = emoji_from_path(request.match_info["emoji"])
        who = request.match_info["user"]
        uid = self.bot_user.id if who == "@me" else int(who)
        if request.method == "PUT":
            if who != "@me":
                raise web.HTTPMethodNotAllowed(request.method, ["DELETE"])
            self._check_allowed(channel.id, "add_reaction")
            if self._apply_reaction(msg, emoji, uid, add=True) and self.echo_bot_reactions:
                member = channel.guild.members.get(uid) if channel.guild else None
                data = self._reaction_event(msg, emoji) | {"user_id": str(uid),
                                                           "message_author_id": msg["author"]["id"]}
                if member is not None:
                    data["member"] = member.to_dict()
                await self.dispatch("MESSAGE_REACTION_ADD", data)
            return web.Response(status=204)
        if request.method == "DELETE":
            if (self._apply_reaction(msg, emoji, uid, add=False)
                    and (uid != self.bot_user.id or self.echo_bot_reactions)):
                await self.dispatch("MESSAGE_REACTION_REMOVE",
                                    self._reaction_event(msg, emoji) | {"user_id": str(uid)})
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(request.method, ["PUT", "DELETE"])

    # --- threads ---------------------------------------------------------------------------------

    async def _new_thread(self, parent: Channel, tid: int, body: dict[str, Any], type: int,
                          tags: list[int] = ()) -> Channel:
        name = (body.get("name") or "").strip()
        if not 1 <= len(name) <= 100:
            raise form_error({"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH",
                                                    "message": "Must be between 1 and 100 in length."}]}})
        if body.get("auto_archive_duration") not in (None, 60, 1440, 4320, 10080):
            raise form_error({"auto_archive_duration": {"_errors": [{
                "code": "BASE_TYPE_CHOICES", "message": "Value must be one of {60, 1440, 4320, 10080}."}]}})
        thread = Channel(id=tid, name=name, guild=parent.guild, type=type, parent_id=parent.id,
                         owner_id=self.bot_user.id, applied_tags=list(tags))
        self.channels[tid] = thread
        if parent.guild is not None:
            parent.guild.channels.append(thread)
        await self.dispatch("THREAD_CREATE", thread.to_dict() | {"newly_created": True})
        return thread

    async def _thread_from_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        self._check_allowed(channel.id, "create_thread")
        if int(msg["id"]) in self.channels:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        thread = await self._new_thread(channel, int(msg["id"]), request[JSON_KEY] or {}, 11)
        msg["flags"] |= HAS_THREAD
        msg["thread"] = thread.to_dict()
        return json_response(thread.to_dict())

    async def _thread_without_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self._check_allowed(channel.id, "create_thread")
        body = request[JSON_KEY] or {}
        if channel.type == 15:  # a forum post: a thread and its starter message, which has the thread's id
            starter = self._validate_message(body.get("message"), request[FILES_KEY], nest="message")
            tags = self._applied_tags(channel, body.get("applied_tags"))
            thread = await self._new_thread(channel, snowflake(), body, 11, tags)
            msg = self._create_message(thread, starter, author=self.bot_user, files=request[FILES_KEY],
                                       mid=thread.id)
            return json_response(thread.to_dict() | {"message": msg})
        thread = await self._new_thread(channel, snowflake(), body, int(body.get("type") or 12))
        return json_response(thread.to_dict())

    @staticmethod
    def _applied_tags(forum: Channel, given: Any) -> list[int]:
        """A new post's tags: at most 5, each one of the forum's own."""
        tags = [int(t) for t in given or []]
        known = {int(t["id"]) for t in forum.available_tags}
        if len(tags) > 5:
            raise form_error({"applied_tags": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                            "message": "Must be 5 or fewer in length."}]}})
        for i, tag in enumerate(tags):
            if tag not in known:
                raise form_error({"applied_tags": {str(i): {"_errors": [{
                    "code": "CHANNEL_TAG_INVALID", "message": "Tag is invalid"}]}}})
        return tags

    async def _active_threads(self, request: web.Request) -> web.Response:
        """GET /guilds/{gid}/threads/active: the guild's unarchived threads (forum posts included)."""
        guild = self.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        threads = [c.to_dict() for c in guild.channels if c.is_thread and not c.archived]
        return json_response({"threads": threads, "members": []})

    async def _join_thread(self, request: web.Request) -> web.Response:
        self._channel(request)
        return web.Response(status=204)
