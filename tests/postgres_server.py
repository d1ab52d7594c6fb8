"""A throwaway PostgreSQL server (Debian's `postgresql` package, which .ci/run installs where missing) for
tests of search workers sharing one study through a database: initdb into a temporary folder, a Unix socket
in that folder only (no TCP port to collide on), trust authentication, stopped and removed afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SKIP_REASON = ("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (Debian package `postgresql`; "
               ".ci/run installs it)")


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


@contextmanager
def postgres_server(binaries: Path) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh server's `postgres` database, as Optuna's RDBStorage takes it."""
    # The server refuses to run as root: then it runs as Debian's `postgres` user, which owns its folder.
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
    if as_server:
        shutil.chown(root, "postgres")
    data, pg_ctl = root / "data", str(binaries / "pg_ctl")
    subprocess.run([*as_server, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True)
    subprocess.run([*as_server, pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "start",
                    "-o", f"-k {root} -c listen_addresses='' -c fsync=off"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={root}"
    finally:
        subprocess.run([*as_server, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
