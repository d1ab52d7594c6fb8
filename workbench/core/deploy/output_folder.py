"""Writing what deploy makes into a folder that the receiver may also use: deploy replaces only what it wrote
there before (listed in a manifest), and never writes over or deletes anything else.

The receiver's notes, and the `.venv` the README tells them to create inside a bundle, stay where they are.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from workbench.core.deploy.errors import DeployError
from workbench.core.run_folder import read_json

MANIFEST = ".workbench-bundle.json"


@dataclass(frozen=True)
class OutputKind:
    what: str  # how a message names it: "bundle", "web demo"
    names: frozenset[str]  # the files and folders this kind may write, and so replace
    marks: tuple[str, ...]  # entries that together mark an earlier output written before manifests existed


def earlier_output(out: Path, kind: OutputKind) -> list[str]:
    """The entries of an earlier output of `kind` in `out`, which a new one replaces; only an empty folder or an
    earlier output of the same kind may be written to, never a folder of other files."""
    if not out.name:
        raise DeployError(f"{out}: is the file system's root; give a folder to write the {kind.what} to")
    if out.exists() and not out.is_dir():
        raise DeployError(f"{out}: is a file; give a folder to write the {kind.what} to")
    if not out.is_dir():
        return []
    listed = read_json(out / MANIFEST).get("files")
    if isinstance(listed, list):  # a hand-edited manifest can never name anything outside the kind's own names
        return [name for name in listed if name in kind.names]
    if all((out / name).exists() for name in kind.marks):
        return sorted(name for name in kind.names if (out / name).exists())
    if any(out.iterdir()):
        raise DeployError(f"{out}: is not empty and holds no earlier {kind.what} (no {MANIFEST}); give a new or "
                          f"empty folder, and deploy writes only its own files there")
    return []


def move_into_place(staging: Path, out: Path, earlier: list[str]) -> list[str]:
    """Move the staged entries into `out`, the manifest last, then remove the earlier output's entries the new
    one lacks; an entry of the receiver's with one of our names is never written over."""
    entries = sorted(p.name for p in staging.iterdir())
    for name in entries:
        target = out / name
        ours = name in earlier and target.is_dir() == (staging / name).is_dir() and not target.is_symlink()
        if (target.exists() or target.is_symlink()) and not ours:
            raise DeployError(f"{target}: is in the way and was not written by workbench deploy; move it away or "
                              "give another folder")
    (staging / MANIFEST).write_text(json.dumps({"files": entries}, indent=2) + "\n", encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    for name in [*entries, MANIFEST]:
        _replace(staging / name, out / name)
    for name in set(earlier) - set(entries):
        _remove(out / name)
    staging.rmdir()
    return entries


def _replace(source: Path, target: Path) -> None:
    if source.is_dir():
        _remove(target)  # os.replace cannot put a folder over a non-empty one
    os.replace(source, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
