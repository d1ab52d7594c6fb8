"""The job's stages after training: scoring on the test split (with vocabulary pruning when asked), ONNX
export with its parity checks and the int8 student's score, and the speed benchmark. Only rank 0 runs them.

Each checks for cancel between the models it handles, so Cancel is honoured here too, not only in training.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from workbench.core.compress.vocab_pruning import prune_vocabulary, select_vocabulary
from workbench.core.distill.precision import training_precision
from workbench.core.events import ArtifactWritten, Event, Notice
from workbench.core.measure.evaluation import agreement, classification_metrics
from workbench.core.measure.prediction import predict
from workbench.core.measure.sanity import bag_of_words_predictions, flag_messages, sanity_checks
from workbench.core.methods.vocabulary import VOCABULARY
from workbench.core.run_folder import INT4_STUDENT, INT8_STUDENT, SHIPPED_PREFIX, read_json, write_json
from workbench.core.run_summary import result_flags
from workbench.core.sources.batches import eval_loader, tokenize
from workbench.core.sources.split_inputs import split_of
from workbench.core.stages.context import JobContext
from workbench.core.stages.teacher_onnx_reuse import (
    keep_scores,
    keep_teacher_onnx,
    kept_parity,
    kept_scores,
    kept_teacher_onnx,
)
from workbench.core.stages.teacher_reuse import keep_predictions, kept_predictions

SCORING, EXPORT, BENCHMARK = "scoring", "export", "benchmark"
BENCHMARK_BATCHES = (1, 32)
BENCHMARK_REPEATS = 10
JOB_LEAVES_OUT = {"teacher-onnx-fp32"}


def scoring(context: JobContext) -> Iterator[Event]:
    """Teacher and student on the test split; the student is written (vocabulary-pruned if asked)."""
    run, data = context.run, context.data
    labels, names = np.array(data.splits["test"]["label"]), data.label_names
    teacher_predictions = _teacher_test_predictions(context)
    context.control.raise_if_cancelled(SCORING)
    student = context.student.student
    student_predictions = predict(student, context.loaders.test, context.accelerator.device)
    evaluation: dict[str, Any] = {"split": "test",
                                  "teacher": classification_metrics(labels, teacher_predictions, names)}
    if VOCABULARY.applies_to(context.recipe):
        evaluation["student_full_vocabulary"] = classification_metrics(labels, student_predictions, names)
        student_predictions = _score_with_pruned_vocabulary(context)
    else:
        student.save_pretrained(run.student_dir)
        context.tokenizer.save_pretrained(run.student_dir)
    evaluation["student"] = classification_metrics(labels, student_predictions, names)
    evaluation["teacher_student_agreement"] = agreement(teacher_predictions, student_predictions)
    write_json(run.evaluation_path, evaluation)
    yield context.log(ArtifactWritten("student", str(run.student_dir)))
    yield from _sanity(context, teacher_predictions, student_predictions)


def _sanity(context: JobContext, teacher: np.ndarray, student: np.ndarray) -> Iterator[Event]:
    """Baselines on the test split and the flags on what the results can claim (RUN/sanity.json)."""
    data = context.data
    labels = {split: np.array(data.splits[split]["label"]) for split in ("train", "dev", "test")}
    baseline = bag_of_words_predictions(list(data.splits["train"]["text"]), labels["train"],
                                        list(data.splits["test"]["text"]), len(data.label_names))
    sanity = sanity_checks(labels, data.label_names, teacher, student, baseline)
    write_json(context.run.sanity_path, sanity)
    for message in flag_messages(sanity):
        yield context.log(Notice(message))


def export(context: JobContext) -> Iterator[Event]:
    """ONNX fp32, fused and int8 artifacts, each checked against its PyTorch model on the dev split; an
    artifact that disagrees is flagged (here, in parity.json and in the report), never silently shipped."""
    from workbench.core.compress.export import export_run
    from workbench.core.compress.parity import check_run
    from workbench.core.measure.benchmark import Variant, score_variant

    run, recipe = context.run, context.recipe
    kept = _kept_teacher_onnx(context)
    dev = split_of(context.data, "dev", recipe.data.max_length)
    exported = export_run(run.path, recipe.quantization, teacher=recipe.quantization.reference_models,
                          teacher_made=kept, dev=dev)
    for name, path in exported.artifacts.items():
        yield context.log(ArtifactWritten(name, str(path)))
    context.control.raise_if_cancelled(EXPORT)
    results = check_run(run.path, threads=_threads(context), dev=dev, measured=kept_parity(kept, len(dev.texts)))
    for result in results:
        if not result.ok:  # a reference teacher's verdict is marked, never a warning over the student's result
            yield context.log(Notice(result.message if result.artifact.startswith(SHIPPED_PREFIX) else
                                     f"reference model only, the student is unaffected: {result.message}"))
    if kept is None and context.teacher_key is not None and recipe.quantization.reference_models:
        context.keep_in_cache("the teacher's ONNX artifacts",
                              lambda: keep_teacher_onnx(recipe, context.teacher_key, run, results))
    context.control.raise_if_cancelled(EXPORT)
    test = split_of(context.data, "test", recipe.data.max_length)
    evaluation = read_json(run.evaluation_path)
    for key, artifact in (("student_int8", INT8_STUDENT), ("student_int4", INT4_STUDENT)):
        if run.onnx_path(artifact).is_file():
            variant = Variant(f"student-onnx-{key[-4:]}", "onnx", run.onnx_path(artifact), run.student_dir)
            evaluation[key] = score_variant(variant, test, _threads(context))
    write_json(run.evaluation_path, evaluation)


def benchmark_wanted(context: JobContext) -> bool:
    return context.recipe.quantization.reference_models


def benchmark(context: JobContext) -> Iterator[Event]:
    """Latency, size and memory of the teacher in PyTorch and fused int8 and of the student in PyTorch, ONNX fp32
    and int8, at batch 1 and 32 and the recipe's length, timed interleaved; so every finished job has its speed.
    The teacher's plain ONNX export is left to `workbench bench` (a step between the two teacher references that
    nobody ships, and a sixth of the benchmark's time)."""
    from workbench.core.measure.benchmark import default_variants, measure

    run, recipe = context.run, context.recipe
    variants = [v for v in default_variants(run.path) if v.name not in JOB_LEAVES_OUT]
    test = split_of(context.data, "test", recipe.data.max_length)
    kept = _kept_teacher_onnx(context)
    known = kept_scores(kept, len(test.texts))
    result = measure(variants, test, _threads(context), BENCHMARK_BATCHES, (recipe.data.max_length,),
                     repeats=BENCHMARK_REPEATS, between_models=lambda: context.control.raise_if_cancelled(BENCHMARK),
                     scored=_scored_on_test(context) | known)
    write_json(run.bench_path, {"run_dir": str(run.path), **result})
    scores = {name: model["test"] for name, model in result["models"].items()
              if name.startswith("teacher-onnx") and name not in known}
    context.keep_in_cache("the teacher's ONNX test scores", lambda: keep_scores(kept, scores))
    yield context.log(ArtifactWritten("benchmark", str(run.bench_path)))


