"""Concurrency and signals at the entry points: a job stopped by SIGTERM or SIGHUP, two `run --resume` of one
run at once, `--resume` of a finished run, eight jobs creating run folders in one second, two jobs promoting
one teacher into the cache. Each ends in a usable state and, where refused, in one line."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tiny_job import run_to_end
from workbench.cli import EXIT_CANCELLED, main
from workbench.core.distill.checkpoints import load_checkpoint
from workbench.core.events import CheckpointSaved, Finished, JobControl
from workbench.core.job import run_job
from workbench.core.run_folder import OutputFolderError, RunFolder
from workbench.core.stages.teacher_reuse import cached_teacher, keep_teacher, teacher_key

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def long_recipe(recipe, tmp_path: Path) -> Path:
    """A job whose intermediate stage runs for minutes (a step at a time, no periodic checkpoint)."""
    recipe.training.batch_size, recipe.training.checkpoint_every = 4, 10_000
    recipe.distillation.intermediate.epochs = 200
    return recipe.save(tmp_path / "long.yaml")


def wait_for(condition, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def runs_in(output_dir: Path) -> list[RunFolder]:
    return [RunFolder(p) for p in output_dir.glob("*") if (p / "recipe.yaml").is_file()]


def training_steps(run: RunFolder, stage: str) -> list[int]:
    return [r["step"] for r in run.metrics() if r.get("event") == "Step" and r.get("stage") == stage]


def folder_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_terminated_job_checkpoints_where_it_stopped_and_is_resumable(recipe, tmp_path, signal_number):
    job = cli("run", str(long_recipe(recipe, tmp_path)))
    runs = Path(recipe.output_dir)
    wait_for(lambda: any(training_steps(run, "intermediate") for run in runs_in(runs)), job)
    job.send_signal(signal_number)
    out, err = job.communicate(timeout=120)
    assert job.returncode == EXIT_CANCELLED, err
    [run] = runs_in(runs)
    assert f"cancelled; continue with: workbench run --resume {run.path}" in out
    assert run.status()["status"] == "cancelled" and run.resumable
    saved = load_checkpoint(run.checkpoint_path).info
    assert (saved["stage"], saved["state"]["step"]) == ("intermediate", training_steps(run, "intermediate")[-1])


def cancelled_run(recipe) -> RunFolder:
    control = JobControl()
    for event in run_job(recipe, control):
        if isinstance(event, CheckpointSaved) and event.stage == "intermediate":
            control.cancel()
    assert isinstance(event, Finished) and event.status == "cancelled"
    return RunFolder.open(event.run_dir)


def test_a_second_resume_of_a_run_being_written_is_refused_in_one_line(recipe, tmp_path):
    long_recipe(recipe, tmp_path)
    recipe.training.checkpoint_every = 1
    run = cancelled_run(recipe)
    first = cli("run", "--resume", str(run.path))
    wait_for(lambda: run.status().get("pid") == first.pid, first)
    second = cli("run", "--resume", str(run.path))
    try:
        _, err = second.communicate(timeout=120)
    finally:
        second.kill()  # when it did not stop by itself (both wrote the run)
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
    assert second.returncode == 2
    assert err.strip().splitlines() == [
        f"error: run {run.path} is being written by process {first.pid}; wait for it to end (or stop it), then "
        f"continue with `workbench run --resume {run.path}`"]
    assert first.returncode == EXIT_CANCELLED  # the first job was never disturbed


def test_resuming_a_finished_run_changes_nothing_and_says_so(recipe, capsys):
    finished = run_to_end(recipe)[-1]
    run = RunFolder.open(finished.run_dir)
    before = folder_digest(run.path)
    capsys.readouterr()
    assert main(["run", "--resume", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [f"{run.path}: the run is finished, nothing to resume; see it with: "
                                f"workbench report {run.path}"]
    assert folder_digest(run.path) == before


def _create(recipe, barrier, results) -> None:
    barrier.wait()
    try:
        results.put(str(RunFolder.create(recipe).path))
    except Exception as error:  # reported to the parent, which fails the test with it
        results.put(f"error: {error}")


def test_eight_jobs_started_in_one_second_get_eight_run_folders(recipe, monkeypatch):
    monkeypatch.setattr(time, "strftime", lambda *_: "20260101-000000")  # all in the same second, forked below
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(8), context.Queue()
    workers = [context.Process(target=_create, args=(recipe, barrier, results)) for _ in range(8)]
    for worker in workers:
        worker.start()
    created = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join()
    assert not [line for line in created if line.startswith("error")], created
    assert len(set(created)) == 8


def test_a_folder_made_between_the_check_and_the_mkdir_takes_the_next_name(recipe, monkeypatch):
    monkeypatch.setattr(time, "strftime", lambda *_: "20260101-000000")
    taken = Path(recipe.output_dir) / f"{recipe.name}-20260101-000000"
    taken.mkdir(parents=True)
    monkeypatch.setattr(Path, "exists", lambda self: False)  # another job creates it right after any check
    try:
        created = RunFolder.create(recipe).path
    except OutputFolderError as error:
        pytest.fail(str(error))
    assert created == taken.with_name(taken.name + "-2") and not any(taken.iterdir())


def test_two_jobs_promoting_one_teacher_never_share_a_partial_folder(recipe, tiny_base_dir, tmp_path, monkeypatch):
    fine_tuned = shutil.copytree(tiny_base_dir, tmp_path / "fine-tuned")
    key = teacher_key(recipe, tiny_base_dir, "data-hash", ["negative", "neutral", "positive"])
    copy, others = shutil.copytree, []

    def another_job_promotes_meanwhile(source, target, *args, **kwargs):
        copied = copy(source, target, *args, **kwargs)
        if not others:  # the second job runs its whole promotion between the first one's copy and rename
            others.append(None)
            others[0] = keep_teacher(recipe, key, fine_tuned)
        return copied

    monkeypatch.setattr(shutil, "copytree", another_job_promotes_meanwhile)
    kept = keep_teacher(recipe, key, fine_tuned)
    assert others == [kept] and cached_teacher(recipe, key) == kept
    assert (kept / "model.safetensors").read_bytes() == (fine_tuned / "model.safetensors").read_bytes()
    assert [p.name for p in kept.parent.iterdir()] == [kept.name]  # no partial or stale folder left
