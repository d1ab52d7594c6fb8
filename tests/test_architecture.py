"""The architecture contracts in pyproject.toml (import-linter): the core is Qt-free, its rooms layered, and the
window enters it by one door."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def test_the_window_is_forbidden_every_core_module_but_its_four_doors():
    """The whole core package is forbidden, so a core module added later is too; only the door, the recipe,
    the events and the run folder are let through, by name."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    door = next(c for c in config["contracts"] if c["name"].startswith("The window enters the core by one door"))
    assert door["type"] == "forbidden" and door["source_modules"] == ["workbench.gui"]
    assert door["forbidden_modules"] == ["workbench.core"]
    doors = {"api", "recipe", "events", "run_folder"}
    assert set(door["ignore_imports"]) == {f"workbench.gui.** -> workbench.core.{name}" for name in doors}
