"""What the fake records for the tests to inspect: requests, interactions and their answers, guild setups."""

# The test API's waits take `timeout=` by design (`await record.wait_response(timeout=5)`).
# ruff: noqa: ASYNC109

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .models import EPHEMERAL, Channel, Guild, Member, Role

if TYPE_CHECKING:
    from .server import FakeDiscord


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any
    files: list[dict[str, Any]]
    status: int | None = None
    response: Any = None


@dataclass
class InteractionResponse:
    kind: str  # "callback", "followup", "edit", "delete"
    type: int | None  # callback type for "callback"
    data: dict[str, Any]
    ephemeral: bool
    message: dict[str, Any] | None = None


@dataclass
class Interaction:
    """One interaction the fake sent to the bot, and everything the bot answered to it."""

    fake: FakeDiscord
    id: int
    token: str
    type: int
    payload: dict[str, Any]
    member: Member | None
    channel: Channel
    created_at: float
    answered_at: float | None = None  # when the callback arrived (monotonic, as `created_at`)
    first_edited_at: float | None = None  # when the original response was first edited ...
    edited_at: float | None = None  # ... and last
    acknowledged_with: int | None = None
    callback: dict[str, Any] | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    responses: list[InteractionResponse] = field(default_factory=list)
    edited: bool = False

    @property
    def message(self) -> dict[str, Any] | None:
        """The original response message as it is now (after edits)."""
        if self.original_message_id is None:
            return None
        return self.fake.messages.get(self.original_message_id)

    @property
    def followups(self) -> list[dict[str, Any]]:
        return [self.fake.messages[i] for i in self.followup_ids if i in self.fake.messages]

    @property
    def ephemeral(self) -> bool:
        msg = self.message
        return bool(msg and msg["flags"] & EPHEMERAL)

    async def wait_response(self, timeout: float = 5.0) -> dict[str, Any]:
        """The initial callback body (`{"type": 4, "data": {...}}`) once the bot has sent it."""
        await self.fake.wait_for(lambda: self.callback is not None, timeout=timeout)
        assert self.callback is not None
        return self.callback

    async def wait_message(self, timeout: float = 5.0) -> dict[str, Any]:
        """The original response message once it has content: at once for type 4/7, after the edit for 5/6."""
        def done() -> bool:
            if self.acknowledged_with in (4, 7):
                return True
            return self.acknowledged_with in (5, 6) and self.edited
        await self.fake.wait_for(done, timeout=timeout)
        msg = self.message
        assert msg is not None, "the interaction was answered without a message"
        return msg

    async def wait_edited(self, timeout: float = 5.0) -> dict[str, Any]:
        """The original response message once the bot has edited it (an answer that said "working on it"
        first, e.g. `/chapter next`'s "queued")."""
        await self.fake.wait_for(lambda: self.edited, timeout=timeout)
        msg = self.message
        assert msg is not None, "edited, but the original response is gone"
        return msg

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        await self.fake.wait_for(lambda: len(self.followup_ids) >= count, timeout=timeout)
        return self.followups

    @property
    def choices(self) -> list[dict[str, Any]]:
        assert self.callback and self.callback["type"] == 8, "not answered with autocomplete choices"
        return self.callback["data"].get("choices", [])


@dataclass
class GuildSetup:
    """A ready-made guild: a #general and a #story channel, a Moderator role, a moderator and a reader."""

    guild: Guild
    general: Channel
    story: Channel
    moderator_role: Role
    moderator: Member
    member: Member
