"""The test driver: act as a member the way the Discord client would (run a slash command, type into an
autocompleted option, click a button), sending the bot the INTERACTION_CREATE it would get.

Like the client, it only offers what the bot registered and shows: unknown commands, options, choices or
components, and commands the member lacks permissions for, are `TestApiError`s.
"""

# The test API's waits take `timeout=` by design (`await fake.autocomplete(..., timeout=5)`).
# ruff: noqa: ASYNC109

from __future__ import annotations

import time
import uuid
from typing import Any

from . import validation as v
from .cdn import Cdn, Upload
from .errors import TestApiError
from .faults import Faults
from .gateway import Gateway
from .models import ALL_PERMISSIONS, Channel, Guild, Member, Role, User, snowflake
from .records import Interaction

OPTION_TYPES = {3: str, 4: int, 5: bool, 10: float}


class Driver(Cdn, Faults, Gateway):
    """FakeDiscord's part that acts as members: `invoke`, `autocomplete`, `click`."""

    def _find_command(self, name: str, guild: Guild | None) -> dict[str, Any]:
        candidates = (self.guild_commands.get(guild.id, []) if guild else []) + self.global_commands
        for command in candidates:
            if command["name"] == name and command.get("type", 1) == 1:
                return command
        known = sorted({c["name"] for c in candidates})
        raise TestApiError(f"no slash command /{name} registered (registered: {known})")

    def _convert_option(self, schema: dict[str, Any], value: Any, resolved: dict[str, Any],
                        guild: Guild | None) -> Any:
        otype = schema["type"]
        if otype in OPTION_TYPES:
            value = OPTION_TYPES[otype](value)
            choices = schema.get("choices")
            if choices and value not in [c["value"] for c in choices]:
                raise TestApiError(f"{value!r} is not a choice of option {schema['name']!r}")
            return value
        if otype in (6, 9) and isinstance(value, Member | User):
            member = value if isinstance(value, Member) else None
            user = value.user if isinstance(value, Member) else value
            resolved.setdefault("users", {})[str(user.id)] = user.to_dict()
            if member is not None:
                data = member.to_dict(with_permissions=True)
                data.pop("user")
                resolved.setdefault("members", {})[str(user.id)] = data
            return str(user.id)
        if otype == 7 and isinstance(value, Channel):
            data = value.to_dict() | {"permissions": str(ALL_PERMISSIONS)}
            resolved.setdefault("channels", {})[str(value.id)] = data
            return str(value.id)
        if otype == 11 and isinstance(value, Upload):
            attachment = self.upload_attachment(value)
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            return attachment["id"]
        if otype in (8, 9) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = value.to_dict()
            return str(value.id)
        raise TestApiError(f"cannot pass {value!r} as option {schema['name']!r} of type {otype}")

    def _build_command_data(self, qualified: str, guild: Guild | None, options: dict[str, Any],
                            focused: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        parts = qualified.split()
        command = self._find_command(parts[0], guild)
        data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        schema_options = command.get("options") or []
        container = data
        for part in parts[1:]:
            sub = next((o for o in schema_options if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise TestApiError(f"/{qualified}: {part!r} is not a subcommand")
            node: dict[str, Any] = {"name": part, "type": sub["type"]}
            container["options"] = [node]
            container = node
            schema_options = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in schema_options):
            raise TestApiError(f"/{qualified} is a group; name a subcommand")
        resolved: dict[str, Any] = {}
        leaf: list[dict[str, Any]] = []
        by_name = {o["name"]: o for o in schema_options}
        for name, value in options.items():
            schema = by_name.get(name)
            if schema is None:
                raise TestApiError(f"/{qualified} has no option {name!r} (has {sorted(by_name)})")
            if name == focused:
                leaf.append({"name": name, "type": schema["type"], "value": str(value), "focused": True})
            else:
                leaf.append({"name": name, "type": schema["type"],
                             "value": self._convert_option(schema, value, resolved, guild)})
        if focused is None:
            missing = [o["name"] for o in schema_options if o.get("required") and o["name"] not in options]
            if missing:
                raise TestApiError(f"/{qualified}: required options missing: {missing}")
        elif focused not in options:
            raise TestApiError(f"focused option {focused!r} needs a value in options")
        container["options"] = leaf
        if resolved:
            data["resolved"] = resolved
        return data, command

    def _resolve_place(self, guild: Guild | None, channel: Channel | None,
                       member: Member | None) -> tuple[Guild, Channel, Member]:
        if channel is not None and guild is None:
            guild = channel.guild
        if guild is None:
            if not self.guilds:
                raise TestApiError("no guild: call add_guild / add_standard_guild first")
            guild = next(iter(self.guilds.values()))
        if channel is None:
            channel = next(c for c in guild.channels if c.type == 0)
        if member is None:
            others = (m for m in guild.members.values() if m.id not in (guild.owner_id, self.bot_user.id))
            member = next(others, None) or self.add_member(guild, "member")
        return guild, channel, member

    async def _create_interaction(self, type: int, data: dict[str, Any], guild: Guild, channel: Channel,
                                  member: Member, message: dict[str, Any] | None = None,
                                  dispatch: bool = True) -> Interaction:
        iid = snowflake()
        token = f"itoken-{uuid.uuid4().hex}"
        payload: dict[str, Any] = {
            "id": str(iid), "application_id": str(self.application_id), "type": type, "data": data,
            "guild_id": str(guild.id), "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.to_dict() | {"permissions": str(member.permissions)},
            "member": member.to_dict(with_permissions=True), "token": token, "version": 1,
            "app_permissions": str(self.app_permissions(channel)), "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0, "attachment_size_limit": self.attachment_size_limit,
        }
        if message is not None:
            payload["message"] = message
        record = Interaction(fake=self, id=iid, token=token, type=type, payload=payload, member=member,
                             channel=channel, created_at=time.monotonic())
        self.interactions[iid] = record
        if not dispatch:
            return record
        if not self.connected:
            raise TestApiError("the bot is not connected to the gateway")
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def invoke(self, command: str, *, guild: Guild | None = None, channel: Channel | None = None,
                     member: Member | None = None, options: dict[str, Any] | None = None,
                     bypass_permissions: bool = False) -> Interaction:
        """Run `/command` (e.g. "chapter next" or "aar status") as `member` with options {name: value}.

        Values: str/int/bool/float, a Member/User, Channel or Role for those option types, an `Upload` (a
        file's name and bytes) for an attachment option.  Like the Discord
        client, refuses commands whose `default_member_permissions` the member lacks (unless bypassed).
        """
        guild, channel, member = self._resolve_place(guild, channel, member)
        data, schema = self._build_command_data(command, guild, options or {})
        required = schema.get("default_member_permissions")
        if (required is not None and not bypass_permissions
                and member.permissions & int(required) != int(required)):
            raise TestApiError(f"{member.name} lacks permissions {required} for /{command}")
        return await self._create_interaction(2, data, guild, channel, member)

    async def autocomplete(self, command: str, *, focused: str, options: dict[str, Any],
                           guild: Guild | None = None, channel: Channel | None = None,
                           member: Member | None = None, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Type into option `focused` (its value in `options` is what was typed); return the bot's choices."""
        guild, channel, member = self._resolve_place(guild, channel, member)
        data, _ = self._build_command_data(command, guild, options, focused=focused)
        record = await self._create_interaction(4, data, guild, channel, member)
        await record.wait_response(timeout)
        return record.choices

    @staticmethod
    def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
        for component in v._walk_components(components):
            if component.get("custom_id") == custom_id:
                return component
        return None

    async def click(self, message: dict[str, Any] | int, custom_id: str, *, member: Member | None = None,
                    values: list[str] | None = None) -> Interaction:
        """Click a button (or choose `values` in a select) that is on `message`."""
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        component = self._find_component(msg.get("components") or [], custom_id)
        if component is None:
            raise TestApiError(f"no component {custom_id!r} on message {msg['id']}")
        if component.get("disabled"):
            raise TestApiError(f"component {custom_id!r} is disabled")
        channel = self.channels[int(msg["channel_id"])]
        guild, channel, member = self._resolve_place(channel.guild, channel, member)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            data["values"] = list(values or [])
        return await self._create_interaction(3, data, guild, channel, member, message=msg)
