"""One training stage, whatever it trains: teacher fine-tuning, general, intermediate or prediction
distillation. The stage supplies its trainable module and a function from a batch to named loss
components; this loop does the rest: schedule, logging, evaluation, best-model keeping, checkpoints,
pause / cancel, NaN detection and resuming at the exact batch.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.core.distill.checkpoints import (
    Checkpoint,
    load_weights,
    optimizer_from_checkpoint,
    optimizer_to_checkpoint,
    restore_rng,
    rng_to_checkpoint,
    save_checkpoint,
    save_weights,
)
from workbench.core.distill.precision import trainable_forward
from workbench.core.errors import WorkbenchError
from workbench.core.events import (
    CheckpointSaved,
    Evaluation,
    Event,
    JobCancelled,
    JobControl,
    StageFinished,
    StageStarted,
    Step,
)
from workbench.core.recipe import StageConfig, TrainingConfig
from workbench.core.run_folder import RunFolder
from workbench.core.sources.batches import EpochOrder, one_pass_loader


class NonFiniteLossError(WorkbenchError):
    pass


@dataclass
class Stage:
    name: str
    module: nn.Module
    losses: Callable[[nn.Module, dict[str, torch.Tensor]], dict[str, torch.Tensor]]  # weighted components
    loader: torch.utils.data.DataLoader
    config: StageConfig
    evaluate: Callable[[], dict[str, Any]] | None = None
    keep_best: bool = False  # keep the weights of the best dev accuracy, not the last


@dataclass
class StageState:
    """Where a stage is; saved in every checkpoint and restored on resume."""

    step: int = 0
    epoch: int = 0
    batch: int = 0
    best_accuracy: float = -1.0
    extra: dict[str, Any] = field(default_factory=dict)


def stage_steps(config: StageConfig, steps_per_epoch: int) -> int:
    """A training stage's step count: its max_steps, else its epochs over batches of this many per epoch."""
    return config.max_steps or max(1, math.ceil(config.epochs * steps_per_epoch))


