"""A fake Discord (REST + gateway on 127.0.0.1) that the real, unmodified discord.py client talks to.

    fake = await FakeDiscord().start()
    setup = await fake.add_standard_guild()
    ...  # point the bot at fake.api_base / fake.gateway_url with fake.token
    record = await fake.invoke("aar status", member=setup.member)
    response = await record.wait_response()
"""

from . import models, validation
from .cdn import Upload
from .errors import DiscordError, TestApiError
from .models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    EPHEMERAL,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    Channel,
    Guild,
    Member,
    Role,
    User,
)
from .records import GuildSetup, Interaction, InteractionResponse, RecordedRequest
from .server import FakeDiscord

__all__ = [
    "ADMINISTRATOR", "ALL_PERMISSIONS", "EPHEMERAL", "MANAGE_GUILD", "MANAGE_MESSAGES", "Channel",
    "DiscordError", "FakeDiscord", "Guild", "GuildSetup", "Interaction", "InteractionResponse", "Member",
    "RecordedRequest", "Role", "TestApiError", "Upload", "User", "models", "validation",
]
