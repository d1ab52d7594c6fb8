"""Distillation's own gain, measured on one finished run: its int8 student against the fused int8 teacher (what
ONNX Runtime alone gives in one line) and against the PyTorch teacher (how the project runs it).

Latency is timed by the benchmark's one protocol (workbench.core.measure.benchmark.measure: one process, the
same threads, interleaved rounds per runtime), so the ratios agree with `workbench bench`. Accuracy kept is
the student's test accuracy over the reference's; its 95 % interval comes from the paired difference of the
two models on the same test examples (workbench.core.paired): kept = 1 + difference / reference accuracy,
the reference's accuracy taken as fixed, so the interval carries the paired uncertainty of the difference.
The run folder keeps totals, not per-example predictions, so the three models are scored here again with the
core's one runner (the totals equal the job's own: same runner, same split).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.measure import machine_load
from workbench.core.measure.benchmark import Variant, default_variants, export_if_missing, measure, predict_variant
from workbench.core.measure.evaluation import classification_metrics
from workbench.core.paired import paired_difference
from workbench.core.run_folder import RunFolder, read_json
from workbench.core.sources.split_inputs import load_splits

STUDENT, TEACHER_INT8, TEACHER_TORCH = "student-onnx-int8", "teacher-onnx-int8", "teacher-torch-fp32"
REFERENCES = (TEACHER_INT8, TEACHER_TORCH)
BATCHES = (1, 32)


def quiet_check(seconds: float = 3.0) -> str:
    """'' or why the machine is not quiet right now: sampled before timing, so a busy machine is said at
    once rather than after minutes of noisy rounds."""
    first = machine_load.sample()
    time.sleep(seconds)
    load = machine_load.load_between(first, machine_load.sample(), [])
    return machine_load.noisy_note({"load": load})


def gain_variants(run: RunFolder, ort_defaults: bool = False) -> list[Variant]:
    """The PyTorch teacher, the fused int8 teacher and the int8 student of the run; with `ort_defaults` the ONNX
    models load with ONNX Runtime's own load-time optimizers instead of the sessions the project tunes
    (model_runner.ort_session), the ONNX Runtime lever's off position."""
    found = {variant.name: variant for variant in default_variants(run.path)}
    missing = [name for name in (*REFERENCES, STUDENT) if name not in found]
    if missing:
        raise SystemExit(f"{run.path}: no {', '.join(missing)}; run it with quantization on and reference "
                         "models kept (quantization.reference_models), or export it with `workbench export`")
    chosen = [found[name] for name in (TEACHER_TORCH, TEACHER_INT8, STUDENT)]
    return [replace(v, kind="onnx-ort-defaults") if ort_defaults and v.runtime == "onnxruntime" else v
            for v in chosen]


def measure_run(run_dir: Path, threads: int, seq_len: int | None, repeats: int, warmup: int,
                ort_defaults: bool = False) -> tuple[dict[str, Any], np.ndarray]:
    """The run's gain row (JSON-ready) and which test examples its int8 student got right (for paired
    comparisons between runs); `seq_len` None: the recipe's max_length, as the job's own benchmark."""
    run = RunFolder.open(run_dir)
    dev, test = load_splits(run.path, "dev", "test")
    export_if_missing(run, dev)
    variants = gain_variants(run, ort_defaults)
    predictions = {v.name: predict_variant(v, test, threads) for v in variants}
    scored = {name: classification_metrics(test.labels, predicted, test.label_names)
              for name, predicted in predictions.items()}  # so that `measure` does not score them again
    length = seq_len or run.recipe().data.max_length
    if busy := quiet_check():
        print(f"⚠ {run.path.name}, before timing: {busy}", file=sys.stderr)
    result = measure(variants, test, threads, BATCHES, (length,), repeats, warmup, scored=scored)
    correct = {name: predicted == test.labels for name, predicted in predictions.items()}
    split = hashlib.sha256(json.dumps([test.texts, test.labels.tolist()]).encode()).hexdigest()[:16]
    return ({"run_dir": str(run.path), "test_split": split, "busy_before_timing": busy, **gain_row(result, correct),
             "job": job_time(run)},
            correct[STUDENT])


def gain_row(result: dict[str, Any], correct: dict[str, np.ndarray]) -> dict[str, Any]:
    """Accuracy, kept share with its interval, latency and size ratios of the student against each reference,
    from `measure`'s result and each model's per-example correctness."""
    models = result["models"]
    student = models[STUDENT]
    row: dict[str, Any] = {"seq_len": student["latency"][0]["seq_len"], "threads": result["threads"],
                           "student_accuracy": student["test"]["accuracy"], "load": result["load"],
                           "noisy": machine_load.noisy_note(result), "against": {}}
    for name in REFERENCES:
        reference = models[name]
        row["against"][name] = {
            "accuracy": reference["test"]["accuracy"],
            "kept": kept_share(correct[name], correct[STUDENT]),
            "size_ratio": reference["size_bytes"] / student["size_bytes"],
            "latency": {f"b{batch}": latency_ratio(reference, student, batch) for batch in BATCHES}}
    return row


def kept_share(reference_correct: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """Accuracy kept (this model's over the reference's) with the 95 % interval of the paired difference."""
    difference = paired_difference(reference_correct, correct)
    base = difference.reference_accuracy
    if not base:
        return {"ratio": math.nan, "low": math.nan, "high": math.nan, "p_value": difference.p_value}
    return {"ratio": difference.accuracy / base, "low": 1 + difference.low / base, "high": 1 + difference.high / base,
            "p_value": difference.p_value}


def latency_ratio(reference: dict[str, Any], student: dict[str, Any], batch: int) -> dict[str, float]:
    """The reference's median over the student's at one batch size; `spread` is the round-to-round variation of
    the two timings combined (their CVs in quadrature, times the ratio): a spread, not a confidence interval."""
    slow, fast = (next(e for e in model["latency"] if e["batch"] == batch) for model in (reference, student))
    ratio = slow["median_ms"] / fast["median_ms"]
    return {"ratio": ratio, "spread": ratio * math.hypot(slow["cv"], fast["cv"]), "rounds": fast["runs"],
            "reference_ms": slow["median_ms"], "student_ms": fast["median_ms"]}


def job_time(run: RunFolder) -> dict[str, Any]:
    """The job's wall time (RUN/timings.json) and what makes it not a cold, one-process run: a teacher from the
    reuse cache (warm; the issue's budget is for a cold run), or a resumed job (timings.json then holds only
    the last process's phases)."""
    total = read_json(run.timings_path).get("total")
    marks = ["warm"] if run.teacher_reuse_path.is_file() else []
    if sum(record.get("event") == "JobPlanned" for record in run.metrics()) > 1:
        marks.append("resumed")
    return {"wall_s": total, "marks": marks}
