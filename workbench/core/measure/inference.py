"""Run a run's models on text: teacher, student fp32 and student int8 behind one small `Predictor` interface.

The try-it panel and scripts call `run_predictors(RUN)` and `compare(...)`; nothing here trains or exports.
The int8 student is read from RUN/onnx/student-int8.onnx with ONNX Runtime when the export step wrote it.

    predictor.predict(texts)    -> (n, classes) class probabilities, rows summing to 1
    median_latency_ms(p, texts) -> median wall time of one predict() call over repeats
    predictor.size_bytes        -> size of the weights on disk
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from workbench.core.errors import WorkbenchError
from workbench.core.run_folder import INT4_STUDENT, INT8_STUDENT, RunFolder, read_json
from workbench.core.sources.models import check_model_folder, folder_trust, head_labels

TEACHER, STUDENT, STUDENT_INT8, STUDENT_INT4 = "teacher", "student fp32", "student int8", "student int4"
NOT_EXPORTED = "not exported yet"


class Predictor(Protocol):
    name: str
    labels: list[str]
    size_bytes: int

    def predict(self, texts: Sequence[str]) -> np.ndarray: ...


def softmax(logits: np.ndarray) -> np.ndarray:
    # float64 so that rows sum to 1 within rounding whatever the model's dtype.
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _labels_of(folder: Path) -> list[str]:
    from transformers import AutoConfig

    labels = head_labels(AutoConfig.from_pretrained(folder, trust_remote_code=folder_trust(folder)))
    if not labels:
        raise WorkbenchError(f"{folder}: has no classification head, so it cannot label text")
    return labels


class TorchPredictor:
    """A Hugging Face sequence classifier from a folder, run with PyTorch on the CPU."""

    def __init__(self, name: str, folder: str | Path, max_length: int = 128) -> None:
        # Imported here, not at the top: pruning imports torch, and the window imports this module before it
        # is shown (torch must load only afterwards).
        from transformers import AutoTokenizer

        from workbench.core.sources.model_runner import TorchRunner  # pruned students have per-layer shapes

        self.name = name
        # Run folders are sent around: nothing in them runs unless the run's own recipe opted in.
        self.folder = check_model_folder(Path(folder), folder_trust(folder))
        self.max_length = max_length
        self.labels = _labels_of(self.folder)
        self.tokenizer = AutoTokenizer.from_pretrained(self.folder, trust_remote_code=False)
        self.runner = TorchRunner(self.folder)
        self.size_bytes = self.runner.size_bytes

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.runner(_encode(self.tokenizer, texts, self.max_length)))


class OnnxPredictor:
    """An exported ONNX classifier (fp32 or int8) run with ONNX Runtime, tokenised by its source folder."""

    def __init__(self, name: str, onnx_path: str | Path, tokenizer_folder: str | Path, max_length: int = 128,
                 threads: int | None = None) -> None:
        from transformers import AutoTokenizer

        from workbench.core.sources.model_runner import OnnxRunner

        self.name = name
        self.path = Path(onnx_path)
        self.max_length = max_length
        self.labels = _labels_of(Path(tokenizer_folder))
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder, trust_remote_code=False)
        self.runner = OnnxRunner(self.path, threads)  # the benchmark's session: same timings in the panel
        self.size_bytes = self.runner.size_bytes  # with weights stored beside the graph

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.runner(_encode(self.tokenizer, texts, self.max_length)))


def _encode(tokenizer, texts: Sequence[str], max_length: int) -> dict[str, np.ndarray]:
    return dict(tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="np"))


def median_latency_ms(predictor: Predictor, texts: Sequence[str], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of one predict() call on these texts; warm-up calls are not counted."""
    for _ in range(warmup):
        predictor.predict(texts)
    times = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        predictor.predict(texts)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@dataclass
class ModelResult:
    name: str
    labels: list[str] = field(default_factory=list)
    probabilities: np.ndarray | None = None  # (n texts, classes)
    latency_ms: float | None = None
    size_bytes: int | None = None
    missing: str | None = None  # why this model has no result, e.g. "not exported yet"

    @property
    def predicted(self) -> list[str]:
        if self.probabilities is None:
            return []
        return [self.labels[i] for i in self.probabilities.argmax(axis=-1)]


def _run_max_length(run_dir: Path) -> int:
    from workbench.core.run_folder import RunFolder

    try:
        return RunFolder.open(run_dir).recipe().data.max_length
    except WorkbenchError:
        return 128


def teacher_folder(run_dir: Path) -> Path | None:
    """The run's task teacher: RUN/teacher when it was fine-tuned there, else its source when that already
    has a head (the job then skips fine-tuning and writes no teacher folder)."""
    from workbench.core.sources.models import resolve_model_source

    fine_tuned = RunFolder(run_dir).teacher_dir
    if (fine_tuned / "config.json").is_file():
        return fine_tuned
    try:
        source = resolve_model_source(RunFolder.open(run_dir).recipe().teacher.source).folder
    except WorkbenchError:
        return None
    return source if (source / "config.json").is_file() and _has_head(source) else None


