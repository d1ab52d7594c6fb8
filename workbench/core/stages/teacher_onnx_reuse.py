"""The reference teacher's ONNX artifacts (fp32, fused, int8), kept with the cached fine-tuned teacher they
were made from, with their parity on the dev split and their scores on the test split: a later job reusing
that teacher with the same export settings copies them instead of exporting, quantizing, checking and scoring
the same teacher again.

    CACHE/ENTRY/onnx/SETTINGS/teacher-*.onnx   as the job that first made them wrote them
    CACHE/ENTRY/onnx/SETTINGS/record.json      the settings, parity measurements, test scores

SETTINGS hashes what the artifacts depend on beyond the teacher's key (the int8 mode, fusion, per-channel
weights, static calibration's batch count, the opset). Parity is kept as measured (agreement, max |Δlogit|)
and judged again under each job's own tolerance. A record that does not read as expected is ignored.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

from workbench.core.compress.export import DEFAULT_OPSET, TEACHER_ARTIFACTS
from workbench.core.compress.parity import ParityResult
from workbench.core.recipe import Recipe
from workbench.core.run_folder import RunFolder, link_or_copy, read_json, write_json
from workbench.core.sources.model_runner import onnx_size_bytes
from workbench.core.stages.teacher_reuse import ONNX_DIR, cached_teacher

RECORD = "record.json"
SCORE_KEYS = ("accuracy", "macro_f1", "examples")


def kept_teacher_onnx(recipe: Recipe, key: dict[str, Any]) -> Path | None:
    """The folder of the cached teacher's artifacts for this recipe's export settings, when kept whole."""
    folder = _folder(recipe, key)
    if folder is None:
        return None
    record = read_json(folder / RECORD)
    made = record.get("artifacts")
    complete = isinstance(made, list) and made and all(name in TEACHER_ARTIFACTS and (folder / name).is_file()
                                                       for name in made)
    return folder if complete and record.get("settings") == _settings(recipe) else None


def kept_parity(folder: Path | None, examples: int) -> dict[str, tuple[float, float]]:
    """(agreement, max |Δlogit|) of each kept artifact, measured on a dev split of `examples` examples."""
    parity = read_json(folder / RECORD).get("parity", {}) if folder else {}
    return {name: (float(m["agreement"]), float(m["max_logit_delta"])) for name, m in parity.items()
            if name in TEACHER_ARTIFACTS and isinstance(m, dict) and m.get("examples") == examples
            and all(_number(m.get(k)) for k in ("agreement", "max_logit_delta"))}


def kept_scores(folder: Path | None, examples: int) -> dict[str, dict[str, Any]]:
    """The kept test scores by benchmark variant name (accuracy, macro-F1), on a test split of `examples`."""
    scores = read_json(folder / RECORD).get("test", {}) if folder else {}
    return {name: score for name, score in scores.items() if isinstance(score, dict)
            and score.get("examples") == examples and all(_number(score.get(k)) for k in SCORE_KEYS)}


def keep_teacher_onnx(recipe: Recipe, key: dict[str, Any], run: RunFolder, parity: list[ParityResult]) -> None:
    """Copy the run's teacher artifacts and their parity into the cache (whole or not at all), unless an
    artifact keeps weights in external data files (a teacher over 2 GB), which are left uncached."""
    folder = _folder(recipe, key)
    made = [name for name in TEACHER_ARTIFACTS if run.onnx_path(name).is_file()]
    if folder is None or not made or any(onnx_size_bytes(run.onnx_path(n)) != run.onnx_path(n).stat().st_size
                                         for n in made):
        return
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    measured = {r.artifact: {"examples": r.examples, "agreement": r.agreement, "max_logit_delta": r.max_logit_delta}
                for r in parity if r.artifact in made}
    try:
        partial.mkdir(parents=True)
        for name in made:
            link_or_copy(run.onnx_path(name), partial / name)
        write_json(partial / RECORD, {"settings": _settings(recipe), "artifacts": made, "parity": measured,
                                      "test": {}})
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    except BaseException:  # a full or read-only cache keeps no half-copied artifacts
        shutil.rmtree(partial, ignore_errors=True)
        raise


def keep_scores(folder: Path | None, scores: dict[str, dict[str, Any]]) -> None:
    """Add test scores of the kept artifacts (by benchmark variant name) to their record."""
    if folder and (record := read_json(folder / RECORD)):
        record["test"] = {**record.get("test", {}), **{n: {k: s[k] for k in SCORE_KEYS} for n, s in scores.items()}}
        write_json(folder / RECORD, record)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


def _settings(recipe: Recipe) -> dict[str, Any]:
    config = recipe.quantization
    return {"enabled": config.enabled, "mode": config.mode, "fusion": config.fusion, "per_channel": config.per_channel,
            "calibration_batches": config.calibration_batches if config.mode == "static" else None,
            "opset": DEFAULT_OPSET}


def _folder(recipe: Recipe, key: dict[str, Any]) -> Path | None:
    entry = cached_teacher(recipe, key)
    name = hashlib.sha256(json.dumps(_settings(recipe), sort_keys=True).encode()).hexdigest()[:16]
    return entry / ONNX_DIR / name if entry else None
