"""Faults during a run: a damaged or hostile checkpoint, a full disk, a killed process, an unwritable output
folder, a cancel after training. Each keeps the work done so far and says in one line what to do."""

import errno
import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tiny_job import run_to_end
from workbench.cli import EXIT_CANCELLED, main
from workbench.core.distill.checkpoints import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    load_newest,
    optimizer_from_checkpoint,
    optimizer_to_checkpoint,
    restore_rng,
    rng_to_checkpoint,
    save_checkpoint,
)
from workbench.core.events import ArtifactWritten, CheckpointSaved, Failed, Finished, JobControl, Notice
from workbench.core.job import run_job
from workbench.core.run_folder import RunFolder


def cancel_at_checkpoint(recipe, stage: str, step: int) -> RunFolder:
    control = JobControl()
    last = None
    for last in run_job(recipe, control):
        if isinstance(last, CheckpointSaved) and last.stage == stage and last.step == step:
            control.cancel()
    assert isinstance(last, Finished) and last.status == "cancelled"
    return RunFolder.open(last.run_dir)


class Payload:
    """Unpickling this writes a marker file: proof that a loader ran code from a file it opened."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def pickle_payload(marker: Path) -> bytes:
    payload = Payload()
    payload.marker = marker
    return pickle.dumps({"stage": "intermediate", "state": payload})


def test_checkpoint_round_trip_keeps_optimizer_and_rng_exactly(tmp_path):
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(3):
        model(torch.randn(2, 4)).sum().backward()
        optimizer.step()
    optimizer_tensors, optimizer_info = optimizer_to_checkpoint(optimizer.state_dict())
    rng_tensors, rng_info = rng_to_checkpoint()
    path = save_checkpoint(tmp_path / "last.safetensors", Checkpoint(
        {"optimizer": optimizer_info, "rng": rng_info}, {"optimizer": optimizer_tensors, "rng": rng_tensors}))
    expected = (random.random(), np.random.rand(), torch.rand(1))

    loaded = load_checkpoint(path)
    restore_rng(loaded.groups["rng"], loaded.info["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected
    restored = torch.optim.AdamW(torch.nn.Linear(4, 3).parameters(), lr=1e-3)
    restored.load_state_dict(optimizer_from_checkpoint(loaded.groups["optimizer"], loaded.info["optimizer"]))
    for index, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            assert torch.equal(restored.state_dict()["state"][index][name], value)


def test_a_pickle_in_checkpoint_files_is_never_run(recipe, tmp_path):
    run = cancel_at_checkpoint(recipe, "intermediate", 2)
    marker = tmp_path / "payload-ran"
    for path in (run.checkpoint_path, run.previous_checkpoint_path):
        path.write_bytes(pickle_payload(marker))  # a hostile run folder: pickles under the new names
    failed = run_to_end(None, resume_dir=run.path)[-1]
    assert isinstance(failed, Failed) and "no usable checkpoint" in failed.message
    for path in (run.checkpoint_path, run.previous_checkpoint_path):
        path.unlink()
    run.legacy_checkpoint_path.write_bytes(pickle_payload(marker))  # an old-format checkpoint
    failed = run_to_end(None, resume_dir=run.path)[-1]
    assert isinstance(failed, Failed) and "pickle" in failed.message and "start the recipe anew" in failed.message
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # nothing written outside the run folder


def test_truncated_last_checkpoint_falls_back_to_the_previous_and_ends_the_same(recipe):
    uninterrupted = run_to_end(recipe)[-1]
    run = cancel_at_checkpoint(recipe, "intermediate", 4)  # the stage's end: stopped at prediction's start
    assert load_checkpoint(run.previous_checkpoint_path).info["stage"] == "intermediate"
    data = run.checkpoint_path.read_bytes()
    run.checkpoint_path.write_bytes(data[: len(data) // 2])
    events = run_to_end(None, resume_dir=run.path)
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert any("damaged" in message and "falling back" in message for message in notices)
    assert isinstance(events[-1], Finished) and events[-1].summary == uninterrupted.summary


def test_disk_full_then_resume_after_freeing_space_ends_the_same(recipe, monkeypatch):
    uninterrupted = run_to_end(recipe)[-1]
    real_open, writes = Path.open, []

    def disk_fills_up(path, mode="r", *args, **kwargs):
        if path.name == ".last.safetensors.tmp" and "w" in mode:
            writes.append(path)
            if len(writes) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", disk_fills_up)
    failed = run_to_end(recipe)[-1]
    assert isinstance(failed, Failed) and "the disk is full" in failed.message
    assert f"`workbench run --resume {failed.run_dir}`" in failed.message
    monkeypatch.undo()  # space freed
    resumed = run_to_end(None, resume_dir=failed.run_dir)[-1]
    assert isinstance(resumed, Finished) and resumed.summary == uninterrupted.summary


def test_a_dead_jobs_status_reads_interrupted_not_running(tmp_path, recipe):
    run = RunFolder.create(recipe)
    assert run.status()["status"] == "running"  # this process is alive
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    status_file = run.status_path.read_text().replace(str(os.getpid()), str(child))
    run.status_path.write_text(status_file)
    status = run.status()
    assert status["status"] == "interrupted" and f"--resume {run.path}" in status["message"]


def test_an_unwritable_output_folder_is_one_line(recipe, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    recipe.output_dir = str(blocker / "runs")
    path = recipe.save(tmp_path / "recipe.yaml")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(blocker / "runs") in err[0] and "output_dir" in err[0]


def test_cancel_during_export_stops_there(recipe):
    recipe.quantization.enabled = True
    control = JobControl()
    events = []
    for event in run_job(recipe, control):
        events.append(event)
        if isinstance(event, ArtifactWritten) and event.name == "student-fp32.onnx":
            control.cancel()
    assert isinstance(events[-1], Finished) and events[-1].status == "cancelled"
    run = RunFolder.open(events[-1].run_dir)
    assert run.status()["status"] == "cancelled" and not run.bench_path.exists()


def test_a_cancelled_run_exits_130(recipe, tmp_path, monkeypatch, capsys):
    def cancelled_job(recipe, control, resume_dir=None):
        yield Finished(str(tmp_path / "run"), "cancelled")

    monkeypatch.setattr("workbench.core.job.run_job", cancelled_job)
    path = recipe.save(tmp_path / "recipe.yaml")
    assert main(["run", str(path)]) == EXIT_CANCELLED
    assert "--resume" in capsys.readouterr().out


def test_load_newest_reports_every_unreadable_checkpoint(tmp_path):
    bad = tmp_path / "last.safetensors"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError, match="no usable checkpoint"):
        load_newest([bad, tmp_path / "previous.safetensors"], notice=lambda message: None)


@pytest.mark.parametrize("error", [errno.EROFS, errno.EPERM, errno.EACCES], ids=["read-only", "immutable", "denied"])
def test_an_output_folder_that_turns_unwritable_mid_run_is_one_line_with_the_resume_command(recipe, monkeypatch,
                                                                                           error):
    real_open = Path.open

    def refuse(path, mode="r", *args, **kwargs):
        if path.name == ".last.safetensors.tmp" and "w" in mode:
            raise OSError(error, os.strerror(error))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    failed = run_to_end(recipe)[-1]
    assert isinstance(failed, Failed) and "\n" not in failed.message
    assert "cannot write there" in failed.message and f"`workbench run --resume {failed.run_dir}`" in failed.message
    run = RunFolder.open(failed.run_dir)
    assert run.status()["status"] == "failed"
    assert not [p for p in run.path.rglob("*") if p.name.endswith(".tmp")]
