"""The window's door into the core (workbench/core/api.py): every name it lists is its owner's own object,
looked up at each use, and importing the door loads none of the heavy libraries."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core import api

HEAVY = ("torch", "transformers", "onnxruntime", "datasets", "scipy", "matplotlib", "optuna")


def test_the_door_lists_the_same_names_for_readers_and_at_run_time():
    tree = ast.parse(Path(api.__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported = {(node.module, alias.name) for node in block.body for alias in node.names}
    assert imported == {(module, name) for module, names in api._OWNERS.items() for name in names}


def test_each_name_is_its_owners_object_looked_up_at_each_use(monkeypatch):
    for name in api.__all__:
        assert getattr(api, name) is getattr(importlib.import_module(api._OWNER_OF[name]), name), name
    from workbench.core import job

    monkeypatch.setattr(job, "run_job", "replaced")
    assert api.run_job == "replaced"
    with pytest.raises(AttributeError, match="no attribute 'train'"):
        api.train  # noqa: B018 (the lookup is the test)


def test_importing_the_door_loads_no_heavy_library_nor_any_core_module():
    code = ("import sys, workbench.core.api; print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])),"
            " sorted(m for m in sys.modules if m.startswith('workbench.core.') and m != 'workbench.core.api'))")
    result = subprocess.run([sys.executable, "-c", code, *HEAVY], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.stdout.split() == ["[]", "[]"]
