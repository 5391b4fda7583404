"""REST plumbing under /api/v10: read the body, record the request, check auth, apply faults, shape errors.

Handlers find the parsed body in `request[JSON_KEY]` and uploaded files in `request[FILES_KEY]`, and
raise `DiscordError` for Discord's error responses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .errors import DiscordError, json_response
from .faults import Faults
from .ratelimit import RateLimits
from .records import RecordedRequest

API = "/api/v10"
JSON_KEY = web.RequestKey("json", object)
FILES_KEY = web.RequestKey("files", list)


class Rest(RateLimits, Faults):
    """FakeDiscord's part that runs every /api/v10 request through `_middleware`."""

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)
        path = request.path[len(API):]
        body, files = await self._read_body(request)
        request[JSON_KEY], request[FILES_KEY] = body, files
        record = RecordedRequest(request.method, path, dict(request.query), body, files)
        self.requests.append(record)
        await self._travel()
        try:
            public = path.startswith(("/interactions/", "/webhooks/"))
            if not public and request.headers.get("Authorization") != f"Bot {self.token}":
                raise DiscordError(401, 0, "401: Unauthorized")
            limited = self._check_global(request.method, path)
            bucket_headers: dict[str, str] = {}
            if limited is None:
                limited, bucket_headers = self._check_channel(request.method, path)
            if limited is None:
                await self._wait_holds(request.method, path)
            fault = None if limited else self._take_fault(request.method, path)
            response = limited or (fault.response() if fault is not None else await handler(request))
            if bucket_headers and limited is None:
                response.headers.update(bucket_headers)
        except DiscordError as exc:
            response = json_response(exc.body, status=exc.status)
        except web.HTTPException as exc:
            response = json_response({"code": 0, "message": f"{exc.status}: {exc.reason}"}, status=exc.status)
        record.status = response.status
        if (isinstance(response, web.Response) and response.body is not None
                and response.headers.get("Content-Type") == "application/json"):
            record.response = json.loads(response.body)  # type: ignore[arg-type]
        await self._notify()
        await self._travel()
        return response

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        files: list[dict[str, Any]] = []
        if request.content_type.startswith("multipart/"):
            body: Any = None
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    files.append({"field": part.name, "filename": part.filename, "data": bytes(data)})
            return body, files
        if request.body_exists:
            raw = await request.read()
            if raw:
                try:
                    return json.loads(raw), files
                except ValueError:
                    raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
        return None, files
