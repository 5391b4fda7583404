"""The deployment: the heartbeat probe (`bot.healthcheck`) and the Docker image end to end.

The probe tests run everywhere.  The image test needs a Docker engine and is skipped, with the reason,
when none answers (or when AAR_SKIP_DOCKER_TESTS=1), so the README's test command works on any machine.
With an engine it builds the image, runs it with `--network host` against the fake Discord served from
this test process on 127.0.0.1, and checks what an operator relies on: non-root, `healthy` only once
connected, the database on the volume, and a clean, quick `docker stop`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import healthcheck
from bot.healthcheck import DEFAULT_MAX_AGE, check
from tests.fakediscord import FakeDiscord
from tests.helpers import SEED_CHAPTERS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0  # a fixed "wall clock" for the probe


def beat(path: Path, at: float) -> Path:
    """Write a heartbeat file whose modification time is `at`."""
    path.write_text("2027-01-15T08:00:00+00:00\n", encoding="utf-8")
    os.utime(path, (at, at))
    return path


# --- the probe -----------------------------------------------------------------------------------------

def test_fresh_heartbeat_is_healthy(tmp_path: Path) -> None:
    verdict = check(beat(tmp_path / "h", NOW - 10), clock=lambda: NOW)
    assert verdict.healthy and verdict.exit_code == 0
    assert verdict.reason == "connected, last heartbeat 10 s ago"


def test_heartbeat_at_the_limit_is_still_healthy_and_just_past_it_is_not(tmp_path: Path) -> None:
    path = beat(tmp_path / "h", NOW - DEFAULT_MAX_AGE)
    assert check(path, clock=lambda: NOW).healthy
    stale = check(path, clock=lambda: NOW + 1)
    assert not stale.healthy and stale.exit_code == 1
    assert "61 s ago (limit 60 s)" in stale.reason


def test_max_age_is_configurable(tmp_path: Path) -> None:
    path = beat(tmp_path / "h", NOW - 30)
    assert not check(path, max_age=20, clock=lambda: NOW).healthy
    assert check(path, max_age=40, clock=lambda: NOW).healthy


def test_heartbeat_from_the_future_counts_as_fresh(tmp_path: Path) -> None:
    verdict = check(beat(tmp_path / "h", NOW + 5), clock=lambda: NOW)
    assert verdict.healthy and verdict.reason == "connected, last heartbeat 0 s ago"


def test_missing_file_unset_setting_and_directory_are_unhealthy(tmp_path: Path) -> None:
    missing = check(tmp_path / "nope", clock=lambda: NOW)
    assert not missing.healthy and "does not exist" in missing.reason and "nope" in missing.reason
    unset = check(None)
    assert not unset.healthy and "AAR_HEALTH_FILE is not set" in unset.reason
    directory = check(tmp_path, clock=lambda: NOW)
    assert not directory.healthy and "not a regular file" in directory.reason


def test_main_reads_the_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "heartbeat"
    monkeypatch.setenv("AAR_HEALTH_FILE", str(path))
    assert healthcheck.main([]) == 1
    assert capsys.readouterr().out == (f"unhealthy: {path} does not exist: "
                                       "the bot is not (yet) connected to Discord\n")
    path.write_text("now\n", encoding="utf-8")
    assert healthcheck.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("healthy: connected, last heartbeat ") and out.count("\n") == 1


def test_main_file_option_and_bad_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = beat(tmp_path / "h", time.time() - 100)
    monkeypatch.setenv("AAR_HEALTH_FILE", "")  # present but empty: unset, and .env cannot fill it in
    assert healthcheck.main([]) == 1
    assert "AAR_HEALTH_FILE is not set" in capsys.readouterr().out
    assert healthcheck.main(["--file", str(path)]) == 1
    assert healthcheck.main(["--file", str(path), "--max-age", "200"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    assert healthcheck.main([]) == 1
    assert capsys.readouterr().out.startswith("unhealthy: configuration error: LOG_LEVEL must be one of")


def test_module_runs_as_a_script(tmp_path: Path) -> None:
    """What HEALTHCHECK runs: `python -m bot.healthcheck`, its exit status and one line of output."""
    env = {**os.environ, "AAR_HEALTH_FILE": str(tmp_path / "h")}
    missing = subprocess.run([sys.executable, "-m", "bot.healthcheck"], env=env, capture_output=True,
                             text=True, timeout=30)
    assert (missing.returncode == 1 and missing.stdout.startswith("unhealthy: ")
            and missing.stdout.count("\n") == 1)
    (tmp_path / "h").touch()
    fresh = subprocess.run([sys.executable, "-m", "bot.healthcheck"], env=env, capture_output=True, text=True,
                           timeout=30)
    assert fresh.returncode == 0 and fresh.stdout.startswith("healthy: "), fresh.stdout + fresh.stderr


async def test_the_running_bot_keeps_the_probe_healthy_and_a_clean_close_makes_it_unhealthy(
        bot_factory, guild_setup, tmp_path: Path) -> None:
    """The contract with bot/app.py: a heartbeat once ready, removed on close."""
    path = tmp_path / "run" / "aar-bot.health"
    assert not check(path).healthy
    bot = await bot_factory(health_file=path)
    assert check(path).healthy, check(path).reason
    await bot.close()
    verdict = check(path)
    assert not verdict.healthy and "does not exist" in verdict.reason


# --- the build's package index -------------------------------------------------------------------------
# A build argument is recorded in the image's history, so the Dockerfile and compose.yaml must say so and
# must not default to a URL with credentials.  Checked in the files, so a machine without Docker checks too.

def test_the_package_index_argument_is_documented_as_visible_in_the_image_history() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG PIP_INDEX_URL=https://pypi.org/simple\n" in dockerfile  # no credentials by default
    comment = dockerfile[:dockerfile.index("ARG PIP_INDEX_URL")]
    assert "docker history" in comment and "password" in comment
    compose = (PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8")
    build = compose[compose.index("    build:"):compose.index("    image:")]
    assert "PIP_INDEX_URL: ${PIP_INDEX_URL:-https://pypi.org/simple}" in build
    assert "history" in build and "password" in build
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker history" in readme


# --- the image -----------------------------------------------------------------------------------------

def docker_unavailable() -> str | None:
    """Why the image test cannot run here, or None when a Docker engine answers."""
    if os.environ.get("AAR_SKIP_DOCKER_TESTS") == "1":
        return "AAR_SKIP_DOCKER_TESTS=1"
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker info` failed: {exc}"
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines()[-1] if info.stderr.strip()
                else f"exit status {info.returncode}")
        return f"no Docker engine answers (`docker info`: {last})"
    return base_image_unavailable()


def base_image_unavailable() -> str | None:
    """The Dockerfile's base image must be local or pullable; an engine without either can't build."""
    base = next(line.split()[1] for line in (PROJECT_ROOT / "Dockerfile").read_text().splitlines()
                if line.startswith("FROM "))
    try:
        if subprocess.run(["docker", "image", "inspect", base], capture_output=True,
                          timeout=20).returncode == 0:
            return None
        pulled = subprocess.run(["docker", "pull", base], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"base image {base} is not available: {exc}"
    if pulled.returncode != 0:
        return (f"base image {base} is neither local nor pullable (no registry?); "
                "see ../shared/tools/docker-setup.sh")
    return None


def pip_index_url() -> str | None:
    """The package index pip uses on this machine, to give the build the same one (None: PyPI).

    Only http(s) indexes are usable inside the build; file:// ones (local wheel dirs) are not.
    """
    candidates = [os.environ.get("PIP_INDEX_URL", "")]
    try:
        listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                                text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(".index-url"):
            candidates.append(value.strip().strip("'\""))
    for url in candidates:
        first = url.split()[0] if url.split() else ""
        if first.startswith(("http://", "https://")):
            return first
    return None


def docker(*args: str, timeout: float = 60,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          env=None if env is None else {**os.environ, **env})


async def adocker(*args: str, within: float = 60) -> tuple[int, str]:
    """Run docker without blocking the event loop (the fake Discord must keep answering meanwhile)."""
    proc = await asyncio.create_subprocess_exec("docker", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace").strip()


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """The project's image, built from the Dockerfile (cached layers make a rebuild take seconds).

    A unique tag per run, so concurrent test runs never remove each other's image; it is removed
    afterwards with --no-prune, which keeps the layers as the build cache for the next run.
    """
    reason = docker_unavailable()
    if reason:
        pytest.skip(f"Docker image test skipped: {reason}")
    tag = f"aar-bot-test:{uuid.uuid4().hex[:12]}"
    args = ["build", "--network", "host", "-t", tag]
    index = pip_index_url()
    if index:
        args += ["--build-arg", f"PIP_INDEX_URL={index}"]
    built = docker(*args, str(PROJECT_ROOT), timeout=600)
    assert built.returncode == 0, f"docker build failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"
    try:
        yield tag
    finally:
        docker("rmi", "--no-prune", tag)


def test_the_package_index_is_not_in_the_images_environment(image: str) -> None:
    """The mirror's URL reached pip during the build, but a running container does not see it."""
    inspected = docker("image", "inspect", "--format", "{{json .Config.Env}}", image)
    assert inspected.returncode == 0, inspected.stderr
    assert "PIP_INDEX_URL" not in inspected.stdout


