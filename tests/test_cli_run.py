"""`workbench run` as a user runs it: a fresh process, killed with SIGKILL mid-stage, then resumed."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.tiny import tiny_recipe
from workbench.cli import main
from workbench.core.run_folder import RunFolder


def test_run_prints_the_summary(tiny_base_dir, tiny_csv, tmp_path, capsys):
    recipe = tiny_recipe(tiny_base_dir, tiny_csv, tmp_path / "runs").save(tmp_path / "recipe.yaml")
    assert main(["run", str(recipe)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert RunFolder.open(summary["run_dir"]).status()["status"] == "finished"
    assert 0 <= summary["student_accuracy"] <= 1


def test_run_applies_set_overrides(tiny_base_dir, tiny_csv, tmp_path, capsys):
    recipe = tiny_recipe(tiny_base_dir, tiny_csv, tmp_path / "runs").save(tmp_path / "recipe.yaml")
    assert main(["run", str(recipe), "--set", "name=renamed", "--set", "training.seed=7"]) == 0
    ran = RunFolder.open(json.loads(capsys.readouterr().out)["run_dir"]).recipe()
    assert (ran.name, ran.training.seed) == ("renamed", 7)


def test_run_needs_a_recipe_or_a_run_dir(capsys):
    assert main(["run"]) == 2
    assert "give a recipe file to run, or --resume RUN_DIR" in capsys.readouterr().err


def wait_for_checkpoint_in(run_root, stage: str, min_step: int, process, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        for metrics in run_root.glob("*/metrics.jsonl"):
            for line in metrics.read_text().splitlines():
                record = json.loads(line) if line.strip().endswith("}") else {}
                if record.get("event") == "CheckpointSaved" and record["stage"] == stage and record["step"] >= min_step:
                    return metrics.parent
        time.sleep(0.05)
    raise AssertionError(f"no {stage} checkpoint at step >= {min_step} appeared before the process ended")


def test_sigkill_mid_stage_then_resume_matches_uninterrupted(tiny_base_dir, tiny_csv, tmp_path):
    recipe = tiny_recipe(tiny_base_dir, tiny_csv, tmp_path / "runs")
    recipe.distillation.intermediate.max_steps = 400  # long enough to be killed in the middle
    path = recipe.save(tmp_path / "recipe.yaml")
    command = [sys.executable, "-m", "workbench.cli", "run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    uninterrupted = subprocess.run([*command, str(path)], capture_output=True, text=True, env=env, timeout=600)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    expected = json.loads(uninterrupted.stdout)

    killed_root = tmp_path / "killed"
    recipe.output_dir = str(killed_root)
    path = recipe.save(tmp_path / "recipe-killed.yaml")
    process = subprocess.Popen([*command, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    run_dir = wait_for_checkpoint_in(killed_root, "intermediate", 20, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert RunFolder.open(run_dir).status()["status"] == "interrupted"  # died without a word, and it shows

    resumed = subprocess.run([*command, "--resume", str(run_dir)], capture_output=True, text=True, env=env,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    got = json.loads(resumed.stdout)
    assert {k: v for k, v in got.items() if k != "run_dir"} == {k: v for k, v in expected.items() if k != "run_dir"}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_on_cpu_with_torchrun(tiny_base_dir, tiny_csv, tmp_path):
    """The same recipe under torchrun with two gloo processes: rank 0 alone writes and reports."""
    runs = tmp_path / "runs"
    path = tiny_recipe(tiny_base_dir, tiny_csv, runs).save(tmp_path / "recipe.yaml")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                str(free_port())]
    done = subprocess.run([*torchrun, "-m", "workbench.cli", "run", str(path)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    run_folders = [p.name for p in runs.iterdir() if p.name != ".teacher-cache"]  # rank 0 cached the teacher
    assert run_folders == [os.path.basename(summary["run_dir"])]
    run = RunFolder.open(summary["run_dir"])
    assert run.status()["status"] == "finished"
    steps = [m for m in run.metrics() if m["event"] == "Step" and m["stage"] == "intermediate"]
    assert steps and steps[-1]["total_steps"] == 2  # 60 examples, batch 16 per process: 2 steps an epoch
