"""What a candidate costs on this machine, measured before it trains, and the reference models beside it.

A candidate's latency and size depend on its shape, not its weights, so the untrained student (built as the
recipe asks, pruned by weight magnitude to the candidate's ratios, its vocabulary cut when asked) is exported,
fused and quantized exactly as a finished job would (compress/export.py), then timed interleaved with the
fused int8 teacher at the budget's batch, sequence length and thread count (measure/benchmark.py). The
references (the teacher in PyTorch, ONNX fp32 and fused int8, no distillation) are timed once per worker, in
the process that times the candidates, so their figures share the machine's state.

A candidate's latency is put on one scale for the whole study: its time over the int8 teacher's in the same
rounds, times the int8 teacher's median over every round this worker timed it in (the references' and each
candidate's). The int8 teacher, the same graph every time, took 1.54 to 2.32 ms from one candidate's rounds
to the next in one study; raw figures from different rounds ranked a 4-layer student (1.1 ms against the
3-layer one's 1.0, timed side by side) 25 % faster than the 3-layer one. The median, not the references'
figure alone: one disturbed sitting must not move every candidate.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from workbench.core.compress.export import export_onnx, fuse, quantize_dynamic_int8, quantize_static_int8
from workbench.core.measure.benchmark import Runner, Variant, load_runner, time_by_runtime, time_interleaved
from workbench.core.recipe import Recipe
from workbench.core.recipe_search import SearchBudget
from workbench.core.run_folder import RunFolder, read_json, write_json
from workbench.core.search.folder import StudyFolder
from workbench.core.sources.split_inputs import Batch, encode_batches, load_tokenizer_from, split_of

REPEATS, WARMUP = 15, 3
TEACHER_INT8 = "teacher-onnx-int8"
REFERENCE_NAMES = ("teacher-torch-fp32", "teacher-onnx-fp32", TEACHER_INT8)


@dataclass(frozen=True)
class Cost:
    latency_ms: float  # median int8 latency at the budget's shape, on the references' scale (see above)
    size_mib: float  # the int8 model file
    teacher_int8_ms: float  # the fused int8 teacher, timed in the same rounds
    measured_ms: float  # the median as timed in those rounds

    @property
    def speedup_int8_teacher(self) -> float:
        """The fused int8 teacher's time over the candidate's, in the same rounds."""
        return self.teacher_int8_ms / self.measured_ms

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "speedup_int8_teacher": self.speedup_int8_teacher}


class CostMeter:
    """One per worker: the task data, the untrained teacher with a task head, and the reference models."""

    def __init__(self, base: Recipe, folder: StudyFolder) -> None:
        from workbench.core.sources.data import load_task_data

        self.base, self.folder = base, folder
        self.data = load_task_data(base.data)
        self.texts = list(self.data.splits["dev"]["text"]) or list(self.data.splits["train"]["text"])
        self.teacher = _teacher_with_head(base, self.data.label_names)
        self.references: dict[str, dict[str, Any]] = {}
        self.teacher_int8_timings: list[float] = []  # ms, one per sitting: the scale (see the module's note)
        self._reference_dir = self._worker_scratch("reference-teacher")

    def measure_references(self) -> dict[str, dict[str, Any]]:
        """Export the teacher (fp32, fused int8), time all three interleaved, write STUDY/references.json."""
        teacher_dir = self._reference_dir
        self.teacher.save_pretrained(teacher_dir)
        self._tokenizer().save_pretrained(teacher_dir)
        fp32, int8 = export_int8(teacher_dir, self.base, "dynamic", self._calibration)
        variants = [Variant(REFERENCE_NAMES[0], "torch", teacher_dir, teacher_dir),
                    Variant(REFERENCE_NAMES[1], "onnx", fp32, teacher_dir),
                    Variant(TEACHER_INT8, "onnx", int8, teacher_dir)]
        budget = self.base.search.budget
        runners = {v.name: load_runner(v, budget.threads) for v in variants}
        inputs = _inputs(teacher_dir, self.texts, budget)
        with _torch_threads(budget.threads):
            seconds = time_by_runtime({name: _bound(run, inputs) for name, run in runners.items()},
                                      {v.name: v.runtime for v in variants}, REPEATS, WARMUP)
        self.references = {v.name: {"latency_ms": statistics.median(seconds[v.name]) * 1e3,
                                    "size_mib": v.size_bytes / 2**20} for v in variants}
        self.teacher_int8_timings.append(self.references[TEACHER_INT8]["latency_ms"])
        write_json(self.folder.references_path, {"batch": budget.batch, "seq_len": budget.seq_len,
                                                 "threads": budget.threads, "models": self.references})
        return self.references

    def measure(self, recipe: Recipe, label: str) -> Cost:
        """The candidate's untrained int8 model, timed against the fused int8 teacher."""
        from workbench.core.sources.student import build_student

        folder = self.folder.candidates_dir / label
        shutil.rmtree(folder, ignore_errors=True)
        student = build_student(recipe.student, self.teacher, self.data.label_names)
        self._shrink_and_save(student, recipe, folder)
        _, int8 = export_int8(folder, recipe, recipe.quantization.mode, self._calibration)
        teacher = self._reference_dir
        timed = time_against_teacher(Variant(label, "onnx", int8, folder),
                                     Variant(TEACHER_INT8, "onnx", teacher / "int8.onnx", teacher),
                                     self.texts, self.base.search.budget)
        shutil.rmtree(folder, ignore_errors=True)
        self.teacher_int8_timings.append(timed.teacher_int8_ms)
        return rescaled(timed, statistics.median(self.teacher_int8_timings))

    def teacher_accuracies(self, run: RunFolder) -> dict[str, float]:
        """The fine-tuned teacher's test accuracy in PyTorch and fused int8 (STUDY/teacher-accuracy.json): the
        int8 one measured once per study, from the first trained trial's teacher (the study's cached one),
        since trials neither export the teacher nor benchmark it."""
        from workbench.core.measure.benchmark import score_variant

        if kept := read_json(self.folder.teacher_accuracy_path):
            return kept
        folder = self._worker_scratch("fine-tuned-teacher")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(run.teacher_dir, folder)
        _, int8 = export_int8(folder, self.base, "dynamic", self._calibration)
        test = split_of(self.data, "test", self.base.data.max_length)  # every trial keeps the base's data
        accuracies = {REFERENCE_NAMES[0]: read_json(run.evaluation_path)["teacher"]["accuracy"],
                      TEACHER_INT8: score_variant(Variant(TEACHER_INT8, "onnx", int8, folder), test,
                                                  self.base.search.budget.threads)["accuracy"]}
        write_json(self.folder.teacher_accuracy_path, accuracies)
        shutil.rmtree(folder, ignore_errors=True)
        return accuracies

    def _worker_scratch(self, name: str) -> Path:
        """A scratch folder of this worker's own: workers that join a study share its candidates folder."""
        return self.folder.candidates_dir / f"{name}-{socket.gethostname()}-{os.getpid()}"

    def _shrink_and_save(self, student, recipe: Recipe, folder: Path) -> None:
        from workbench.core.compress.pruning import prune
        from workbench.core.compress.vocab_pruning import prune_vocabulary, select_vocabulary

        pruning = recipe.pruning
        if pruning.heads_ratio or pruning.ffn_ratio:
            prune(student, pruning.heads_ratio, pruning.ffn_ratio, "magnitude")  # the shape, not the choice
        tokenizer = self._tokenizer()
        if pruning.hidden_ratio:  # as the pruning stage does it after the above; ranked on the study's texts
            import torch

            from workbench.core.compress.width import prune_width

            batches = [{name: torch.from_numpy(value) for name, value in batch.items()}
                       for batch in encode_batches(self.texts[:64], tokenizer, self.base.data.max_length, 32)]
            prune_width(student, pruning.hidden_ratio, "magnitude", batches)
        if pruning.vocabulary:
            texts = [*self.data.splits["train"]["text"], *self.data.splits["dev"]["text"]]
            selection = select_vocabulary(student, tokenizer, texts, pruning.vocabulary_margin)
            prune_vocabulary(student, tokenizer, selection, folder)
            return
        student.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    def _tokenizer(self):
        from workbench.core.sources.models import load_tokenizer, resolve_model_source

        return load_tokenizer(resolve_model_source(self.base.teacher.source))

    def _calibration(self, folder: Path, count: int) -> list[Batch]:
        tokenizer = load_tokenizer_from(folder)
        return encode_batches(self.texts[:count * 32], tokenizer, self.base.data.max_length, 32)


