"""Files a member attaches to a slash command, and the fake's CDN that serves them to the bot.

An ATTACHMENT option (type 11) reaches the bot as Discord sends it: the option's `value` is the attachment's
id, and the attachment object (id, filename, size, url, proxy_url, content_type, ephemeral) is in
`data.resolved.attachments[id]`.  The file is downloaded from the attachment's `url`, which points at this
fake's own HTTP server on 127.0.0.1.  As on Discord's CDN since 2024, the URL is signed (`ex`, `is`, `hm`):
a URL without its signature, or with another one, or past its expiry, answers 404 "This content is no
longer available."; so the bot must use the URL as given.

The Discord client refuses to attach a file over the upload limit (`attachment_size_limit`, by default
`models.ATTACHMENT_SIZE_LIMIT`, also sent in every interaction payload), so the driver refuses one too.
Every download is recorded in `cdn_requests`, so a test can prove a file was, or was not, downloaded.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from .errors import TestApiError
from .models import snowflake
from .records import RecordedRequest
from .state import World

# How long a signed attachment URL stays valid (Discord's are valid for about a day).
URL_LIFETIME_SECONDS = 24 * 3600
CDN_PATH = "/ephemeral-attachments"
MEDIA_PATH = "/media/ephemeral-attachments"


@dataclass(frozen=True)
class Upload:
    """A file a member attaches to an ATTACHMENT option: `invoke(..., options={"file": Upload(...)})`."""

    filename: str
    data: bytes
    content_type: str | None = None


class Cdn(World):
    """FakeDiscord's part that turns an `Upload` into an option attachment and serves its bytes."""

    _cdn_secret = b"fake-cdn-signing-key"

    def upload_attachment(self, upload: Upload) -> dict[str, Any]:
        """Store `upload` as an ephemeral attachment (what the client uploads before sending the command)
        and return the attachment object the interaction carries."""
        if len(upload.data) > self.attachment_size_limit:
            raise TestApiError(f"{upload.filename} is {len(upload.data):,} bytes: the Discord client refuses "
                               f"files over {self.attachment_size_limit:,} bytes")
        if not upload.filename or "/" in upload.filename:
            raise TestApiError(f"not a file name Discord keeps: {upload.filename!r}")
        aid = snowflake()
        self.uploads[aid] = bytes(upload.data)
        name = quote(upload.filename)
        query = self._signature(aid, int(time.time()) + URL_LIFETIME_SECONDS)
        content_type = (upload.content_type or mimetypes.guess_type(upload.filename)[0]
                        or "application/octet-stream")
        if content_type.startswith("text/") and "charset" not in content_type:
            content_type += "; charset=utf-8"  # what Discord labels a text upload with
        return {"id": str(aid), "filename": upload.filename, "size": len(upload.data),
                "url": f"{self.url}{CDN_PATH}/{aid}/{name}?{query}",
                "proxy_url": f"{self.url}{MEDIA_PATH}/{aid}/{name}?{query}",
                "content_type": content_type, "ephemeral": True}

    def downloads(self, attachment_id: int | str | None = None) -> list[RecordedRequest]:
        """The CDN requests the bot made (for one attachment, or all), answered or not."""
        if attachment_id is None:
            return list(self.cdn_requests)
        return [r for r in self.cdn_requests if r.path.split("/")[-2] == str(attachment_id)]

    def _signature(self, aid: int, expires: int) -> str:
        issued = expires - URL_LIFETIME_SECONDS
        digest = hmac.new(self._cdn_secret, f"{aid}:{expires:x}:{issued:x}".encode(), hashlib.sha256)
        return f"ex={expires:x}&is={issued:x}&hm={digest.hexdigest()}&"

    def _signed(self, aid: int, query: dict[str, str]) -> bool:
        try:
            expires, issued = int(query.get("ex", ""), 16), int(query.get("is", ""), 16)
        except ValueError:
            return False
        digest = hmac.new(self._cdn_secret, f"{aid}:{expires:x}:{issued:x}".encode(), hashlib.sha256)
        return hmac.compare_digest(digest.hexdigest(), query.get("hm", "")) and expires > time.time()

    async def _cdn_get(self, request: web.Request) -> web.StreamResponse:
        record = RecordedRequest(request.method, request.path, dict(request.query), None, [])
        self.cdn_requests.append(record)
        try:
            aid = int(request.match_info["aid"])
        except ValueError:
            aid = -1
        data = self.uploads.get(aid)
        if data is None or not self._signed(aid, dict(request.query)):
            response = web.Response(status=404, text="This content is no longer available.")
        else:
            kind = mimetypes.guess_type(request.match_info["filename"])[0] or "application/octet-stream"
            response = web.Response(body=data, content_type=kind)
        record.status = response.status
        await self._notify()
        return response
