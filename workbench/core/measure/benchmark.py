"""Benchmark of a run's models: latency (median, p95) and throughput per batch size and sequence length,
peak memory, file size, test accuracy and macro-F1, written to RUN/bench.json.

Timings on shared machines drift by tens of percent, so the models are timed interleaved: every round runs
each model once on the same shape (starting with a different model each round) and the medians are taken
over rounds. PyTorch and ONNX Runtime get the same fixed thread count, and ONNX Runtime's workers stop
spinning at the end of each run, so that no model steals cores from the next.

The rounds are interleaved within a runtime, one runtime after the other: interleaved with PyTorch, ONNX
Runtime models at batch 1 took 1.2-5x their own time (a different model worst hit in each process, the int8
student at 4.4 ms instead of 1.1), while PyTorch's OpenMP workers stayed alive between rounds; timed apart,
they agree across processes within a few percent. Each timing keeps its spread, and bench.json the machine's
load while they ran (machine_load.py): figures timed on a busy machine are marked noisy.
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.compress.export import export_run
from workbench.core.measure import machine_load
from workbench.core.measure.evaluation import classification_metrics
from workbench.core.run_folder import INT8_STUDENT, RunFolder, write_json
from workbench.core.sources.model_runner import (
    SESSION_CONFIG,
    SESSION_DISABLED_OPTIMIZERS,
    OnnxRunner,
    TorchRunner,
    onnx_size_bytes,
)
from workbench.core.sources.models import folder_size_bytes
from workbench.core.sources.split_inputs import Batch, Split, encode_batches, load_splits, load_tokenizer_from

Runner = Callable[[Batch], np.ndarray]
MEMORY_METHOD = ("peak RSS delta: the process's resident-set high-water mark (VmHWM, reset through "
                 "/proc/self/clear_refs) after loading the model and running the largest shape once, minus "
                 "the resident set just before loading")


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # "torch" | "onnx" | "onnx-ort-defaults" (ONNX Runtime's own load-time optimizers, for baselines)
    path: Path  # a Hugging Face folder (torch) or an .onnx file
    tokenizer: Path  # the folder whose tokenizer turns text into this model's ids

    @property
    def runtime(self) -> str:
        return "onnxruntime" if self.kind.startswith("onnx") else "torch"

    @property
    def size_bytes(self) -> int:
        return folder_size_bytes(self.path) if self.kind == "torch" else onnx_size_bytes(self.path)


def export_if_missing(run: RunFolder, dev: Split) -> None:
    """Export the run's ONNX artifacts (int8 checked on its `dev` split) when it has none yet."""
    if not (run.onnx_path("student-fp32.onnx").is_file() and run.onnx_path("teacher-fp32.onnx").is_file()):
        export_run(run.path, dev=dev)


def default_variants(run_dir: str | Path) -> list[Variant]:
    """Teacher and student in PyTorch fp32 and every ONNX artifact the run has."""
    run = RunFolder(Path(run_dir))
    teacher, student = run.teacher_dir, run.student_dir
    candidates = [
        Variant("teacher-torch-fp32", "torch", teacher, teacher),
        Variant("teacher-onnx-fp32", "onnx", run.onnx_path("teacher-fp32.onnx"), teacher),
        Variant("teacher-onnx-int8", "onnx", run.onnx_path("teacher-int8.onnx"), teacher),
        Variant("student-torch-fp32", "torch", student, student),
        Variant("student-onnx-fused-fp32", "onnx", run.onnx_path("student-fused.onnx"), student),
        Variant("student-onnx-int8", "onnx", run.onnx_path(INT8_STUDENT), student),
    ]
    return [v for v in candidates if v.path.exists()]


def load_runner(variant: Variant, threads: int) -> Runner:
    """A function from a batch to logits (the core's one model runner); torch runs under inference mode with
    its default sdpa attention."""
    if variant.runtime == "onnxruntime":
        return OnnxRunner(variant.path, threads, ort_default_optimizers=variant.kind == "onnx-ort-defaults")
    return TorchRunner(variant.path)