def time_against_teacher(model: Variant, teacher: Variant, texts: list[str], budget: SearchBudget) -> Cost:
    """An int8 model's median latency at the budget's shape, timed interleaved with the fused int8 teacher: how
    the study times every candidate (and how a finished run's student is put on the same scale)."""
    calls = {model.name: _bound(load_runner(model, budget.threads), _inputs(model.tokenizer, texts, budget)),
             TEACHER_INT8: _bound(load_runner(teacher, budget.threads), _inputs(teacher.tokenizer, texts, budget))}
    with _torch_threads(budget.threads):
        seconds = time_interleaved(calls, REPEATS, WARMUP)
    measured_ms, teacher_ms = (statistics.median(seconds[name]) * 1e3 for name in (model.name, TEACHER_INT8))
    return Cost(measured_ms, model.path.stat().st_size / 2**20, teacher_ms, measured_ms)


def rescaled(cost: Cost, teacher_int8_ms: float) -> Cost:
    """The cost on the scale where the int8 teacher takes `teacher_int8_ms` (see the module's note)."""
    return replace(cost, latency_ms=cost.measured_ms * teacher_int8_ms / cost.teacher_int8_ms)


def _inputs(tokenizer_folder: Path, texts: list[str], budget: SearchBudget) -> Batch:
    rows = [texts[i % len(texts)] for i in range(budget.batch)]
    return encode_batches(rows, load_tokenizer_from(tokenizer_folder), budget.seq_len, budget.batch,
                          pad_to=budget.seq_len)[0]


