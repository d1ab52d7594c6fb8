"""The environment a bundle's receiver has: a fresh virtual environment with only the bundle's
requirements.txt installed. The bundle's tests and benchmark run predict.py in it.

Wheels are installed from a cache folder with --no-index, so a machine that filled the cache once needs no
package index again; a cache that lacks the pinned wheels is filled with `pip download` first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from workbench.core.deploy.errors import DeployError

WHEEL_CACHE = Path(os.environ.get("WORKBENCH_WHEEL_CACHE",
                                  Path.home() / ".cache" / "tinybert-workbench" / "deploy-wheels"))
# The receiver's shell: none of this process's module paths.
RECEIVER_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def run_plain(command: list, **options) -> subprocess.CompletedProcess:
    """A command in the receiver's shell, its output captured as text."""
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, env=RECEIVER_ENV,
                          timeout=900, **options)


def venv_python(folder: Path) -> Path:
    return folder / ("Scripts" if os.name == "nt" else "bin") / "python"


def make_receiver_env(folder: Path, requirements: Path, wheels: Path = WHEEL_CACHE) -> Path:
    """A new virtual environment in `folder` with only `requirements` installed; returns its python."""
    made = run_plain([sys.executable, "-m", "venv", folder])
    if made.returncode != 0:
        raise DeployError(f"{folder}: cannot make a virtual environment ({_last_line(made)})")
    python = venv_python(folder)
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
               "--find-links", wheels, "-r", requirements]
    if run_plain(install).returncode == 0:
        return python
    fetched = run_plain([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                         "--only-binary=:all:", "--dest", wheels, "-r", requirements])
    if fetched.returncode != 0:
        raise DeployError(f"{wheels}: lacks the wheels {requirements} pins and the package index is out of reach "
                          f"({_last_line(fetched)}); fill it once on a machine with the index")
    installed = run_plain(install)
    if installed.returncode != 0:
        raise DeployError(f"{folder}: pip could not install {requirements} ({_last_line(installed)})")
    return python


def _last_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else f"exit status {done.returncode}"
