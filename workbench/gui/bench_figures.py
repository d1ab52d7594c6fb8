"""Size, latency and test accuracy of a run's models as its benchmark results (RUN/bench.json) and
evaluation (RUN/evaluation.json) recorded them: what the Runs panel's Pareto chart, the Try-it charts and the
presentation view show, with the ratios against the PyTorch teacher and the fused int8 teacher. Qt-free;
reads files only, and says None for anything not measured.

Latency is compared at batch 1 and the recipe's max length when that was measured, else the shortest
sequence measured, as the report's headline does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.api import WorkbenchError
from workbench.core.run_folder import INT8_STUDENT, RunFolder, read_json

TEACHER, TEACHER_INT8, STUDENT, STUDENT_INT8 = "teacher", "teacher int8", "student fp32", "student int8"
BENCH_NAMES = {TEACHER: ("teacher-torch-fp32",), TEACHER_INT8: ("teacher-onnx-int8", "teacher-onnx-fused-int8"),
               STUDENT: ("student-torch-fp32",), STUDENT_INT8: ("student-onnx-int8",)}
EVALUATION_KEYS = {TEACHER: "teacher", STUDENT: "student", STUDENT_INT8: "student_int8"}
GOOD, BAD, GREY = "#2e7d32", "#c62828", "#757575"


@dataclass
class Figures:
    size_mib: float | None = None
    latency_ms: float | None = None
    accuracy: float | None = None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def batch1_latency(model: dict[str, Any], seq_len: int | None) -> float | None:
    entries = [e for e in model.get("latency") or [] if isinstance(e, dict) and e.get("batch") == 1]
    preferred = [e for e in entries if e.get("seq_len") == seq_len]
    chosen = preferred or sorted(entries, key=lambda e: e.get("seq_len") or 0)
    return _number(chosen[0].get("median_ms")) if chosen else None


def _bench_model(bench: dict[str, Any], name: str) -> dict[str, Any]:
    models = bench.get("models") if isinstance(bench.get("models"), dict) else {}
    names = list(BENCH_NAMES[name])
    if name == TEACHER_INT8:  # whatever the benchmark calls its fused int8 teacher
        names += [n for n in models if n.startswith("teacher") and "int8" in n]
    return next((models[n] for n in names if isinstance(models.get(n), dict)), {})


def recipe_max_length(run: RunFolder) -> int | None:
    """The run's max length, read through the recipe's bounded loader (a run folder may come from anyone)."""
    try:
        return run.recipe().data.max_length
    except WorkbenchError:
        return None


def run_figures(run_dir: str | Path, seq_len: int | None = None) -> dict[str, Figures]:
    """teacher, teacher int8 (the fused int8 teacher, when the benchmark measured it), student fp32 and
    student int8: each model's figures, None where nothing measured them. Latency at batch 1 and `seq_len`
    (the run's max length when not given)."""
    run = RunFolder(Path(run_dir))
    seq_len = seq_len or recipe_max_length(run)
    bench, evaluation = read_json(run.bench_path), read_json(run.evaluation_path)
    figures = {}
    for name in BENCH_NAMES:
        model = _bench_model(bench, name)
        accuracy = _number((evaluation.get(EVALUATION_KEYS.get(name, "")) or {}).get("accuracy"))
        if accuracy is None:
            accuracy = _number((model.get("test") or {}).get("accuracy"))
        size = _number(model.get("size_bytes"))
        figures[name] = Figures(size / 2**20 if size else None, batch1_latency(model, seq_len), accuracy)
    int8 = run.onnx_path(INT8_STUDENT)
    if figures[STUDENT_INT8].size_mib is None and int8.is_file():
        figures[STUDENT_INT8].size_mib = int8.stat().st_size / 2**20
    return figures


def ratio_text(key: str, reference: Figures, model: Figures, against: str) -> tuple[str, str] | None:
    """('7.9× smaller than the teacher', colour) or None when either figure is missing."""
    mine, theirs = getattr(model, key), getattr(reference, key)
    if mine is None or theirs is None:
        return None
    if key == "accuracy":
        points = 100 * (mine - theirs)
        return f"{points:+.1f} points vs {against}", GOOD if points >= -1 else BAD
    if not mine:
        return None
    ratio = theirs / mine
    better, worse = ("smaller", "larger") if key == "size_mib" else ("faster", "slower")
    text = f"{ratio:.1f}× {better}" if ratio >= 1 else f"{1 / ratio:.1f}× {worse}"
    return f"{text} than {against}", GOOD if ratio >= 1 else BAD


def cell_lines(key: str, name: str, figures: dict[str, Figures]) -> list[tuple[str, str]]:
    """The ratio lines under one model's value: against the PyTorch teacher, then the fused int8 teacher."""
    if name == TEACHER:
        return [("reference (PyTorch)", GREY)]
    lines = [ratio_text(key, figures[TEACHER], figures[name], "the teacher")]
    if any(v is not None for v in vars(figures[TEACHER_INT8]).values()):
        lines.append(ratio_text(key, figures[TEACHER_INT8], figures[name], "the int8 teacher"))
    return [line for line in lines if line]
