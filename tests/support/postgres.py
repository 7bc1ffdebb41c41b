"""A throwaway PostgreSQL server for tests: `initdb` and `pg_ctl` in a temporary directory.

PostgreSQL refuses to run as root (FIELD-NOTES, "PostgreSQL for tests"). As root, the binaries
run as the `postgres` user through `runuser`, in a directory that user owns. pytest's `tmp_path`
lies under /tmp/pytest-of-root (mode 0700), which `postgres` cannot enter, so as root the
cluster goes in a fresh directory under the system temp dir instead, removed by `stop()`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

SUPERUSER = "postgres"
DATABASE = "medpos_test"
RUN_AS = "postgres"
START_ATTEMPTS = 3
# A Unix socket path must fit in sun_path (108 bytes) with "/.s.PGSQL.NNNNN" appended.
MAX_SOCKET_DIR_LEN = 80
_INSTALL_HINT = "run `make setup` (apt-get install -y postgresql)"


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL cannot be started here; the message says what to install or fix."""


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl."""
    candidates = [
        p.parent
        for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if (p.parent / "pg_ctl").exists() and p.parent.parent.name.isdigit()
    ]
    if not candidates:
        raise PostgresUnavailableError(
            f"PostgreSQL server binaries (initdb, pg_ctl) not found under "
            f"/usr/lib/postgresql/*/bin: {_INSTALL_HINT}"
        )
    return max(candidates, key=lambda p: int(p.parent.name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running cluster; `.url` is a SQLAlchemy URL for its test database."""

    bindir: Path
    base: Path
    port: int
    run_as: str | None
    owns_base: bool
    database: str = DATABASE
    user: str = SUPERUSER

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    @property
    def logfile(self) -> Path:
        return self.base / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one PostgreSQL binary, as `run_as` when set; raise with its output on failure."""
        argv = [str(self.bindir / tool), *args]
        if self.run_as is not None:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        result = subprocess.run(
            argv, cwd=self.base, capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            raise PostgresUnavailableError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip() or result.stdout}"
                f"\n--- {self.logfile} ---\n{self.log_tail()}"
            )
        return result

    def log_tail(self) -> str:
        """The last lines of the server log, for error messages."""
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """`pg_ctl stop -m fast`, then remove a directory this helper created; idempotent."""
        # The pid file, not a flag: a start that timed out may still have left a server running.
        if (self.datadir / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        if self.owns_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _base_dir(tmp_dir: Path, run_as: str | None) -> tuple[Path, bool]:
    """A directory for the cluster that `run_as` can write; True if the caller must remove it."""
    if run_as is None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="postgres-", dir=tmp_dir))
        if len(str(base / "run")) <= MAX_SOCKET_DIR_LEN:
            return base, False
        base.rmdir()
    base = Path(tempfile.mkdtemp(prefix="medpos-pg-"))
    if run_as is not None:
        try:
            entry = pwd.getpwnam(run_as)
        except KeyError:
            shutil.rmtree(base)
            raise PostgresUnavailableError(
                f"running as root, and there is no {run_as!r} user to run PostgreSQL as: "
                f"{_INSTALL_HINT}"
            ) from None
        os.chown(base, entry.pw_uid, entry.pw_gid)
    return base, True


def start_postgres(tmp_dir: Path) -> PostgresServer:
    """initdb (trust, UTF8, locale C), start on a free port, create the test database."""
    bindir = find_bindir()
    run_as = RUN_AS if os.geteuid() == 0 else None
    if run_as is not None and shutil.which("runuser") is None:
        raise PostgresUnavailableError("running as root needs `runuser` (util-linux) to drop root")
    base, owns_base = _base_dir(tmp_dir, run_as)
    server = PostgresServer(bindir, base, 0, run_as, owns_base)
    try:
        _prepare(server)
        for attempt in range(1, START_ATTEMPTS + 1):
            server.port = _free_port()
            try:
                _start(server)
                break
            except PostgresUnavailableError:
                # Another process may have taken the free port between probe and bind.
                if attempt == START_ATTEMPTS or "already in use" not in server.log_tail():
                    raise
        server.run("createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", SUPERUSER, DATABASE)
    except BaseException:
        with contextlib.suppress(PostgresUnavailableError):
            server.stop()  # the first error is the one worth reporting
        raise
    return server


def _prepare(server: PostgresServer) -> None:
    server.run(
        "initdb",
        "-D",
        str(server.datadir),
        "-A",
        "trust",
        "-U",
        SUPERUSER,
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )


def _start(server: PostgresServer) -> None:
    server.socket_dir.mkdir(exist_ok=True)
    if server.run_as is not None:
        entry = pwd.getpwnam(server.run_as)
        os.chown(server.socket_dir, entry.pw_uid, entry.pw_gid)
    # pg_ctl hands -o to a shell, so paths are quoted; fsync off: a test cluster is disposable.
    options = (
        f"-p {server.port} -k {shlex.quote(str(server.socket_dir))} "
        "-c listen_addresses=127.0.0.1 -c fsync=off"
    )
    server.run(
        "pg_ctl",
        "-D",
        str(server.datadir),
        "-l",
        str(server.logfile),
        "-o",
        options,
        "-w",
        "-t",
        "30",
        "start",
    )
