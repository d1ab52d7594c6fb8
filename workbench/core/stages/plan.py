"""A job's plan once its inputs are read: the phases it will run, in order, and each one's rough length in
training steps, so that a view can show one progress bar and one ETA for the whole job, export and benchmark
included (the JobPlanned event). A training stage's length is its own step count; a phase outside training
counts its inference batches, each about a third of a training step (a forward pass, no backward pass and no
optimizer step): rough, but it scales with the data and the models as those phases do."""

from __future__ import annotations

from typing import Any

from workbench.core.compress.qat import QAT
from workbench.core.distill.training_loop import stage_steps
from workbench.core.recipe import StageConfig
from workbench.core.stages.context import PRUNING, JobContext
from workbench.core.stages.finishing import BENCHMARK, BENCHMARK_BATCHES, BENCHMARK_REPEATS, EXPORT, SCORING
from workbench.core.stages.inputs import FINETUNE
from workbench.core.stages.training import GENERAL, INTERMEDIATE, PREDICTION, recovery_config

FORWARD_BATCH = 1 / 3  # one inference batch, in training steps
PARITY_CHECKS = 4  # ONNX artifacts checked against their PyTorch model on the dev split (fp32, fused, int8 x2)
SCORED_AT_EXPORT = 2  # the int8 and int4 students scored on the test split
BENCHMARKED = 5  # models timed: the teacher in PyTorch and fused int8, the student in PyTorch, ONNX fp32 and int8


def phase_steps(context: JobContext, phase: str) -> float:
    """The phase's rough length in training steps (0 where it cannot be told before it runs)."""
    recipe, loaders = context.recipe, context.loaders
    distillation = recipe.distillation
    training: dict[str, tuple[StageConfig, Any]] = {
        FINETUNE: (distillation.teacher_finetune, loaders.train),
        INTERMEDIATE: (distillation.intermediate, loaders.distill),
        PREDICTION: (distillation.prediction, loaders.distill), PRUNING: (recovery_config(context), loaders.distill),
        QAT: (StageConfig(epochs=recipe.quantization.qat_epochs), loaders.distill)}
    if phase == GENERAL:
        return float(distillation.general.max_steps or 0)  # a stream of unknown length otherwise
    if phase in training:
        config, loader = training[phase]
        return float(stage_steps(config, len(loader))) if config.epochs or config.max_steps else 0.0
    test, dev = len(loaders.test), len(loaders.dev)
    batches = {SCORING: 2 * test, EXPORT: PARITY_CHECKS * dev + SCORED_AT_EXPORT * test,
               BENCHMARK: BENCHMARKED * (test + BENCHMARK_REPEATS * len(BENCHMARK_BATCHES))}
    return batches.get(phase, 0) * FORWARD_BATCH
