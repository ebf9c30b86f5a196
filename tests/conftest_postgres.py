"""A throw-away PostgreSQL server for the warehouse tests (imported by tests/test_sources.py).

:func:`start_server` creates a cluster with ``initdb`` in a fresh temporary
folder and starts it with ``pg_ctl``, listening only on a unix socket in that
folder (no TCP port, so parallel test workers never collide), with
``log_statement=all`` so that tests can read the SQL the server received.
PostgreSQL refuses to run as root: when the tests run as root (CI), the
cluster's files belong to, and the server runs as, the unprivileged ``nobody``
user (``subprocess`` ``user=``); the root test process still connects through
the socket with the cluster's superuser ``qa`` (trust authentication, local
socket only). :func:`stop_server` stops it (``pg_ctl stop -m immediate``) and
deletes the folder.

Binaries are looked up on ``PATH`` and then in ``/usr/lib/postgresql/*/bin``
(Debian's layout, newest first); without them the fixture skips its tests.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "qa"
DATABASE = "postgres"
UNPRIVILEGED = "nobody"
SKIP_MESSAGE = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
    "/usr/lib/postgresql/*/bin; install Debian's 'postgresql' package to run these tests"
)


def find_bindir(
    path: str | None = None, debian_root: str | Path = "/usr/lib/postgresql"
) -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (searched on ``path``, default
    ``$PATH``, then in ``<debian_root>/<version>/bin``), or None.
    """
    candidates = []
    found = shutil.which("initdb", path=path)
    if found:
        candidates.append(Path(found).resolve().parent)
    candidates += sorted(
        Path(debian_root).glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for d in candidates:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    return None


@dataclass(frozen=True)
class PostgresServer:
    """A running temporary cluster."""

    bindir: Path
    root: Path
    run_as: str | None  # the unprivileged user when the tests run as root

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@/{DATABASE}?host={self.socket_dir}"

    def log_text(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""


def _run(server_user: str | None, args: list[str]) -> None:
    kwargs = {"user": server_user} if server_user else {}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr or proc.stdout}")


def start_server(bindir: Path) -> PostgresServer:
    """initdb + pg_ctl start in a new temporary folder (see the module docstring)."""
    run_as = UNPRIVILEGED if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="qa-pg-"))  # short path: socket names are limited
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    root.chmod(0o755)  # the test process must reach the socket and the log
    server = PostgresServer(bindir=bindir, root=root, run_as=run_as)
    try:
        _run(
            run_as,
            [
                str(bindir / "initdb"),
                "-D",
                str(server.datadir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "--locale=C",
                "--encoding=UTF8",
            ],
        )
        options = " ".join(
            [
                "-c listen_addresses=''",
                f"-c unix_socket_directories='{server.socket_dir}'",
                "-c log_statement=all",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        _run(
            run_as,
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(server.datadir),
                "-l",
                str(server.logfile),
                "-o",
                options,
                "-w",
                "-t",
                "120",
                "start",
            ],
        )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def stop_server(server: PostgresServer) -> None:
    """Stop the cluster and delete its folder."""
    try:
        _run(
            server.run_as,
            [str(server.bindir / "pg_ctl"), "-D", str(server.datadir), "-m", "immediate", "stop"],
        )
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; skips when no server binary exists."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(SKIP_MESSAGE)
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg is not installed")
    server = start_server(bindir)
    try:
        yield server
    finally:
        stop_server(server)