def export_int8(folder: Path, recipe: Recipe, mode: str, calibration) -> tuple[Path, Path]:
    """fp32 and int8 ONNX beside the model, made the way a job's export makes them."""
    from transformers import AutoConfig

    settings = recipe.quantization
    fp32 = export_onnx(folder, folder / "fp32.onnx")
    if mode == "static":
        int8 = quantize_static_int8(fp32, folder / "int8.onnx", calibration(folder, settings.calibration_batches),
                                    settings.per_channel)
        return fp32, int8
    source = fuse(fp32, folder / "fused.onnx", AutoConfig.from_pretrained(folder)).path if settings.fusion else fp32
    return fp32, quantize_dynamic_int8(source, folder / "int8.onnx", settings.per_channel)


def _teacher_with_head(recipe: Recipe, label_names: list[str]):
    """The teacher as a classifier of these labels; its head is untrained, which changes no cost."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from workbench.core.sources.models import resolve_model_source

    torch.manual_seed(recipe.training.seed)
    folder = resolve_model_source(recipe.teacher.source).folder
    return AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=len(label_names), id2label=dict(enumerate(label_names)),
        label2id={name: i for i, name in enumerate(label_names)}, ignore_mismatched_sizes=True,
        attn_implementation="sdpa")


def _bound(runner: Runner, batch: Batch):
    return lambda: runner(batch)


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """PyTorch's thread count for the timed section (ONNX Runtime sessions get theirs when created)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
