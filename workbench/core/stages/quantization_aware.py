"""The job's quantization-aware distillation stage (compress/qat.py): post-training int8 is measured on the
dev split first, and only when it loses more than `quantization.max_accuracy_drop` does the student train
through int8 fake-quant against the teacher's soft labels. RUN/qat.json records the decision and, after the
stage, the same measurement again."""

from __future__ import annotations

from collections.abc import Iterator

from workbench.core.compress.qat import QAT, fake_quantized, int8_accuracy_drop, qat_decision, qat_stage
from workbench.core.distill.precision import trains_in_bf16
from workbench.core.events import ArtifactWritten, Event
from workbench.core.methods.qat import QUANTIZATION_AWARE
from workbench.core.methods.registry import while_training
from workbench.core.run_folder import write_json
from workbench.core.sources.split_inputs import split_of
from workbench.core.stages.context import JobContext
from workbench.core.stages.training import dev_evaluator, train


def quantization_aware_training(context: JobContext) -> Iterator[Event]:
    if context.resume.done(QAT):
        return
    recipe, student = context.recipe, context.student.student
    quantization, threads = recipe.quantization, recipe.training.threads or 2
    dev = split_of(context.data, "dev", recipe.data.max_length)
    decision = qat_decision(student, context.tokenizer, dev, quantization, threads)
    if decision["run"]:
        stage = qat_stage(context.student, context.teacher, context.loaders.distill, quantization,
                          recipe.distillation, dev_evaluator(context, student), context.teacher_cache(),
                          recipe.data.max_length, trains_in_bf16(recipe.training))
        with fake_quantized(student, quantization.per_channel), while_training(student):
            yield from train(context, stage)
        decision["dev_fp32_accuracy_after"], decision["dev_int8_accuracy_after"] = int8_accuracy_drop(
            student, context.tokenizer, dev, quantization, threads)
    context.resume.finish(QAT)
    if context.writes_files:
        write_json(context.run.qat_path, decision)
        yield context.log(ArtifactWritten("QAT report", str(context.run.qat_path)))


def qat_wanted(context: JobContext) -> bool:
    return QUANTIZATION_AWARE.applies_to(context.recipe)