@pytest.mark.timeout(300)
async def test_image_runs_non_root_turns_healthy_keeps_data_on_the_volume_and_stops_cleanly(
        image: str) -> None:
    name = f"aar-bot-test-{uuid.uuid4().hex[:12]}"
    volume = f"{name}-data"
    async with FakeDiscord() as fake:
        await fake.add_standard_guild()
        assert (await adocker("volume", "create", volume))[0] == 0
        try:
            code, out = await adocker(
                "run", "--detach", "--name", name, "--network", "host",
                "--env", f"DISCORD_TOKEN={fake.token}",
                "--env", f"DISCORD_API_BASE_URL={fake.api_base}",
                "--env", f"DISCORD_GATEWAY_URL={fake.gateway_url}",
                "--env", "LOG_LEVEL=DEBUG",
                "--volume", f"{volume}:/data",
                # The image's own probe, checked every second instead of every 15 s so the test is quick.
                "--health-interval", "1s", "--health-start-period", "60s",
                image)
            assert code == 0, out

            status = await wait_health(name, within=90)
            logs = (await adocker("logs", name))[1]
            assert status == "healthy", f"container ended up {status!r}; logs:\n{logs[-4000:]}"
            # healthy because it really is connected to (this) Discord, with its commands synced
            assert fake.identify_count >= 1 and fake.connected
            assert fake.command_syncs, "the bot connected but never synced its commands"
            last_probe = json.loads((await adocker("inspect", "--format", "{{json .State.Health}}", name))[1])
            assert last_probe["Log"][-1]["Output"].startswith("healthy: connected")

            code, uid = await adocker("exec", name, "id", "-u")
            assert code == 0 and uid.isdigit() and int(uid) != 0, f"runs as uid {uid!r}"

            started = time.monotonic()
            code, out = await adocker("stop", "--time", "10", name)
            took = time.monotonic() - started
            assert code == 0, out
            state = json.loads((await adocker("inspect", "--format", "{{json .State}}", name))[1])
            logs = (await adocker("logs", name))[1]
            # 137 would mean SIGKILL after the grace period: SIGTERM must reach the bot and stop it itself.
            assert state["ExitCode"] == 0, f"exit code {state['ExitCode']}; logs:\n{logs[-4000:]}"
            assert took < 10, f"docker stop took {took:.1f} s"
            assert fake.token not in logs, "the token appeared in the logs"
            # the clean close removed the heartbeat, so a restarted container is not healthy too early
            assert (await adocker("cp", f"{name}:/tmp/aar-bot.health", "-"))[0] != 0

            # The database outlives the container: a fresh container on the same volume sees the import.
            code, out = await adocker("run", "--rm", "--network", "host", "--volume", f"{volume}:/data",
                                      image, "chapters", "--json")
            assert code == 0, out
            assert len(json.loads(out[out.index("["):])) == SEED_CHAPTERS
            code, listing = await adocker("run", "--rm", "--network", "host", "--volume", f"{volume}:/data",
                                          "--entrypoint", "ls", image, "/data")
            assert "aar.db" in listing.split(), listing
        finally:
            await adocker("rm", "--force", "--volumes", name)
            await adocker("volume", "rm", "--force", volume)


async def wait_health(name: str, *, within: float) -> str:
    """Poll `docker inspect` (an external process: polling is the only way) until the container is healthy,
    unhealthy or no longer running; return what it became."""
    deadline = time.monotonic() + within
    status = "unknown"
    while time.monotonic() < deadline:
        code, out = await adocker("inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", name)
        assert code == 0, out
        state, _, status = out.partition(" ")
        if status in ("healthy", "unhealthy") or state != "running":
            return status if state == "running" else f"{state} ({status})"
        await asyncio.sleep(0.25)  # poll interval for the external process, not a wait for an event
    return f"still {status} after {within:.0f} s"