def measure(variants: Sequence[Variant], test: Split, threads: int = 2, batches: Sequence[int] = (1, 32),
            seq_lens: Sequence[int] = (64, 128), repeats: int = 20, warmup: int = 3,
            between_models: Callable[[], None] = lambda: None,
            scored: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Everything bench.json holds except the run folder; `test` is the split that accuracy is taken on.
    `between_models` runs after each model is loaded or scored and after each shape is timed (a cancel
    check, when a job measures). `scored`: test metrics already taken on this split, by variant name (a
    job scores its models before it measures them; each is scored once)."""
    import onnxruntime
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        tokenizers = {v.tokenizer: load_tokenizer_from(v.tokenizer) for v in variants}
        largest = _timing_inputs(test.texts, tokenizers, max(batches), max(seq_lens))
        runners, models = {}, {}
        for variant in variants:
            runners[variant.name], peak = _load_measuring_memory(variant, threads, largest[variant.tokenizer])
            between_models()
            models[variant.name] = {"kind": variant.kind, "path": str(variant.path), "size_bytes": variant.size_bytes,
                                    "peak_memory_bytes": peak, "latency": []}
        for variant in variants:
            known = (scored or {}).get(variant.name)
            metrics = known or _classify(runners[variant.name], tokenizers[variant.tokenizer], test)
            models[variant.name]["test"] = {k: metrics[k] for k in ("accuracy", "macro_f1", "examples")}
            between_models()
        before = machine_load.sample()
        for batch in batches:
            for seq_len in seq_lens:
                inputs = _timing_inputs(test.texts, tokenizers, batch, seq_len)
                calls = {v.name: _bind(runners[v.name], inputs[v.tokenizer]) for v in variants}
                runtimes = {v.name: v.runtime for v in variants}
                for name, seconds in time_by_runtime(calls, runtimes, repeats, warmup).items():
                    models[name]["latency"].append(_latency_entry(batch, seq_len, seconds))
                between_models()
        load = machine_load.load_between(before, machine_load.sample(),
                                         [entry for model in models.values() for entry in model["latency"]])
    finally:
        torch.set_num_threads(previous_threads)
    return {
        "threads": threads,
        "threads_detail": {"torch.set_num_threads": threads, "ort.intra_op_num_threads": threads,
                           "ort.inter_op_num_threads": 1, **{f"ort.{k}": v for k, v in SESSION_CONFIG.items()},
                           "ort.disabled_optimizers": SESSION_DISABLED_OPTIMIZERS},
        "protocol": f"interleaved rounds per runtime (ONNX Runtime models, then PyTorch ones), {warmup} warm-up "
                    f"runs per model and shape, {repeats} timed rounds; "
                    "inputs are test-split texts padded or truncated to exactly the sequence length",
        "memory_method": MEMORY_METHOD if all(m["peak_memory_bytes"] is not None for m in models.values())
        else "unavailable on this platform (no /proc/self/clear_refs)",
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "hardware": machine_load.hardware(), "torch": torch.__version__,
                    "onnxruntime": onnxruntime.__version__},
        "load": load,
        "test_split": {"examples": len(test.texts)},
        "models": models,
    }


def benchmark_run(run_dir: str | Path, threads: int = 2, batches: Sequence[int] = (1, 32),
                  seq_lens: Sequence[int] = (64, 128), repeats: int = 20, warmup: int = 3) -> dict[str, Any]:
    """Benchmark the run's default variants, exporting them first when the run has none yet, and write
    RUN/bench.json."""
    run = RunFolder.open(run_dir)
    dev, test = load_splits(run.path, "dev", "test")
    export_if_missing(run, dev)
    result = {"run_dir": str(run.path),
              **measure(default_variants(run.path), test, threads, batches, seq_lens, repeats, warmup)}
    write_json(run.bench_path, result)
    return result


def time_interleaved(calls: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per call for each named call; round r starts at the r-th call so that no model always
    follows the same neighbour."""
    names = list(calls)
    for name in names:
        for _ in range(warmup):
            calls[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = time.perf_counter()
            calls[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def time_by_runtime(calls: dict[str, Callable[[], object]], runtimes: dict[str, str], repeats: int,
                    warmup: int) -> dict[str, list[float]]:
    """`time_interleaved` for the calls of each runtime in turn (ONNX Runtime first): see the module's note."""
    seconds: dict[str, list[float]] = {}
    for runtime in sorted(set(runtimes.values()), key=lambda name: name != "onnxruntime"):
        group = {name: call for name, call in calls.items() if runtimes[name] == runtime}
        seconds.update(time_interleaved(group, repeats, warmup))
    return {name: seconds[name] for name in calls}


def score_variant(variant: Variant, test: Split, threads: int = 2) -> dict[str, Any]:
    """The full classification metrics (per class, confusion matrix) of one model on `test`."""
    return _classify(load_runner(variant, threads), load_tokenizer_from(variant.tokenizer), test)


def predict_variant(variant: Variant, test: Split, threads: int = 2) -> np.ndarray:
    """The class one model predicts for each example of `test`, scored as `score_variant` scores it (for paired
    comparisons, which need the examples, not the totals)."""
    return _predict(load_runner(variant, threads), load_tokenizer_from(variant.tokenizer), test)


def _classify(runner: Runner, tokenizer, test: Split) -> dict[str, Any]:
    return classification_metrics(test.labels, _predict(runner, tokenizer, test), test.label_names)


def _predict(runner: Runner, tokenizer, test: Split) -> np.ndarray:
    encoded = encode_batches(test.texts, tokenizer, test.max_length, 64)
    return np.concatenate([runner(batch).argmax(-1) for batch in encoded])


def _latency_entry(batch: int, seq_len: int, seconds: list[float]) -> dict[str, Any]:
    median, p95 = statistics.median(seconds), float(np.percentile(seconds, 95))
    spread = statistics.stdev(seconds) / statistics.mean(seconds) if len(seconds) > 1 else 0.0
    return {"batch": batch, "seq_len": seq_len, "median_ms": median * 1e3, "p95_ms": p95 * 1e3,
            "throughput_per_s": batch / median, "runs": len(seconds), "cv": spread, "p95_over_median": p95 / median}


def _bind(runner: Runner, batch: Batch) -> Callable[[], object]:
    return lambda: runner(batch)


def _timing_inputs(texts: list[str], tokenizers: dict[Path, Any], batch: int, seq_len: int) -> dict[Path, Batch]:
    """One batch per tokenizer: `batch` test texts (repeated when the split is smaller), exactly seq_len ids."""
    rows = [texts[i % len(texts)] for i in range(batch)]
    return {folder: encode_batches(rows, tokenizer, seq_len, batch, pad_to=seq_len)[0]
            for folder, tokenizer in tokenizers.items()}


def _load_measuring_memory(variant: Variant, threads: int, batch: Batch) -> tuple[Runner, int | None]:
    _release_free_memory()
    tracking = _peak_tracking()
    before = _status_kb("VmRSS") if tracking else 0
    runner = load_runner(variant, threads)
    runner(batch)
    return runner, (_status_kb("VmHWM") - before) * 1024 if tracking else None


def _release_free_memory() -> None:
    """Collect garbage and hand freed heap back to the OS, so a model's growth is not hidden in memory an
    earlier model freed."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _peak_tracking() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS; False where /proc does not offer that."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def format_table(result: dict[str, Any]) -> str:
    """bench.json as a plain-text table: one row per model and shape, with size, memory and accuracy."""
    noisy = machine_load.noisy_note(result)
    lines = [*([f"⚠ {noisy}"] if noisy else []), f"{result['threads']} threads; {result['protocol']}",
             f"{'model':<24} {'batch':>5} {'seq':>4} {'median ms':>10} {'p95 ms':>8} {'ex/s':>8} "
             f"{'size MiB':>9} {'peak MiB':>9} {'accuracy':>9} {'macro-F1':>9}"]
    for name, model in result["models"].items():
        peak = model["peak_memory_bytes"]
        for entry in model["latency"]:
            lines.append(
                f"{name:<24} {entry['batch']:>5} {entry['seq_len']:>4} {entry['median_ms']:>10.2f} "
                f"{entry['p95_ms']:>8.2f} {entry['throughput_per_s']:>8.1f} {model['size_bytes'] / 2**20:>9.1f} "
                f"{'-' if peak is None else f'{peak / 2**20:.0f}':>9} {model['test']['accuracy']:>9.4f} "
                f"{model['test']['macro_f1']:>9.4f}")
    return "\n".join(lines)
