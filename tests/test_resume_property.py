"""The resume property: from EVERY checkpoint a small job writes (each step, each epoch's end, each stage's
end), a resumed run ends with the bit-identical student and logs the identical losses of the uninterrupted
run, and so does one that falls back to the previous checkpoint. Each checkpoint is resumed from a copy of
the run folder as it was when that checkpoint was written."""

import hashlib
import shutil
from pathlib import Path

from workbench.core.distill.checkpoints import load_checkpoint
from workbench.core.events import CheckpointSaved, Finished, Step
from workbench.core.job import run_job
from workbench.core.run_folder import RunFolder


def student_hash(run_dir) -> str:
    return hashlib.sha256((Path(run_dir) / "student" / "model.safetensors").read_bytes()).hexdigest()


def losses_of(events) -> dict:
    return {(e.stage, e.step): e.losses for e in events if isinstance(e, Step)}


def test_resuming_from_every_checkpoint_gives_the_uninterrupted_student_and_losses(recipe, tmp_path):
    recipe.training.checkpoint_every, recipe.training.batch_size = 1, 30  # 2 steps an epoch, a checkpoint each
    distillation = recipe.distillation
    for stage in (distillation.teacher_finetune, distillation.intermediate, distillation.prediction):
        stage.epochs = 2
    snapshots, events = [], []
    for event in run_job(recipe):
        events.append(event)
        if isinstance(event, CheckpointSaved):  # the run folder as a kill right after this write leaves it
            copy = tmp_path / f"at-{len(snapshots)}-{event.stage}-{event.step}"
            shutil.copytree(Path(event.path).parents[1], copy)
            snapshots.append(copy)
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.status == "finished"
    expected_losses, expected_student = losses_of(events), student_hash(finished.run_dir)
    assert len(snapshots) == 12  # 3 stages x 2 epochs x 2 steps

    # A torn last checkpoint falls back to the previous one: here the one written at an epoch's end.
    torn = shutil.copytree(snapshots[6], tmp_path / "torn-last-previous-at-epoch-end")  # intermediate, step 3
    last = RunFolder(torn).checkpoint_path
    last.write_bytes(last.read_bytes()[:1000])
    state = load_checkpoint(RunFolder(torn).previous_checkpoint_path).info["state"]
    assert (state["step"], state["epoch"], state["batch"]) == (2, 1, 0)

    diverged = []
    for copy in [*snapshots, torn]:
        resumed = list(run_job(None, resume_dir=copy))
        losses = losses_of(resumed)
        same = (isinstance(resumed[-1], Finished) and resumed[-1].summary == finished.summary
                and student_hash(copy) == expected_student
                and all(expected_losses[key] == value for key, value in losses.items()))
        if not same:
            diverged.append(copy.name)
    assert diverged == []