def job_summary(context: JobContext) -> dict[str, Any]:
    """The headline figures a finished job reports (status.json and the Finished event)."""
    evaluation = read_json(context.run.evaluation_path)
    summary = {
        "teacher_accuracy": evaluation["teacher"]["accuracy"],
        "student_accuracy": evaluation["student"]["accuracy"],
        "teacher_macro_f1": evaluation["teacher"]["macro_f1"],
        "student_macro_f1": evaluation["student"]["macro_f1"],
        "agreement": evaluation["teacher_student_agreement"],
        "training_precision": training_precision(context.recipe.training),  # what `auto` resolved to here
        "flags": result_flags(context.run),  # sanity checks, a student off its parity gate
    }
    if "student_int8" in evaluation:
        results = read_json(context.run.parity_path).get("results", [])
        # What the job ships: a reference teacher artifact off its bound is flagged in the report, not here.
        summary["parity_ok"] = all(r["ok"] for r in results if r["artifact"].startswith(SHIPPED_PREFIX))
        summary["student_int8_accuracy"] = evaluation["student_int8"]["accuracy"]
    if "student_int4" in evaluation:
        summary["student_int4_accuracy"] = evaluation["student_int4"]["accuracy"]
    return summary


def _kept_teacher_onnx(context: JobContext):
    """The cached teacher's ONNX artifacts for this job's settings, when it reuses one and wants them."""
    if context.teacher_key is None or not context.recipe.quantization.reference_models:
        return None
    return kept_teacher_onnx(context.recipe, context.teacher_key)


def _teacher_test_predictions(context: JobContext) -> np.ndarray:
    """Kept with a cached teacher, so that a job reusing it does not run it on the test split again."""
    recipe, key = context.recipe, context.teacher_key
    examples = len(context.data.splits["test"])
    if key is not None and (kept := kept_predictions(recipe, key, "test", examples)) is not None:
        return np.array(kept)
    predictions = predict(context.teacher, context.loaders.test, context.accelerator.device)
    if key is not None:
        context.keep_in_cache("the teacher's test predictions",
                              lambda: keep_predictions(recipe, key, "test", predictions.tolist()))
    return predictions


def _scored_on_test(context: JobContext) -> dict[str, dict[str, Any]]:
    """The benchmark's variants that scoring and export already scored on the test split."""
    evaluation = read_json(context.run.evaluation_path)
    names = {"teacher": "teacher-torch-fp32", "student": "student-torch-fp32", "student_int8": "student-onnx-int8"}
    return {variant: evaluation[key] for key, variant in names.items() if key in evaluation}


def _score_with_pruned_vocabulary(context: JobContext) -> np.ndarray:
    """Keep the embedding rows of tokens the training and dev texts use; test texts stay unseen so that the
    accuracy effect is measured honestly."""
    run, data, recipe = context.run, context.data, context.recipe
    student = context.student.student
    texts = [*data.splits["train"]["text"], *data.splits["dev"]["text"]]
    selection = select_vocabulary(student, context.tokenizer, texts, recipe.pruning.vocabulary_margin)
    write_json(run.vocabulary_path, selection.to_dict())
    tokenizer = prune_vocabulary(student, context.tokenizer, selection, run.student_dir)
    test = tokenize(data.splits["test"], tokenizer, recipe.data.max_length)
    return predict(student, eval_loader(test, tokenizer, recipe.training.eval_batch_size), context.accelerator.device)


def _threads(context: JobContext) -> int:
    return context.recipe.training.threads or 2
