"""Shared fixtures.

PostgreSQL
----------
``postgres_url`` is the SQLAlchemy URL of a real PostgreSQL server for the whole
session:

- ``KPI_TEST_POSTGRES_URL`` set: that server (``postgresql+psycopg://…``);
- otherwise a throwaway cluster started here: ``initdb`` + ``pg_ctl`` from PATH or
  the newest ``/usr/lib/postgresql/*/bin`` (Debian's ``postgresql`` package), in a
  temporary directory, on 127.0.0.1 and a free port, as the ``postgres`` OS user
  when the tests run as root (``initdb`` refuses root). It is stopped and deleted
  at the end of the session.

Without PostgreSQL the tests that need it are skipped, except when ``CI`` is set:
there a missing server is a failure, never a silent skip.

``postgres_db`` gives each test module a fresh, empty database on that server.
Tests that use either fixture are marked ``postgres`` (``-m "not postgres"``).
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

POSTGRES_FIXTURES = {"postgres_url", "postgres_db"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> NoReturn:
    """Skip (on a developer's machine) or fail (in CI) for want of PostgreSQL."""
    if _in_ci():
        pytest.fail(f"PostgreSQL is required in CI (CI is set): {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


class _Cluster:
    """A throwaway PostgreSQL cluster in a temporary directory."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="kpiengine-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.as_user: list[str] = []
        # initdb and postgres refuse to run as root: run them as the postgres user
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            self.as_user = _run_as_postgres()
            shutil.chown(self.root, user="postgres")

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [*self.as_user, *args]
        if self.as_user and self.as_user[0] == "su":  # su takes one shell command line
            command = [*self.as_user, shlex.join(args)]
        return subprocess.run(
            command,
            cwd=self.root,  # the postgres user may not be allowed into the current directory
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> str:
        initdb = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")
        for _attempt in range(3):  # the free port can be taken before the server binds it
            self.port = _free_port()
            options = (
                f"-h 127.0.0.1 -p {self.port} -k {shlex.quote(str(self.root))}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            started = self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                "-o", options, "-w", "-t", "60", "start",
            )  # fmt: skip
            if started.returncode == 0:
                break
        else:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}{started.stderr}{log}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _postgres_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: from PATH, else the newest Debian install."""
    initdb = shutil.which("initdb")
    if initdb:
        for candidate in (Path(initdb).parent, Path(initdb).resolve().parent):
            if (candidate / "pg_ctl").exists():
                return candidate
    versions = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.parent.name))

    for path in sorted(versions, key=version, reverse=True):
        bindir = Path(path).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


def _run_as_postgres() -> list[str]:
    """The command prefix that runs a program as the ``postgres`` OS user."""
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no `postgres` OS user") from None
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    if shutil.which("su"):
        return ["su", "postgres", "-s", "/bin/sh", "-c"]
    raise RuntimeError("running as root and neither `runuser` nor `su` is available")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_ready(url: str, timeout: float = 30) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(sa.text("SELECT 1"))
                return
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (``postgresql+psycopg://…``) of a PostgreSQL server for this session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'kpiengine[postgresql]')")

    given = os.environ.get("KPI_TEST_POSTGRES_URL")
    if given:
        yield given
        return

    bindir = _postgres_bindir()
    if bindir is None:
        _unavailable("no initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin")
    try:
        cluster = _Cluster(bindir)
    except (RuntimeError, OSError) as error:
        _unavailable(str(error))
    try:
        url = cluster.start()
        _wait_until_ready(url)
    except Exception as error:  # any failure to start means "not available"
        cluster.stop()
        _unavailable(f"could not start a throwaway cluster with {bindir}: {error}")
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def postgres_db(postgres_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database for this test module, dropped afterwards."""
    import sqlalchemy as sa

    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.lower())[-30:].strip("_")
    name = f"kpi_{module}_{secrets.token_hex(4)}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
        yield sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            version = connection.dialect.server_version_info or (0,)
            force = " WITH (FORCE)" if version >= (13,) else ""
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
        admin.dispose()
