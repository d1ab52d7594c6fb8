"""The numbers a stakeholder reads first: how much smaller and faster the student is than the teacher, and
what share of the teacher's accuracy it keeps, always with its 95 % interval and never as a success when the
sanity checks flag the teacher (RUN/sanity.json).

With RUN/bench.json the comparison is the one the product promises: the teacher as users have it (PyTorch
fp32) against the int8 student, at batch 1. Without it only size and accuracy are known, from the model
folders and RUN/evaluation.json, and the headline says that speed is not measured yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.measure.machine_load import noisy_note
from workbench.core.measure.sanity import kept_share_text
from workbench.core.methods.html import size_text
from workbench.core.report.charts import ModelPoint
from workbench.core.run_folder import RunFolder, read_json
from workbench.core.run_summary import failed_artifacts
from workbench.core.sources.models import folder_size_bytes

TEACHER = "teacher-torch-fp32"
# The student the headline speaks for: the most compressed variant that exists and passed its parity check.
STUDENT_PREFERENCE = ("student-onnx-int8", "student-onnx-fused-fp32", "student-onnx-fp32", "student-torch-fp32")


@dataclass(frozen=True)
class Headline:
    text: str  # "8.4× smaller, 5.2× faster, 98.7% of the teacher's accuracy"
    basis: str  # which models and which measurement the numbers compare


def shipped(model: dict[str, Any], failed_artifacts: set[str]) -> bool:
    """Torch folders are never parity-checked; an ONNX file is shipped unless its check failed."""
    return Path(model["path"]).name not in failed_artifacts


def latency_shape(bench: dict[str, Any], preferred_seq_len: int) -> tuple[int, int] | None:
    """The (batch, sequence) to compare latency at: batch 1, the recipe's max length when it was measured,
    else the shortest sequence measured for every model."""
    shapes = [{(e["batch"], e["seq_len"]) for e in m.get("latency", [])} for m in bench["models"].values()]
    common = sorted(set.intersection(*shapes)) if shapes else []
    smallest_batch = [s for s in common if s[0] == min(b for b, _ in common)] if common else []
    preferred = [s for s in smallest_batch if s[1] == preferred_seq_len]
    return (preferred or smallest_batch or [None])[0]


def median_ms(model: dict[str, Any], shape: tuple[int, int]) -> float:
    return next(e["median_ms"] for e in model["latency"] if (e["batch"], e["seq_len"]) == shape)


def pareto_points(bench: dict[str, Any], shape: tuple[int, int], failed_artifacts: set[str]) -> list[ModelPoint]:
    return [ModelPoint(name, median_ms(model, shape), model["test"]["accuracy"], model["size_bytes"],
                       shipped(model, failed_artifacts))
            for name, model in bench["models"].items() if "test" in model]


def benchmarked_headline(bench: dict[str, Any], shape: tuple[int, int] | None, failed_artifacts: set[str],
                         sanity: dict[str, Any] | None = None) -> Headline | None:
    models = bench["models"]
    student_name = next((n for n in STUDENT_PREFERENCE if n in models and shipped(models[n], failed_artifacts)), None)
    if TEACHER in models and student_name is None and any(n in models for n in STUDENT_PREFERENCE):
        return Headline("No compressed student passed its checks, so none is shown as the result",
                        "Every student model differs from the PyTorch model it was made from by more than "
                        "rounding explains (see Parity of exported models below).")
    if TEACHER not in models or student_name is None or shape is None:
        return None
    teacher, student = models[TEACHER], models[student_name]
    speed = median_ms(teacher, shape) / median_ms(student, shape)
    share = kept_share_text(student["test"]["accuracy"], teacher["test"]["accuracy"],
                            teacher["test"].get("examples", 0), sanity)
    text = (f"{_ratio(teacher['size_bytes'] / student['size_bytes'], 'smaller', 'larger')}, "
            f"{_ratio(speed, 'faster', 'slower')}, {share}")
    basis = (f"{student_name} against {TEACHER}: size on disk {size_text(student['size_bytes'])} vs "
             f"{size_text(teacher['size_bytes'])}; median latency at batch {shape[0]}, sequence {shape[1]}, "
             f"{bench.get('threads', '?')} threads: {median_ms(student, shape):.2f} ms vs "
             f"{median_ms(teacher, shape):.2f} ms; test accuracy {student['test']['accuracy']:.1%} vs "
             f"{teacher['test']['accuracy']:.1%}." + (f" Latency is {noisy_note(bench)}." if noisy_note(bench) else ""))
    return Headline(text, basis)


def static_headline(run_path: Path, evaluation: dict[str, Any] | None,
                    sanity: dict[str, Any] | None = None) -> Headline:
    """Sizes of the PyTorch weights and accuracy from evaluation.json: what a run knows before the benchmark."""
    run = RunFolder(run_path)
    teacher, student = run.teacher_dir, run.student_dir
    parts, basis = [], []
    if teacher.is_dir() and student.is_dir() and folder_size_bytes(student):
        teacher_bytes, student_bytes = folder_size_bytes(teacher), folder_size_bytes(student)
        parts.append(_ratio(teacher_bytes / student_bytes, "smaller", "larger"))
        basis.append(f"PyTorch fp32 weights: student {_parameters(student)}{size_text(student_bytes)} vs teacher "
                     f"{_parameters(teacher)}{size_text(teacher_bytes)}.")
    parts.append("speed not measured yet")
    if evaluation and "student" in evaluation:
        teacher = evaluation["teacher"]
        parts.append(kept_share_text(evaluation["student"]["accuracy"], teacher["accuracy"],
                                     teacher.get("examples", 0), sanity))
        basis.append(f"Test accuracy {evaluation['student']['accuracy']:.1%} vs "
                     f"{evaluation['teacher']['accuracy']:.1%} (PyTorch models).")
    else:
        parts.append("accuracy not evaluated yet")
    basis.append("Not benchmarked yet: the command workbench bench RUN_DIR measures latency and the int8 "
                 "student's size.")
    return Headline(", ".join(parts), " ".join(basis))


def run_headline(run_path: Path) -> Headline:
    """The headline of a run from its files: the report's, the Training step's finish line and presentation's."""
    from workbench.core.errors import WorkbenchError

    run = RunFolder(run_path)
    bench, sanity = read_json(run.bench_path), read_json(run.sanity_path)
    try:
        max_length = run.recipe().data.max_length
    except WorkbenchError:
        max_length = 0
    shape = latency_shape(bench, max_length) if bench.get("models") else None
    found = bench.get("models") and benchmarked_headline(bench, shape, failed_artifacts(read_json(run.parity_path)),
                                                         sanity)
    return found or static_headline(run.path, read_json(run.evaluation_path) or None, sanity)


def _ratio(value: float, better: str, worse: str) -> str:
    """'3.2× smaller', or '1.3× larger' when the student lost: a ratio below 1 reads as nonsense."""
    word = better if value >= 1 else worse
    value = value if value >= 1 else 1 / value
    return f"{value:.1f}× {word}" if value < 10 else f"{value:.0f}× {word}"


def _parameters(folder: Path) -> str:
    """'22.7M parameters, ' from the safetensors headers (exact for pruned shapes, and no weights loaded)."""
    from safetensors import safe_open

    total = 0
    for path in folder.glob("*.safetensors"):
        with safe_open(path, framework="numpy") as handle:
            total += sum(math.prod(handle.get_slice(key).get_shape()) for key in handle.keys())
    if not total:
        return ""
    return f"{total / 1e6:.1f}M parameters, " if total >= 1e5 else f"{total:,} parameters, "
