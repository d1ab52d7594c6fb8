"""A YAML alias bomb ("billion laughs": nine levels of nine aliases, under 400 bytes, 387 million values once
expanded) given to `workbench check` and `workbench run` in fresh processes, and to the window's recipe
loading (Recipe.load, the loader MainWindow.load_recipe calls) in this one: wall time and peak memory of each.

    .venv/bin/python benchmarks/alias_bomb.py

Peak memory of a command is its process's maximum resident set (interpreter and imports included); for the
in-process load it is tracemalloc's peak of the load alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

LEVELS = "abcdefghi"


def bomb_text() -> str:
    lines = [f"{LEVELS[0]}: &{LEVELS[0]} [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for previous, level in zip(LEVELS, LEVELS[1:], strict=False):
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    lines.append(f"name: *{LEVELS[-1]}")
    return "\n".join(lines) + "\n"


def in_child(argv: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, peak resident MiB, exit code and last stderr line of `workbench ARGV` in a fresh process."""
    code = "import sys; from workbench.cli import main; sys.exit(main(sys.argv[1:]))"
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest child's so far
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, child.returncode, stderr.strip().splitlines()[-1]


def main() -> None:
    from workbench.core.errors import RecipeError
    from workbench.core.recipe import Recipe

    path = Path(tempfile.mkdtemp()) / "bomb.yaml"
    path.write_text(bomb_text())
    print(f"bomb: {path.stat().st_size} bytes, {9 ** 9:,} values once expanded")
    for argv in (["check", str(path)], ["run", str(path)]):
        seconds, peak, code, message = in_child(argv)
        print(f"workbench {argv[0]:<5}  {seconds * 1000:7.0f} ms wall (process start included)  "
              f"peak RSS {peak:6.1f} MiB  exit {code}  {message}")
    tracemalloc.start()
    start = time.perf_counter()
    try:
        Recipe.load(path)
    except RecipeError:
        pass
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    print(f"window load      {seconds * 1000:7.1f} ms  tracemalloc peak {peak:6.2f} MiB")


if __name__ == "__main__":
    main()
