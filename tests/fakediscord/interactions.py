"""What the bot answers to interactions: the callback endpoint and the interaction webhook (followups, edits).

Discord's rules are kept: one callback per interaction, within `response_window` seconds; webhooks only
after the callback and within `followup_window`; callback types only where they fit the interaction.
Everything the bot answers is recorded on its `Interaction`.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from . import validation as v
from .errors import DiscordError, form_error, json_response
from .models import EPHEMERAL, LOADING
from .records import Interaction, InteractionResponse
from .rest import FILES_KEY, JSON_KEY
from .state import World

# The callback types the fake supports: message (4), deferred message (5), deferred update (6),
# update message (7) and autocomplete choices (8).
CALLBACK_TYPES = (4, 5, 6, 7, 8)


class Interactions(World):
    """FakeDiscord's part that takes the bot's answers to interactions."""

    def _interaction_by_token(self, token: str) -> Interaction:
        for record in self.interactions.values():
            if record.token == token:
                return record
        raise DiscordError(404, 10015, "Unknown Webhook")

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        record = self.interactions.get(int(request.match_info["iid"]))
        if record is None or record.token != request.match_info["token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        if record.acknowledged_with is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - record.created_at > self.response_window:
            raise DiscordError(404, 10062, "Unknown interaction")
        body = request[JSON_KEY] or {}
        rtype = body.get("type")
        data = body.get("data") or {}
        files = request[FILES_KEY]
        message: dict[str, Any] | None = None
        if rtype == 4:
            self._validate_message(data, files, nest="data")
            message = self._create_message(record.channel, data, author=self.bot_user, files=files,
                                           extra=self._interaction_metadata(record))
        elif rtype == 5:
            message = self._create_message(record.channel, {"flags": data.get("flags")}, author=self.bot_user,
                                           flags=LOADING, extra=self._interaction_metadata(record))
        elif rtype in (6, 7):
            if record.type not in (3, 5) or "message" not in record.payload and rtype == 7:
                raise DiscordError(400, 40004, "Interaction response type not valid for this interaction")
            if "message" in record.payload:
                message = self.messages[int(record.payload["message"]["id"])]
                if rtype == 7:
                    self._edit_message(message, data, files)
        elif rtype == 8:
            if record.type != 4:
                raise DiscordError(400, 40004, "Interaction response type not valid for this interaction")
            errors = v.validate_autocomplete(data)
            if errors:
                raise form_error({"data": errors})
        else:
            choices = ", ".join(map(str, CALLBACK_TYPES))
            raise form_error({"type": {"_errors": [{"code": "BASE_TYPE_CHOICES",
                                                    "message": f"Value must be one of {{{choices}}}."}]}})
        record.acknowledged_with = rtype
        record.answered_at = time.monotonic()
        record.callback = body
        if message is not None:
            record.original_message_id = int(message["id"])
        ephemeral = bool(message and message["flags"] & EPHEMERAL)
        record.responses.append(InteractionResponse("callback", rtype, data, ephemeral, message))
        if "with_response" not in request.query:
            return web.Response(status=204)
        out: dict[str, Any] = {"interaction": {
            "id": str(record.id), "type": record.type, "response_message_loading": rtype == 5,
            "response_message_ephemeral": ephemeral}, "resource": {"type": rtype}}
        if message is not None:
            out["interaction"]["response_message_id"] = message["id"]
            out["resource"]["message"] = message
        return json_response(out)

    def _interaction_metadata(self, record: Interaction) -> dict[str, Any]:
        user = record.member.user.to_dict() if record.member else None
        return {"application_id": str(self.application_id), "webhook_id": str(self.application_id),
                "interaction_metadata": {"id": str(record.id), "type": record.type, "user": user,
                                         "authorizing_integration_owners": {}}}

    def _webhook_record(self, request: web.Request) -> Interaction:
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        record = self._interaction_by_token(request.match_info["token"])
        if time.monotonic() - record.created_at > self.followup_window:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if record.acknowledged_with is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        return record

    async def _webhook_execute(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        payload = self._validate_message(request[JSON_KEY], request[FILES_KEY])
        message = self._create_message(record.channel, payload, author=self.bot_user,
                                       files=request[FILES_KEY], extra=self._interaction_metadata(record))
        record.followup_ids.append(int(message["id"]))
        record.responses.append(InteractionResponse("followup", None, payload,
                                                    bool(message["flags"] & EPHEMERAL), message))
        if request.query.get("wait") in ("true", "1", "True"):
            return json_response(message)
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.StreamResponse:
        record = self._webhook_record(request)
        mid = request.match_info["mid"]
        if mid == "@original":
            if record.original_message_id is None:
                raise DiscordError(404, 10008, "Unknown Message")
            message_id = record.original_message_id
        else:
            message_id = int(mid)
            if message_id not in record.followup_ids and message_id != record.original_message_id:
                raise DiscordError(404, 10008, "Unknown Message")
        msg = self.messages.get(message_id)
        if msg is None:
            raise DiscordError(404, 10008, "Unknown Message")
        if request.method == "GET":
            return json_response(msg)
        if request.method == "PATCH":
            payload = request[JSON_KEY] or {}
            self._edit_message(msg, payload, request[FILES_KEY])
            if message_id == record.original_message_id:
                record.edited = True
                record.edited_at = time.monotonic()
                record.first_edited_at = record.first_edited_at or record.edited_at
            ephemeral = bool(msg["flags"] & EPHEMERAL)
            record.responses.append(InteractionResponse("edit", None, payload, ephemeral, msg))
            return json_response(msg)
        if request.method == "DELETE":
            self.messages.pop(message_id, None)
            channel = self.channels.get(int(msg["channel_id"]))
            if channel is not None:
                channel.messages.pop(message_id, None)
            ephemeral = bool(msg["flags"] & EPHEMERAL)
            record.responses.append(InteractionResponse("delete", None, {}, ephemeral, msg))
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])