def _has_head(folder: Path) -> bool:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return any(a.endswith("ForSequenceClassification") for a in config.get("architectures") or [])


def model_files_stamp(run_dir: str | Path) -> tuple[int | None, ...]:
    """When each of the run's model files was last written (None: not there): loaded predictors are stale
    once this changes, e.g. after an export that finished since."""
    run = RunFolder(Path(run_dir))
    files = (run.teacher_dir / "config.json", run.student_dir / "config.json", run.onnx_path(INT8_STUDENT),
             run.onnx_path(INT4_STUDENT))
    return tuple(path.stat().st_mtime_ns if path.is_file() else None for path in files)


def run_predictors(run_dir: str | Path, threads: int = 1) -> dict[str, Predictor | str]:
    """The run's models by name: teacher, student, int8 student (a model not there yet maps to the reason
    instead) and the int4 student where the run wrote one."""
    run_dir = Path(run_dir)
    max_length = _run_max_length(run_dir)
    found: dict[str, Predictor | str] = {}
    teacher = teacher_folder(run_dir)
    found[TEACHER] = TorchPredictor(TEACHER, teacher, max_length) if teacher else "no task teacher in this run"
    run = RunFolder(run_dir)
    student = run.student_dir
    if (student / "config.json").is_file():
        found[STUDENT] = TorchPredictor(STUDENT, student, max_length)
    else:
        found[STUDENT] = "the run has not written its student yet"
    int8 = run.onnx_path(INT8_STUDENT)
    if int8.is_file() and (student / "config.json").is_file():
        found[STUDENT_INT8] = OnnxPredictor(STUDENT_INT8, int8, student, max_length, threads)
    else:
        found[STUDENT_INT8] = NOT_EXPORTED
    int4 = run.onnx_path(INT4_STUDENT)
    if int4.is_file() and (student / "config.json").is_file():
        found[STUDENT_INT4] = OnnxPredictor(STUDENT_INT4, int4, student, max_length, threads)
    return found


# Where each model's test accuracy is recorded: evaluation.json (written by the job, the int8 student's after
# export) first, else bench.json (written by the benchmark step), which older runs only have for int8.
_EVALUATION_KEYS = {TEACHER: "teacher", STUDENT: "student", STUDENT_INT8: "student_int8",
                    STUDENT_INT4: "student_int4"}
_BENCH_NAMES = {TEACHER: "teacher-torch-fp32", STUDENT: "student-torch-fp32", STUDENT_INT8: "student-onnx-int8"}


def recorded_accuracies(run_dir: str | Path) -> dict[str, float | None]:
    """Test-split accuracy of each model as the run recorded it; None where nothing recorded it yet."""
    run = RunFolder(Path(run_dir))
    evaluation, bench = read_json(run.evaluation_path), read_json(run.bench_path)
    found: dict[str, float | None] = {}
    for name, key in _EVALUATION_KEYS.items():
        value = (evaluation.get(key) or {}).get("accuracy")
        if value is None:
            measured = (bench.get("models") or {}).get(_BENCH_NAMES.get(name, "")) or {}
            value = measured.get("test", {}).get("accuracy")
        found[name] = float(value) if isinstance(value, int | float) else None
    if found[STUDENT_INT4] is None:  # a fourth model only where the run wrote one
        del found[STUDENT_INT4]
    return found



def compare(predictors: dict[str, Predictor | str], texts: Sequence[str], repeats: int = 5,
            threads: int | None = 1) -> list[ModelResult]:
    """Every model on the same texts: probabilities, median latency and size; missing models say why.

    PyTorch runs with `threads` threads here (ONNX predictors get theirs from `run_predictors`): with more
    threads than idle cores, OpenMP workers wait on each other and latency jumps tenfold and more on a busy
    machine (measured: 20 ms with 1 thread, 440 ms with 2 on 2 shared cores), which would compare noise."""
    import torch

    if not texts:
        raise WorkbenchError("give at least one text to classify")
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        results = []
        for name, predictor in predictors.items():
            if isinstance(predictor, str):
                results.append(ModelResult(name, missing=predictor))
                continue
            probabilities = predictor.predict(texts)
            latency = median_latency_ms(predictor, texts, repeats)
            results.append(ModelResult(name, predictor.labels, probabilities, latency, predictor.size_bytes))
    finally:
        torch.set_num_threads(previous)
    return results


def predict_batches(predictors: dict[str, Predictor | str], texts: Iterable[str], batch_size: int = 64,
                    threads: int | None = 1) -> Iterator[tuple[list[str], dict[str, np.ndarray]]]:
    """Every present model on `texts` one batch at a time: (the batch, each model's class probabilities).

    The texts are read lazily and nothing of a batch outlives it here, so memory stays bounded however many
    texts there are; a caller that stops iterating stops the work at the next batch. Threads as in `compare`."""
    import torch

    present = {name: p for name, p in predictors.items() if not isinstance(p, str)}
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        iterator = iter(texts)
        while batch := list(itertools.islice(iterator, batch_size)):
            yield batch, {name: predictor.predict(batch) for name, predictor in present.items()}
    finally:
        torch.set_num_threads(previous)