class StageRunner:
    def __init__(self, accelerator, run: RunFolder | None, folder: Path, control: JobControl,
                 training: TrainingConfig, checkpoint_payload: Callable[[], Checkpoint]) -> None:
        self.accelerator = accelerator
        self.run = run  # None on ranks other than 0: they compute but write nothing
        self.folder = folder  # the run folder's path, known to every rank (they all read the best weights)
        self.control = control
        self.training = training
        self.checkpoint_payload = checkpoint_payload  # what the job adds: finished stages, student weights

    def best_path(self, stage: Stage) -> Path:
        return RunFolder(self.folder).best_weights_path(stage.name)

    def run_stage(self, stage: Stage, resume: Checkpoint | None = None) -> Iterator[Event]:
        accelerator = self.accelerator
        module = stage.module
        optimizer = make_optimizer(module, stage.config.lr, self.training.weight_decay)
        order: EpochOrder = stage.loader.sampler
        prepared_module, optimizer, loader = accelerator.prepare(module, optimizer, stage.loader)
        steps_per_epoch = len(loader)
        total = stage_steps(stage.config, steps_per_epoch)
        scheduler = _linear_schedule(optimizer, total, stage.config.warmup_ratio)
        state, saved_rng = StageState(), None
        if resume:
            state, saved_rng = self._restore(resume, prepared_module, optimizer, scheduler, total)
        yield StageStarted(stage.name, total, stage.config.epochs, resumed_at_step=state.step)
        started, examples_done = time.perf_counter(), 0  # the teacher's pass is the stage's time too
        try:
            started += self._prepare(stage)
        except JobCancelled:
            if resume is None:  # a resumed stage's checkpoint already holds where it is
                yield from self._checkpoint(stage, prepared_module, optimizer, scheduler, state)
            raise
        window_start, window_examples = time.perf_counter(), 0
        prepared_module.train()
        forward = trainable_forward(prepared_module, accelerator.device, self.training)
        saved_step = state.step if resume else -1
        while state.step < total:
            order.epoch = state.epoch
            if saved_rng and not state.batch:
                # Written at an epoch's end or before the stage's first step: the interrupted run's loader drew
                # this epoch's base seed after the checkpoint, so the draw must come from the restored RNG.
                restore_rng(saved_rng.groups["rng"], saved_rng.info["rng"])
                saved_rng = None
            batches = iter(accelerator.skip_first_batches(loader, state.batch) if state.batch else loader)
            first = next(batches)
            if saved_rng:
                # Mid-epoch, only now: a DataLoader draws its base seed from the global RNG when it yields its
                # first batch, which the interrupted run did before the checkpoint was written.
                restore_rng(saved_rng.groups["rng"], saved_rng.info["rng"])
                saved_rng = None
            for batch in itertools.chain([first], batches):
                paused = self.control.wait_while_paused()
                started, window_start = started + paused, window_start + paused  # paused time is not stage time
                if self.control.cancelled:
                    if state.step != saved_step:  # else the last checkpoint already holds this state
                        yield from self._checkpoint(stage, prepared_module, optimizer, scheduler, state)
                    raise JobCancelled(stage.name)
                losses, total_loss = self._optimize(stage, forward, batch, state.step + 1, prepared_module,
                                                    optimizer, scheduler)
                state.step += 1
                state.batch += 1
                size = len(batch["input_ids"]) * accelerator.num_processes
                examples_done += size
                window_examples += size
                if state.step % self.training.log_every == 0 or state.step == total:
                    now = time.perf_counter()
                    values = {name: float(value.detach()) for name, value in losses.items()}
                    values["total"] = float(total_loss.detach())
                    yield Step(stage.name, state.step, total, state.epoch + state.batch / steps_per_epoch, values,
                               scheduler.get_last_lr()[0], window_examples / max(now - window_start, 1e-9))
                    window_start, window_examples = now, 0
                epoch_done = state.batch == steps_per_epoch
                if epoch_done or state.step == total:
                    yield from self._evaluate(stage, prepared_module, state, steps_per_epoch)
                    prepared_module.train()
                if epoch_done:
                    state.epoch, state.batch = state.epoch + 1, 0
                if state.step == total or epoch_done or state.step % self.training.checkpoint_every == 0:
                    yield from self._checkpoint(stage, prepared_module, optimizer, scheduler, state)
                    saved_step = state.step
                if state.step == total or epoch_done:
                    break
        if stage.keep_best:
            accelerator.wait_for_everyone()
            best = self.best_path(stage)
            if best.is_file():
                accelerator.unwrap_model(prepared_module).load_state_dict(load_weights(best))
        elapsed = time.perf_counter() - started
        yield StageFinished(stage.name, elapsed, examples_done / max(elapsed, 1e-9))

    def _restore(self, resume: Checkpoint, module, optimizer, scheduler, total: int
                 ) -> tuple[StageState, Checkpoint | None]:
        """The interrupted stage's weights, optimizer and schedule; returns its state and the checkpoint whose
        RNG the first batch restores (None when the stage had ended: what comes next draws now)."""
        state = StageState(**resume.info["state"])
        self.accelerator.unwrap_model(module).load_state_dict(resume.groups["module"])
        optimizer.load_state_dict(optimizer_from_checkpoint(resume.groups.get("optimizer", {}),
                                                            resume.info["optimizer"]))
        scheduler.load_state_dict(resume.info["scheduler"])
        if state.step >= total:
            restore_rng(resume.groups["rng"], resume.info["rng"])
            return state, None
        return state, resume

    def _optimize(self, stage: Stage, forward, batch: dict[str, torch.Tensor], step: int, module, optimizer,
                  scheduler) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """One optimizer step on a batch; its loss components and their sum."""
        losses = stage.losses(forward, batch)
        total_loss = sum(losses.values())
        _check_finite(stage.name, step, losses)
        self.accelerator.backward(total_loss)
        if self.training.max_grad_norm:
            self.accelerator.clip_grad_norm_(module.parameters(), self.training.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return losses, total_loss

    def _prepare(self, stage: Stage) -> float:
        """Let the losses read what they need once before the first step (the teacher's targets of the whole
        training set, see TeacherStudentLoss.prepare), in large batches; returns the seconds paused meanwhile."""
        prepare = getattr(stage.losses, "prepare", None)
        if prepare is None:
            return 0.0
        device, paused = self.accelerator.device, [0.0]

        def batches() -> Iterator[dict[str, torch.Tensor]]:
            for batch in one_pass_loader(stage.loader.dataset, stage.loader.collate_fn):
                yield {name: value.to(device) for name, value in batch.items()}

        def between_batches() -> None:  # pause and cancel are honoured here as between training steps
            paused[0] += self.control.wait_while_paused()
            if self.control.cancelled:
                raise JobCancelled(stage.name)

        prepare(batches, between_batches)
        return paused[0]

    def _evaluate(self, stage: Stage, module, state: StageState, steps_per_epoch: int) -> Iterator[Event]:
        if stage.evaluate is None:
            return
        module.eval()
        metrics = stage.evaluate()
        yield Evaluation(stage.name, state.step, state.epoch + state.batch / steps_per_epoch, "dev", metrics)
        if stage.keep_best and metrics["accuracy"] > state.best_accuracy:
            state.best_accuracy = metrics["accuracy"]
            if self.run:
                save_weights(self.best_path(stage), self.accelerator.unwrap_model(module).state_dict())

    def _checkpoint(self, stage: Stage, module, optimizer, scheduler, state: StageState) -> Iterator[Event]:
        if self.run is None:
            return
        optimizer_tensors, optimizer_info = optimizer_to_checkpoint(optimizer.state_dict())
        rng_tensors, rng_info = rng_to_checkpoint()
        job = self.checkpoint_payload()
        checkpoint = Checkpoint(
            {"stage": stage.name, "state": vars(state).copy(), "optimizer": optimizer_info,
             "scheduler": scheduler.state_dict(), "rng": rng_info, **job.info},
            {"module": self.accelerator.unwrap_model(module).state_dict(), "optimizer": optimizer_tensors,
             "rng": rng_tensors, **job.groups},
        )
        path = save_checkpoint(self.run.checkpoint_path, checkpoint, previous=self.run.previous_checkpoint_path)
        yield CheckpointSaved(stage.name, state.step, str(path))


def make_optimizer(module: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW with weight decay on weight matrices only: biases and LayerNorm gains (the 1-D parameters) are
    not pulled toward zero, as in BERT's own training. The fused kernel updates every parameter in one call:
    the same arithmetic as the per-tensor loop, several times faster over the large embedding table
    (benchmarks/distill_throughput.py)."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    groups = [{"params": [p for p in trainable if p.ndim > 1], "weight_decay": weight_decay},
              {"params": [p for p in trainable if p.ndim <= 1], "weight_decay": 0.0}]
    fused = all(p.is_floating_point() for p in trainable)
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, fused=fused)


def _check_finite(stage: str, step: int, losses: dict[str, torch.Tensor]) -> None:
    for name, value in losses.items():
        if not torch.isfinite(value).all():
            raise NonFiniteLossError(
                f"stage {stage}, step {step}: the {name} loss is {float(value.detach())}; lower the learning rate or "
                "check the data; the last good checkpoint is kept and loadable"
            )


def _linear_schedule(optimizer, total: int, warmup_ratio: float):
    from transformers import get_linear_schedule_with_warmup

    return get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total), total)
