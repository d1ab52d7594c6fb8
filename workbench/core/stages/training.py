"""The job's training stages: general distillation, teacher fine-tuning, the two TinyBERT task-distillation
stages, and pruning followed by its recovery stage. Each is a function from the job's context to events."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from workbench.core.distill.distillation import finetune_losses, intermediate_losses, prediction_losses
from workbench.core.distill.precision import trains_in_bf16
from workbench.core.distill.training_loop import Stage
from workbench.core.events import ArtifactWritten, Event, StageFinished
from workbench.core.measure.evaluation import classification_metrics
from workbench.core.measure.prediction import predict
from workbench.core.methods.registry import prune_as_recipe, prunes_weights, while_training
from workbench.core.recipe import StageConfig
from workbench.core.run_folder import write_json
from workbench.core.stages.context import PRUNING, JobContext, seed_everything
from workbench.core.stages.inputs import FINETUNE, general_loader
from workbench.core.stages.teacher_reuse import keep_teacher

GENERAL, INTERMEDIATE, PREDICTION, RECOVERY = "general", "intermediate", "prediction", "recovery"
PRUNING_BATCHES = 16  # training batches that rank heads and neurons by gradient importance


def general_distillation(context: JobContext) -> Iterator[Event]:
    """Learns from the base teacher, so it runs before the teacher is fine-tuned."""
    config = context.recipe.distillation.general
    losses = _intermediate_losses(context, cached=False)
    yield from train(context, Stage(GENERAL, context.student, losses, general_loader(context.recipe, context.tokenizer),
                                    config))


def teacher_finetune(context: JobContext) -> Iterator[Event]:
    teacher = context.teacher
    yield from train(context, Stage(FINETUNE, teacher, finetune_losses(), context.loaders.train,
                                    context.recipe.distillation.teacher_finetune,
                                    dev_evaluator(context, teacher), keep_best=True))
    fine_tuned = context.run.teacher_dir
    if context.resume.done(FINETUNE) and context.writes_files and not fine_tuned.is_dir():
        teacher.save_pretrained(fine_tuned)
        context.tokenizer.save_pretrained(fine_tuned)
        yield context.log(ArtifactWritten("teacher", str(fine_tuned)))
        if context.teacher_key is not None:
            kept = context.keep_in_cache("the fine-tuned teacher",
                                         lambda: keep_teacher(context.recipe, context.teacher_key, fine_tuned))
            if kept:
                yield context.log(ArtifactWritten("cached teacher", str(kept)))
    teacher.eval()
    teacher.requires_grad_(False)


def intermediate_distillation(context: JobContext) -> Iterator[Event]:
    """Stage 1: embeddings, attention and hidden states of the mapped layers."""
    student = context.student
    yield from train(context, Stage(INTERMEDIATE, student, _intermediate_losses(context, cached=True),
                                    context.loaders.distill, context.recipe.distillation.intermediate,
                                    dev_evaluator(context, student.student)))


def prediction_distillation(context: JobContext) -> Iterator[Event]:
    """Stage 2: the teacher's soft labels (and the true labels, when weighted)."""
    yield from train(context, _prediction_stage(context, PREDICTION, context.recipe.distillation.prediction))


def pruning_and_recovery(context: JobContext) -> Iterator[Event]:
    """Each compression method of the pruning stage that the recipe turns on (methods/registry.py), in order,
    then recovery by prediction-layer distillation inside what the methods keep while training."""
    run, student = context.run, context.student.student
    if not context.resume.done(PRUNING):
        batches = itertools.islice(context.loaders.train, PRUNING_BATCHES)
        reports = prune_as_recipe(student, context.recipe.pruning, batches)
        context.student.match_width()  # width pruning narrows the student under its projections
        context.resume.finish(PRUNING)
        if context.writes_files:
            student.save_pretrained(run.pruned_student_dir)
            for file, report in reports.items():  # a RunFolder property, the method's report
                if report:
                    write_json(getattr(run, file), report)
                    yield context.log(ArtifactWritten("pruning report", str(getattr(run, file))))
    with while_training(student):  # e.g. after a resume the saved zeros are the mask again
        yield from train(context, _prediction_stage(context, RECOVERY, recovery_config(context)))


def pruning_wanted(context: JobContext) -> bool:
    return prunes_weights(context.recipe.pruning)


def train(context: JobContext, stage: Stage) -> Iterator[Event]:
    """Run one training stage unless the run already finished it (or it has no work)."""
    if context.resume.done(stage.name):
        return
    if not _has_work(stage.config):
        context.resume.finish(stage.name)
        return
    resume = context.resume.for_stage(stage.name)
    if resume is None:  # a stage's draws (dropout, order) do not depend on which stages ran or were reused
        seed_everything(context.recipe.training.seed)
    for event in context.runner.run_stage(stage, resume):
        if isinstance(event, StageFinished):
            context.resume.finish(stage.name)
        yield context.log(event)


def dev_evaluator(context: JobContext, model):
    labels = np.array(context.data.splits["dev"]["label"])
    loader, names = context.loaders.dev, context.data.label_names

    def evaluate() -> dict[str, Any]:
        metrics = classification_metrics(labels, predict(model, loader, context.accelerator.device), names)
        return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}

    return evaluate


def _prediction_stage(context: JobContext, name: str, config: StageConfig) -> Stage:
    distillation = context.recipe.distillation
    losses = prediction_losses(context.teacher, distillation.weights, distillation.temperature,
                               context.teacher_cache(), context.recipe.data.max_length,
                               trains_in_bf16(context.recipe.training))
    return Stage(name, context.student, losses, context.loaders.distill, config,
                 dev_evaluator(context, context.student.student), keep_best=True)


def recovery_config(context: JobContext) -> StageConfig:
    """The recovery stage as configured; its learning rate defaults to the prediction stage's."""
    recovery = context.recipe.pruning.recovery
    return StageConfig(**{**recovery.model_dump(), "lr": recovery.lr or context.recipe.distillation.prediction.lr})


def _intermediate_losses(context: JobContext, cached: bool):
    recipe = context.recipe
    return intermediate_losses(context.teacher, context.student, context.mapping, recipe.distillation.weights,
                               recipe.mapping.hidden, recipe.mapping.attention,
                               context.teacher_cache() if cached else None, recipe.distillation.attention_loss,
                               recipe.distillation.relation_heads, recipe.data.max_length,
                               trains_in_bf16(recipe.training))


def _has_work(config: StageConfig) -> bool:
    return config.epochs > 0 or bool(config.max_steps)
