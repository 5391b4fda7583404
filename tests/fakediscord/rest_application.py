"""REST handlers for the bot's identity and its application commands, and guild and member lookups."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import validation as v
from .errors import DiscordError, form_error, json_response
from .models import MANAGE_ROLES, Channel, User, snowflake
from .rest import JSON_KEY
from .state import World


class RestApplication(World):
    """FakeDiscord's part that answers /users/@me, /applications/... and /guilds/..."""

    async def _get_me(self, request: web.Request) -> web.Response:
        return json_response(self.bot_user.to_dict() | {"verified": True, "mfa_enabled": False})

    async def _get_application(self, request: web.Request) -> web.Response:
        owner = User(id=1, name="owner")
        return json_response({
            "id": str(self.application_id), "name": self.bot_user.name, "icon": None, "description": "",
            "summary": "", "type": None, "bot_public": True, "bot_require_code_grant": False,
            "owner": owner.to_dict(), "team": None, "verify_key": "0" * 64, "flags": 0,
            "bot": self.bot_user.to_dict(), "rpc_origins": [], "tags": [], "redirect_uris": [],
            "interactions_endpoint_url": None, "approximate_guild_count": len(self.guilds),
        })

    def _command_payload(self, body: dict[str, Any], guild_id: int | None) -> dict[str, Any]:
        ctype = body.get("type", 1)
        key = (guild_id, ctype, body["name"])
        cid = self._command_ids.setdefault(key, snowflake())
        return {
            "id": str(cid), "application_id": str(self.application_id), "version": str(snowflake()),
            "type": ctype, "name": body["name"], "description": body.get("description", ""),
            "options": body.get("options", []),
            "default_member_permissions": body.get("default_member_permissions"),
            "dm_permission": body.get("dm_permission", True), "nsfw": body.get("nsfw", False),
            "contexts": body.get("contexts"), "integration_types": body.get("integration_types", [0]),
            "name_localizations": body.get("name_localizations"),
            "description_localizations": body.get("description_localizations"),
        } | ({"guild_id": str(guild_id)} if guild_id else {})

    async def _commands(self, request: web.Request) -> web.Response:
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordError(404, 10002, "Unknown Application")
        gid = request.match_info.get("guild_id")
        guild_id = int(gid) if gid else None
        if guild_id is not None and guild_id not in self.guilds:
            raise DiscordError(403, 50001, "Missing Access")
        if request.method == "GET":
            return json_response(self.guild_commands.get(guild_id, []) if guild_id else self.global_commands)
        if request.method != "PUT":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "PUT"])
        body = request[JSON_KEY]
        if not isinstance(body, list):
            raise form_error({"_errors": [{"code": "LIST_TYPE_CONVERT",
                                           "message": "Only iterables may be used in a ListType"}]})
        errors = v.validate_commands(body, global_=guild_id is None)
        if errors:
            raise form_error(errors)
        commands = [self._command_payload(c, guild_id) for c in body]
        if guild_id is None:
            self.global_commands = commands
        else:
            self.guild_commands[guild_id] = commands
        self.command_syncs.append((guild_id, commands))
        return json_response(commands)

    async def _get_guild(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return json_response(guild.to_dict())

    async def _member_role(self, request: web.Request) -> web.Response:
        """PUT/DELETE /guilds/{gid}/members/{uid}/roles/{rid}: 204, as Discord.  The bot needs Manage Roles
        and its highest role above the role (else 403 50013 Missing Permissions); unknown guild, member or
        role are 404 10004, 10007, 10011.  No GUILD_MEMBER_UPDATE: that needs the members intent."""
        guild = self.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        member = guild.members.get(int(request.match_info["uid"]))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        role = next((r for r in guild.roles if r.id == int(request.match_info["rid"])), None)
        if role is None:
            raise DiscordError(404, 10011, "Unknown Role")
        me = guild.members[self.bot_user.id]
        top = max((r.position for r in me.roles), default=0)
        if not me.permissions & MANAGE_ROLES or role.position >= top:
            raise DiscordError(403, 50013, "Missing Permissions")
        self.role_changes.append((request.method, member.id, role.id))
        if request.method == "PUT" and role not in member.roles:
            member.roles.append(role)
        elif request.method == "DELETE" and role in member.roles:
            member.roles.remove(role)
        return web.Response(status=204)

    async def _open_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels {recipient_id}: the DM channel with that user (the same one every time).
        Opening always works; whether the user accepts messages is only known when sending (50007)."""
        body = request[JSON_KEY] or {}
        try:
            user = self.users.get(int(body.get("recipient_id")))
        except (TypeError, ValueError):
            user = None
        if user is None:
            raise DiscordError(400, 50033, "Invalid Recipient(s)")
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(id=snowflake(), name=user.name, guild=None, type=1, recipient_id=user.id)
            self.dm_channels[user.id] = channel
            self.channels[channel.id] = channel
        return json_response(channel.to_dict())

    async def _get_member(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        member = guild.members.get(int(request.match_info["uid"]))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return json_response(member.to_dict())
