"""`python -m bot.healthcheck`: is the bot really connected to Discord?

A container's process being alive says nothing about the gateway: the bot can sit in a reconnect loop
for hours.  So the running bot proves it is connected by touching a heartbeat file (`AAR_HEALTH_FILE`)
when it becomes ready and every ~15 s while connected, and deletes it on a clean close.  This probe
only reads that file, so it needs no token, no network and no database, and it is cheap enough to run
every few seconds from Docker's HEALTHCHECK.

Freshness is judged by the file's modification time, not its contents, so the probe does not depend on
how the bot formats the timestamp it writes (and a half-written file still counts as a heartbeat).

Exit status 0 = healthy, 1 = unhealthy; either way one line on stdout says why (Docker keeps the output
of the last probes in `docker inspect`, which is where an operator looks first).

When the operator endpoint is on (`AAR_HTTP_PORT`), the probe asks its `/healthz` instead, which knows
more: every shard of the process connected, and the database answering.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config import ConfigError, Settings

# The bot refreshes the file every ~15 s; four missed beats means it is not connected any more.
DEFAULT_MAX_AGE = 60.0
EXIT_HEALTHY, EXIT_UNHEALTHY = 0, 1


@dataclass(frozen=True)
class Verdict:
    """The outcome of one probe: healthy or not, and the one-line reason shown to the operator."""

    healthy: bool
    reason: str

    @property
    def exit_code(self) -> int:
        return EXIT_HEALTHY if self.healthy else EXIT_UNHEALTHY


def check(path: Path | None, *, max_age: float = DEFAULT_MAX_AGE,
          clock: Callable[[], float] = time.time) -> Verdict:
    """Judge the heartbeat file at `path` against the wall clock `clock()` (seconds since the epoch)."""
    if path is None:
        return Verdict(False, "AAR_HEALTH_FILE is not set, so the bot writes no heartbeat to check")
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return Verdict(False, f"{path} does not exist: the bot is not (yet) connected to Discord")
    except OSError as exc:
        return Verdict(False, f"{path} cannot be read: {exc.strerror or exc}")
    if not path.is_file():
        return Verdict(False, f"{path} is not a regular file")
    # A heartbeat slightly in the future (clock adjustments) counts as fresh rather than as a failure.
    age = max(0.0, clock() - mtime)
    if age > max_age:
        return Verdict(False, f"last heartbeat {age:.0f} s ago (limit {max_age:.0f} s): "
                              "the bot lost its connection")
    return Verdict(True, f"connected, last heartbeat {age:.0f} s ago")


def check_endpoint(url: str, *, timeout: float = 4.0) -> Verdict:
    """Ask the bot's `/healthz` at `url`: 200 is healthy; 503 carries the bot's reasons."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return Verdict(True, "connected, " + _reasons(response.read()))
    except urllib.error.HTTPError as exc:
        return Verdict(False, f"{url} answered {exc.code}: {_reasons(exc.read())}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Verdict(False, f"{url} does not answer ({reason}): the bot is not running")


def _reasons(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return "no JSON"
    shards = data.get("shards", {})
    return "; ".join(data.get("reasons", [])) or f"{len(shards)} shard(s) connected, database answering"


def endpoint_url(host: str, port: int) -> str:
    """The `/healthz` URL the probe (inside the container) uses for an endpoint bound to `host`."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # bound to every interface: loopback is one of them
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/healthz"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, metavar="PATH",
                        help="heartbeat file (default: $AAR_HEALTH_FILE)")
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE, metavar="SECONDS",
                        help=f"oldest acceptable heartbeat (default: {DEFAULT_MAX_AGE:.0f})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = args.file
    verdict: Verdict | None = None
    if path is None:
        try:
            settings = Settings.from_env()
        except ConfigError as exc:
            print(f"unhealthy: configuration error: {exc}")
            return EXIT_UNHEALTHY
        if settings.http_port is not None:
            verdict = check_endpoint(endpoint_url(settings.http_host, settings.http_port))
        path = settings.health_file
    if verdict is None:
        verdict = check(path, max_age=args.max_age)
    print(f"{'healthy' if verdict.healthy else 'unhealthy'}: {verdict.reason}")
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
