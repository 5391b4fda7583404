"""A throwaway PostgreSQL server for the tests: started once per session on 127.0.0.1, a fresh database
per test, stopped (and its files removed) at the end.

    async def test_x(postgres_url):            # an empty database
        conn = await asyncpg.connect(postgres_url)

The machine's own server binaries are used (`initdb`, `pg_ctl`: on PATH, else the newest
`/usr/lib/postgresql/<version>/bin`, where Debian's `postgresql` package puts them; `.ci/run` installs
it).  Without them every PostgreSQL test is skipped, saying so.

PostgreSQL refuses to run as root.  When the tests run as root (CI containers), the server runs as the
`postgres` user Debian's package creates, through `runuser`, in a directory of its own under the system
temp folder (pytest's own temp folders are private to root).  The cluster trusts connections from
127.0.0.1 only, and runs without fsync: it holds nothing worth keeping.

Why not pytest-postgresql (10.0.0): it starts `pg_ctl` as the current user, so it fails as root, and it
brings psycopg, mirakuru and port-for for what these ~100 lines do.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import asyncpg
import pytest

from bot.storage.postgres.connection import open_postgres

SERVER_USER = "postgres"  # who runs the server when the tests run as root
SUPERUSER = "aar"  # the cluster's superuser (initdb -U)
TEMPLATE = "aar_migrated"  # a database at this code's schema, copied for each test that needs one


def find_binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`, or None when this machine has no PostgreSQL server."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl", path=str(Path(found).parent)):
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit()
                        else 0)
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throwaway cluster; `new_database()` makes an empty database and gives its URL."""

    bin_dir: Path
    root: Path
    port: int
    run_as: str | None
    _names: Iterator[int] = field(default_factory=lambda: count(1))
    _template_ready: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        result = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=60,
                                cwd=self.root)
        if result.returncode:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}\n{tail}")

    def start(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c synchronous_commit=off"
                   " -c full_page_writes=off")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    async def new_database(self) -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        admin = await asyncpg.connect(self.url())
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return self.url(name)

    async def new_migrated_database(self) -> str:
        """The URL of a new database at this code's schema: a copy of a template migrated once per session
        (CREATE DATABASE ... TEMPLATE copies files, much faster than running every migration again)."""
        if not self._template_ready:
            template = self.url(TEMPLATE)
            admin = await asyncpg.connect(self.url())
            try:
                await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
            finally:
                await admin.close()
            conn = await open_postgres(template)
            await conn.close()
            self._template_ready = True
        name = f"test_{os.getpid()}_{next(self._names)}"
        admin = await asyncpg.connect(self.url())
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        finally:
            await admin.close()
        return self.url(name)

    async def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(self.url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


class NoPostgres(Exception):
    """This machine can't run a throwaway PostgreSQL server; the message says why and what to install."""


def _server_user() -> str | None:
    """Who runs the server: None (this process's user), or `postgres` when running as root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise NoPostgres(f"PostgreSQL refuses to run as root and there is no {SERVER_USER!r} user to run it "
                         "as (Debian's postgresql package creates it; .ci/run installs that)") from None
    if not shutil.which("runuser"):
        raise NoPostgres("PostgreSQL refuses to run as root, and runuser (util-linux) is missing to run it"
                         f" as {SERVER_USER!r}")
    return SERVER_USER


@contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server started for the block and removed after it (NoPostgres: this machine has none)."""
    bin_dir = find_binaries()
    if bin_dir is None:
        raise NoPostgres("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in"
                         " /usr/lib/postgresql/*/bin: install Debian's postgresql package (.ci/run does)"
                         " to run the PostgreSQL tests")
    run_as = _server_user()
    root = Path(tempfile.mkdtemp(prefix="aar-pg-"))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bin_dir, root, _free_port(), run_as)
    try:
        try:
            server.start()
            yield server
        finally:
            if (server.data_dir / "postmaster.pid").exists():
                server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (skips the test when this machine has none)."""
    try:
        with throwaway_server() as server:
            yield server
    except NoPostgres as exc:
        pytest.skip(str(exc))


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    url = await postgres_server.new_database()
    try:
        yield url
    finally:
        await postgres_server.drop_database(url)
