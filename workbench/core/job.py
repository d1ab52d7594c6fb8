"""A whole job from a recipe: data, teacher fine-tuning when needed, the TinyBERT distillation stages,
test evaluation and the Hugging Face folders, as a generator of events. Resumable from the run folder.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.compress.pruning import prune
from workbench.core.compress.vocab_pruning import prune_vocabulary, select_vocabulary
from workbench.core.distill.distillation import (
    StudentWithProjections,
    check_attention_compatible,
    finetune_losses,
    intermediate_losses,
    prediction_losses,
)
from workbench.core.distill.mapping import recipe_mapping
from workbench.core.distill.teacher_cache import TeacherCache
from workbench.core.distill.training_loop import Stage, StageRunner
from workbench.core.errors import WorkbenchError
from workbench.core.events import (
    ArtifactWritten,
    Event,
    Failed,
    Finished,
    JobCancelled,
    JobControl,
    Notice,
    StageFinished,
    StageStarted,
)
from workbench.core.measure.evaluation import agreement, classification_metrics
from workbench.core.recipe import Recipe, StageConfig
from workbench.core.run_folder import RunFolder, write_json
from workbench.core.sources.batches import eval_loader, model_inputs, tokenize, train_loader
from workbench.core.sources.data import TaskData, load_task_data
from workbench.core.sources.families import family_of
from workbench.core.sources.family_support import check_supported, fallbacks
from workbench.core.sources.model_runner import model_feeds, torch_input_names
from workbench.core.sources.models import head_labels, load_config, load_tokenizer, resolve_model_source
from workbench.core.sources.pruned_models import load_pruned
from workbench.core.sources.split_inputs import split_of
from workbench.core.sources.student import build_student, fast_attention

GENERAL, FINETUNE, INTERMEDIATE, PREDICTION = "general", "teacher_finetune", "intermediate", "prediction"
PRUNING, RECOVERY = "pruning", "recovery"
PRUNING_BATCHES = 16  # training batches that rank heads and neurons by gradient importance


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_accelerator(recipe: Recipe):
    from accelerate import Accelerator, DistributedDataParallelKwargs

    training = recipe.training
    if training.threads:
        torch.set_num_threads(training.threads)
    precision = {"fp32": "no", "fp16": "fp16", "bf16": "bf16"}[training.precision]
    # Each stage trains part of the model (no classifier in stage 1, no projections in stage 2).
    unused = DistributedDataParallelKwargs(find_unused_parameters=True)
    return Accelerator(cpu=training.device == "cpu", mixed_precision=precision, kwargs_handlers=[unused])


def _shared_run_folder(accelerator, recipe: Recipe, resume_dir: str | Path | None
                       ) -> tuple[RunFolder | None, Path]:
    """Rank 0 creates (or reopens) the run folder; every rank learns its path, only rank 0 writes."""
    from accelerate.utils import broadcast_object_list

    path = [None]
    if accelerator.is_main_process:
        path[0] = str(RunFolder.open(resume_dir).path if resume_dir else RunFolder.create(recipe).path)
    if accelerator.num_processes > 1:
        broadcast_object_list(path)
    return (RunFolder(Path(path[0])) if accelerator.is_main_process else None), Path(path[0])


class Job:
    """Holds the models of one job while its stages run; `events()` drives it."""

    def __init__(self, recipe: Recipe, control: JobControl | None = None, resume_dir: str | Path | None = None):
        self.recipe = RunFolder.open(resume_dir).recipe() if resume_dir else recipe
        self.control = control or JobControl()
        self.resume_dir = resume_dir
        self.completed: list[str] = []
        self.student: StudentWithProjections | None = None
        self.mapping = None
        self.run: RunFolder | None = None
        self.run_path: Path | None = None

    def events(self) -> Iterator[Event]:
        """Run the job, yielding its events; failures end in a `Failed` event, not an exception."""
        try:
            yield from self._run()
        except JobCancelled:
            self._set_status("cancelled", "cancelled by the user; resume with `workbench run --resume RUN_DIR`")
            yield Finished(str(self.run_path), "cancelled")
        except WorkbenchError as error:
            self._set_status("failed", str(error))
            yield Failed(str(self.run_path or ""), str(error))
        except Exception as error:  # a bug, not the user's input: record it, keep the traceback
            self._set_status("failed", f"internal error {type(error).__name__}: {error}")
            raise
        finally:
            if self.run:
                self.run.close()

    def _set_status(self, status: str, message: str) -> None:
        if self.run:
            self.run.set_status(status, message)

    def _log(self, event: Event) -> Event:
        if isinstance(event, StageStarted):
            event.run_dir = str(self.run_path)
        if self.run:
            self.run.log({"time": time.time(), **event.to_dict()})
        return event

    def _run(self) -> Iterator[Event]:
        recipe = self.recipe
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        _quiet_transformers()
        seed_everything(recipe.training.seed)
        accelerator = make_accelerator(recipe)
        self.accelerator = accelerator
        self.run, self.run_path = _shared_run_folder(accelerator, recipe, self.resume_dir)
        if self.run and self.resume_dir:
            self.run.set_status("running", "resumed")
        resume = self.resume_state = self._load_checkpoint()
        self.completed = list(resume["completed"]) if resume else []

        data = load_task_data(recipe.data)
        self._check_same_data(data)
        teacher_source = resolve_model_source(recipe.teacher.source)
        tokenizer = load_tokenizer(teacher_source)
        yield from self._check_family(load_config(teacher_source))
        loaders = self._loaders(data, tokenizer, teacher_source.folder)
        runner = StageRunner(accelerator, self.run, self.run_path, self.control, recipe.training,
                             self._checkpoint_payload)
        distillation = recipe.distillation
        teacher = self._teacher(teacher_source.folder, data.label_names)
        if distillation.general.enabled:
            # General distillation learns from the base teacher, so it runs before the teacher is fine-tuned.
            self._build_student(teacher, data, resume)
            general_loader = self._general_loader(tokenizer)
            yield from self._stage(runner, Stage(
                GENERAL, self.student, self._intermediate_losses(teacher, cache=False), general_loader,
                StageConfig(epochs=distillation.general.epochs, lr=distillation.general.lr)), resume)
        yield from self._stage(runner, Stage(
            FINETUNE, teacher, finetune_losses(), loaders["train"], distillation.teacher_finetune,
            self._evaluator(teacher, loaders["dev"], data), keep_best=True), resume)
        if FINETUNE in self.completed and self.run and not (self.run.path / "teacher").is_dir():
            teacher.save_pretrained(self.run.path / "teacher")
            tokenizer.save_pretrained(self.run.path / "teacher")
            yield self._log(ArtifactWritten("teacher", str(self.run.path / "teacher")))
        teacher.eval()
        teacher.requires_grad_(False)

        if self.student is None:
            self._build_student(teacher, data, resume)
        student_eval = self._evaluator(self.student.student, loaders["dev"], data)
        yield from self._stage(runner, Stage(
            INTERMEDIATE, self.student, self._intermediate_losses(teacher, cache=True), loaders["distill"],
            distillation.intermediate, student_eval), resume)
        yield from self._stage(runner, Stage(
            PREDICTION, self.student,
            prediction_losses(teacher, distillation.weights, distillation.temperature, self._cache()),
            loaders["distill"], distillation.prediction, student_eval, keep_best=True), resume)
        yield from self._pruning(runner, teacher, loaders, student_eval)
        yield from self._finish(teacher, tokenizer, loaders, data)

    def _loaders(self, data: TaskData, tokenizer, teacher_folder: Path) -> dict[str, Any]:
        recipe = self.recipe
        batch, seed, max_length = recipe.training.batch_size, recipe.training.seed, recipe.data.max_length
        grouped = recipe.training.group_by_length
        splits = {name: tokenize(split, tokenizer, max_length) for name, split in data.splits.items()}
        loaders = {
            "train": train_loader(splits["train"], tokenizer, batch, seed, grouped),
            "dev": eval_loader(splits["dev"], tokenizer, recipe.training.eval_batch_size),
            "test": eval_loader(splits["test"], tokenizer, recipe.training.eval_batch_size),
        }
        loaders["distill"] = loaders["train"]
        if recipe.distillation.augmentation.enabled:
            augmented = tokenize(self._augmented(data, tokenizer, teacher_folder), tokenizer, max_length)
            loaders["distill"] = train_loader(augmented, tokenizer, batch, seed, grouped)
        return loaders

    def _augmented(self, data: TaskData, tokenizer, teacher_folder: Path):
        """The training split with TinyBERT's word-replaced copies, cached in the run folder."""
        from datasets import Dataset

        from workbench.core.distill.augment import augment, cached_augmentation, make_augmenter

        config, seed = self.recipe.distillation.augmentation, self.recipe.training.seed
        train = data.splits["train"]
        key = {"data": data.content_hash, "teacher": self.recipe.teacher.source, "config": config.model_dump(),
               "seed": seed}

        def compute() -> tuple[list[str], list[int]]:
            augmenter = make_augmenter(teacher_folder, tokenizer, config.model)
            return augment(list(train["text"]), list(train["label"]), augmenter, config, seed)

        with self.accelerator.main_process_first():  # rank 0 computes, the others read its cache
            texts, labels = cached_augmentation(self.run_path / "augmented.jsonl", key, compute)
        return Dataset.from_dict({"text": texts, "label": labels})

    def _general_loader(self, tokenizer):
        """Unlabelled text for general distillation: a text file (one text a line) or a dataset column."""
        from workbench.core.sources.data import clean, read_source

        config = self.recipe.distillation.general
        raw, _ = read_source(config.source, config.text_column, None)
        texts, _ = clean(raw, with_labels=False)
        if config.max_rows:
            texts = texts.select(range(min(config.max_rows, len(texts))))
        dataset = tokenize(texts, tokenizer, self.recipe.data.max_length)
        training = self.recipe.training
        return train_loader(dataset, tokenizer, training.batch_size, training.seed, training.group_by_length)

    def _build_student(self, teacher, data: TaskData, resume: dict[str, Any] | None) -> None:
        recipe = self.recipe
        if PRUNING in self.completed:  # resuming the recovery stage: the checkpoint holds pruned shapes
            student_model = load_pruned(self._pruned_folder, **fast_attention(teacher.config))
        else:
            student_model = build_student(recipe.student, teacher, data.label_names)
            check_attention_compatible(teacher.config, student_model.config, recipe.distillation.weights,
                                       recipe.mapping.attention, recipe.distillation.attention_loss)
        self.student = StudentWithProjections(student_model, family_of(teacher.config).hidden_size(teacher.config))
        if resume and "student" in resume:
            self.student.load_state_dict(resume["student"])
        self.mapping = recipe_mapping(recipe.mapping,
                                      family_of(student_model.config).num_layers(student_model.config),
                                      family_of(teacher.config).num_layers(teacher.config))

    def _intermediate_losses(self, teacher, cache: bool):
        recipe = self.recipe
        return intermediate_losses(teacher, self.student, self.mapping, recipe.distillation.weights,
                                   recipe.mapping.hidden, recipe.mapping.attention,
                                   self._cache() if cache else None, recipe.distillation.attention_loss,
                                   recipe.distillation.relation_heads)

    def _check_family(self, teacher_config) -> Iterator[Event]:
        """Before any training: a step the family cannot do stops the job here, in one line; a step it does
        another way (unfused int8) is announced."""
        check_supported(self.recipe, teacher_config)
        for line in fallbacks(self.recipe, teacher_config):
            yield self._log(Notice(line))

    def _cache(self) -> TeacherCache | None:
        budget = self.recipe.distillation.teacher_cache_mb * 2**20
        return TeacherCache(budget) if budget else None

    def _stage(self, runner: StageRunner, stage: Stage, resume: dict[str, Any] | None) -> Iterator[Event]:
        if stage.name in self.completed:
            return
        if not _has_work(stage.config):
            self.completed.append(stage.name)
            return
        stage_resume = resume if resume and resume["stage"] == stage.name else None
        for event in runner.run_stage(stage, stage_resume):
            if isinstance(event, StageFinished):
                self.completed.append(stage.name)
            yield self._log(event)

    def _pruning(self, runner: StageRunner, teacher, loaders: dict[str, Any], student_eval) -> Iterator[Event]:
        """Remove the least important heads and FFN neurons, then recover by prediction-layer distillation."""
        config, distillation = self.recipe.pruning, self.recipe.distillation
        if not (config.enabled and (config.heads_ratio or config.ffn_ratio)):
            return
        if PRUNING not in self.completed:
            batches = itertools.islice(loaders["train"], PRUNING_BATCHES)
            _, report = prune(self.student.student, config.heads_ratio, config.ffn_ratio, config.importance, batches)
            self.completed.append(PRUNING)
            if self.run:
                write_json(self.run.path / "pruning.json", report.to_dict())
                self.student.student.save_pretrained(self._pruned_folder)
                yield self._log(ArtifactWritten("pruning report", str(self.run.path / "pruning.json")))
        recovery = StageConfig(epochs=config.recovery_epochs, lr=distillation.prediction.lr)
        yield from self._stage(runner, Stage(
            RECOVERY, self.student,
            prediction_losses(teacher, distillation.weights, distillation.temperature, self._cache()),
            loaders["distill"], recovery, student_eval, keep_best=True), self.resume_state)

    @property
    def _pruned_folder(self) -> Path:
        return self.run_path / "checkpoints" / "pruned-student"

    def _finish(self, teacher, tokenizer, loaders: dict[str, Any], data: TaskData) -> Iterator[Event]:
        """Score teacher and student on the test split and write the student (vocabulary-pruned if asked)."""
        if not self.run:  # other ranks are done; rank 0 scores and writes
            yield Finished(str(self.run_path), "finished")
            return
        student, folder = self.student.student, self.run.path / "student"
        labels = np.array(data.splits["test"]["label"])
        teacher_predictions = predict(teacher, loaders["test"], self.accelerator)
        student_predictions = predict(student, loaders["test"], self.accelerator)
        evaluation = {"split": "test",
                      "teacher": classification_metrics(labels, teacher_predictions, data.label_names)}
        if self.recipe.pruning.enabled and self.recipe.pruning.vocabulary:
            evaluation["student_full_vocabulary"] = classification_metrics(labels, student_predictions,
                                                                           data.label_names)
            student_tokenizer = self._prune_vocabulary(student, tokenizer, data, folder)
            test = tokenize(data.splits["test"], student_tokenizer, self.recipe.data.max_length)
            student_predictions = predict(student, eval_loader(test, student_tokenizer,
                                                               self.recipe.training.eval_batch_size),
                                          self.accelerator)
        else:
            student.save_pretrained(folder)
            tokenizer.save_pretrained(folder)
        evaluation["student"] = classification_metrics(labels, student_predictions, data.label_names)
        evaluation["teacher_student_agreement"] = agreement(teacher_predictions, student_predictions)
        summary = {
            "teacher_accuracy": evaluation["teacher"]["accuracy"],
            "student_accuracy": evaluation["student"]["accuracy"],
            "teacher_macro_f1": evaluation["teacher"]["macro_f1"],
            "student_macro_f1": evaluation["student"]["macro_f1"],
            "agreement": evaluation["teacher_student_agreement"],
        }
        write_json(self.run.path / "evaluation.json", evaluation)
        yield self._log(ArtifactWritten("student", str(folder)))
        if self.recipe.quantization.enabled:
            summary["parity_ok"] = yield from self._export(data)
            evaluation["student_int8"] = self._score_int8(data)
            summary["student_int8_accuracy"] = evaluation["student_int8"]["accuracy"]
            write_json(self.run.path / "evaluation.json", evaluation)
        self.run.set_status("finished", "", summary=summary)
        yield self._log(Finished(str(self.run_path), "finished", summary))

    def _export(self, data: TaskData) -> Iterator[Event]:
        """ONNX fp32, fused and int8 artifacts, each checked against its PyTorch model on the dev split; an
        artifact that disagrees is flagged (here, in parity.json and in the report), never silently shipped."""
        from workbench.core.compress.export import export_run
        from workbench.core.compress.parity import check_run

        exported = export_run(self.run.path, self.recipe.quantization)
        for name, path in exported.artifacts.items():
            yield self._log(ArtifactWritten(name, str(path)))
        results = check_run(self.run.path, threads=self.recipe.training.threads or 2,
                            dev=split_of(data, "dev", self.recipe.data.max_length))
        for result in results:
            if not result.ok:
                yield self._log(Notice(result.message))
        return all(result.ok for result in results)

    def _score_int8(self, data: TaskData) -> dict[str, Any]:
        """The int8 ONNX student on the test split, as users will run it."""
        from workbench.core.compress.export import ONNX_DIR
        from workbench.core.measure.benchmark import Variant, score_variant

        path = self.run.path
        variant = Variant("student-onnx-int8", "onnx", path / ONNX_DIR / "student-int8.onnx", path / "student")
        test = split_of(data, "test", self.recipe.data.max_length)
        return score_variant(variant, test, self.recipe.training.threads or 2)

    def _prune_vocabulary(self, student, tokenizer, data: TaskData, folder: Path):
        """Keep the embedding rows of tokens the training and dev texts use; test texts stay unseen so that
        the accuracy effect is measured honestly."""
        texts = [*data.splits["train"]["text"], *data.splits["dev"]["text"]]
        selection = select_vocabulary(student, tokenizer, texts, self.recipe.pruning.vocabulary_margin)
        write_json(self.run.path / "vocabulary.json", selection.to_dict())
        return prune_vocabulary(student, tokenizer, selection, folder)

    def _teacher(self, folder: Path, label_names: list[str]):
        """The task teacher: fine-tuned in this run, or the source itself when its head fits the labels."""
        from transformers import AutoConfig, AutoModelForSequenceClassification

        if FINETUNE in self.completed and self.run_path and (self.run_path / "teacher").is_dir():
            folder = self.run_path / "teacher"
        config = AutoConfig.from_pretrained(folder)
        if head_labels(config) == label_names and FINETUNE not in self.completed:
            self.completed.append(FINETUNE)  # the teacher already solves this task
        labels = {"num_labels": len(label_names), "id2label": dict(enumerate(label_names)),
                  "label2id": {name: i for i, name in enumerate(label_names)}}
        seed_everything(self.recipe.training.seed)  # the new head's initialisation is part of the recipe
        return AutoModelForSequenceClassification.from_pretrained(
            folder, ignore_mismatched_sizes=True, **labels, **fast_attention(config))

    def _evaluator(self, model, loader, data: TaskData):
        labels = np.array(data.splits["dev"]["label"])

        def evaluate() -> dict[str, Any]:
            metrics = classification_metrics(labels, predict(model, loader, self.accelerator), data.label_names)
            return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}

        return evaluate

    def _checkpoint_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"completed": list(self.completed)}
        if self.student is not None:
            payload["student"] = self.student.state_dict()
        return payload

    def _load_checkpoint(self) -> dict[str, Any] | None:
        if not self.resume_dir:
            return None
        path = RunFolder(Path(self.resume_dir)).checkpoint_path
        if not path.is_file():
            raise WorkbenchError(f"{self.resume_dir}: has no checkpoint to resume from; start the recipe anew")
        return torch.load(path, weights_only=False, map_location="cpu")

    def _check_same_data(self, data: TaskData) -> None:
        if not self.run:
            return
        manifest_path = self.run.path / "data.json"
        if self.resume_dir and manifest_path.is_file():
            import json

            recorded = json.loads(manifest_path.read_text())["content_hash"]
            if recorded != data.content_hash:
                raise WorkbenchError(
                    f"{self.resume_dir}: the data changed since the run started (content hash differs); "
                    "resuming would mix two data sets, so start the recipe anew"
                )
        write_json(manifest_path, data.manifest())


def _quiet_transformers() -> None:
    """Load reports about the new classifier head are expected here; the job reports its own progress."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def _has_work(config: StageConfig) -> bool:
    return config.epochs > 0 or bool(config.max_steps)


def predict(model, loader, accelerator) -> np.ndarray:
    model.eval()
    device = accelerator.device
    predictions = []
    with torch.inference_mode():
        for batch in loader:
            batch = model_feeds(torch_input_names(model), {k: v.to(device) for k, v in model_inputs(batch).items()})
            predictions.append(model(**batch).logits.argmax(-1).cpu())
    return torch.cat(predictions).numpy()


def run_job(recipe: Recipe, control: JobControl | None = None, resume_dir: str | Path | None = None
            ) -> Iterator[Event]:
    return Job(recipe, control, resume_dir).events()
