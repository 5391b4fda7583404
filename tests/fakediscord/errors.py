"""How the fake answers over HTTP: Discord's JSON bodies and error shapes, and the test API's own error."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class DiscordError(Exception):
    """Raised inside a handler: becomes an HTTP error response with Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            self.body["errors"] = errors


def form_error(errors: dict) -> DiscordError:
    """400 Invalid Form Body (50035) with Discord's `errors` tree."""
    return DiscordError(400, 50035, "Invalid Form Body", errors)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Exactly `Content-Type: application/json` as Discord sends it (discord.py compares it verbatim)."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


class TestApiError(AssertionError):
    """The test asked the fake for something a Discord client could not do (unknown command, option...)."""

    __test__ = False  # not a pytest test class
