"""REST handlers for channel webhooks: create and list them, and post through them (`?wait`, `thread_id`).

Discord's rules as documented: Manage Webhooks to create or list; a name of 1-80 characters that does not
contain "clyde" or "discord" (the same for the `username` a message is sent under); 15 webhooks per
channel; a deleted webhook is Unknown Webhook (10015), a wrong token Invalid Webhook Token (50027).  A
message sent through one carries `webhook_id` and shows the given name as its author; webhooks take no
nonce.  Only a webhook an application created may send components, and only with `with_components`.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from .errors import DiscordError, form_error, json_response
from .faults import Faults
from .models import Channel, Webhook, snowflake
from .rest import FILES_KEY, JSON_KEY
from .validation import is_empty_message

MAX_WEBHOOKS_PER_CHANNEL = 15
MAX_WEBHOOK_NAME = 80
FORBIDDEN_NAME_PARTS = ("clyde", "discord")
WEBHOOK_CHANNEL_TYPES = (0, 5, 15)


def name_errors(name: Any, field: str) -> dict[str, Any]:
    """Discord's errors for a webhook's name or a message's `username` (empty when it is fine)."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_WEBHOOK_NAME:
        return {field: {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH",
                                     "message": f"Must be between 1 and {MAX_WEBHOOK_NAME} in length."}]}}
    for part in FORBIDDEN_NAME_PARTS:
        if part in name.lower():
            return {field: {"_errors": [{"code": "USERNAME_INVALID_CONTAINS",
                                         "message": f'Username cannot contain "{part}"'}]}}
    return {}


class RestWebhooks(Faults):
    """FakeDiscord's part that answers /channels/{id}/webhooks and executes channel webhooks."""

    async def _channel_webhooks(self, request: web.Request) -> web.Response:
        channel = self.channels.get(int(request.match_info["cid"]))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        self._check_allowed(channel.id, "manage_webhooks")
        if request.method == "GET":
            return json_response([w.to_dict() for w in self.channel_webhooks(channel)])
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        if channel.type not in WEBHOOK_CHANNEL_TYPES or channel.guild is None:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        body = request[JSON_KEY] or {}
        errors = name_errors(body.get("name"), "name")
        if errors:
            raise form_error(errors)
        if len(self.channel_webhooks(channel)) >= MAX_WEBHOOKS_PER_CHANNEL:
            raise DiscordError(400, 30007, "Maximum number of webhooks reached (15)")
        webhook = Webhook(id=snowflake(), token=secrets.token_urlsafe(48), channel_id=channel.id,
                          guild_id=channel.guild.id, name=body["name"], creator=self.bot_user,
                          application_id=self.application_id)
        self.webhooks[webhook.id] = webhook
        await self.dispatch("WEBHOOKS_UPDATE", {"guild_id": str(channel.guild.id),
                                                "channel_id": str(channel.id)})
        return json_response(webhook.to_dict())

    async def _webhook_execute(self, request: web.Request) -> web.Response:
        """POST /webhooks/{id}/{token}: a channel webhook's; an interaction's follow-up otherwise."""
        webhook = self.webhooks.get(int(request.match_info["app_id"]))
        if webhook is None:
            return await super()._webhook_execute(request)  # type: ignore[misc]
        if not secrets.compare_digest(webhook.token, request.match_info["token"]):
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        body = dict(request[JSON_KEY] or {})
        if body.get("username") is not None and (errors := name_errors(body["username"], "username")):
            raise form_error(errors)
        payload = self._validate_message(body, request[FILES_KEY])
        if not (webhook.application_id and request.query.get("with_components") in ("1", "true", "True")):
            payload.pop("components", None)  # Discord ignores them
        channel = self._webhook_target(webhook, request.query.get("thread_id"))
        message = self._create_message(channel, payload, author=webhook.author(body.get("username")),
                                       files=request[FILES_KEY], extra={"webhook_id": str(webhook.id)})
        message.pop("nonce", None)
        if body.get("avatar_url"):
            message["author"]["avatar_url"] = body["avatar_url"]  # what the fake shows of the avatar
        if request.query.get("wait") in ("true", "1", "True"):
            return json_response(message)
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.StreamResponse:
        """GET / PATCH /webhooks/{id}/{token}/messages/{mid}: a message a channel webhook posted (in the
        thread `thread_id` names, when it is in one); an interaction's message otherwise.  Only that
        webhook's own messages, as Discord allows; an edit that would leave the message empty is refused."""
        webhook = self.webhooks.get(int(request.match_info["app_id"]))
        if webhook is None:
            return await super()._webhook_message(request)  # type: ignore[misc]
        if not secrets.compare_digest(webhook.token, request.match_info["token"]):
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        channel = self._webhook_target(webhook, request.query.get("thread_id"), editing=True)
        msg = channel.messages.get(int(request.match_info["mid"]))
        if msg is None or msg.get("webhook_id") != str(webhook.id):
            raise DiscordError(404, 10008, "Unknown Message")
        if request.method == "GET":
            return json_response(msg)
        if request.method != "PATCH":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH"])
        if channel.archived:
            raise DiscordError(400, 50083, "Thread is archived")
        body = dict(request[JSON_KEY] or {})
        if not (webhook.application_id and request.query.get("with_components") in ("1", "true", "True")):
            body.pop("components", None)  # Discord ignores them
        merged = {k: msg.get(k) for k in ("content", "embeds", "components")} | body
        if is_empty_message(merged, len(request[FILES_KEY]) + len(msg["attachments"])):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        self._edit_message(msg, body, request[FILES_KEY])
        return json_response(msg)

    def _webhook_target(self, webhook: Webhook, thread_id: str | None, *, editing: bool = False) -> Channel:
        channel = self.channels.get(webhook.channel_id)
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        if thread_id is None:
            if channel.type == 15 and not editing:
                raise DiscordError(400, 220001,
                                   "Webhooks posted to forum channels must have a thread_name or thread_id")
            return channel
        thread = self.channels.get(int(thread_id))
        if thread is None or thread.parent_id != channel.id:
            raise DiscordError(404, 10003, "Unknown Channel")
        if thread.archived and not editing:
            raise DiscordError(400, 50083, "Thread is archived")
        return thread
