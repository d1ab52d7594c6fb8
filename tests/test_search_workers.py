"""Studies across processes: kill -9 mid-study then --resume keeps the finished trials; two workers joining
one study through its storage (a journal file, or a real PostgreSQL server) never take the same trial, and a
worker killed with kill -9 has its trial recovered by the one still running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from tests.postgres_server import SKIP_REASON, postgres_server, server_binaries
from tests.tiny_search import tiny_search_recipe
from workbench.cli import EXIT_NO_CANDIDATE
from workbench.core.search.folder import StudyFolder
from workbench.core.search.study import interrupted, load_study, open_storage

ROOT = Path(__file__).resolve().parents[1]


def _worker(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = "import sys; from workbench.cli import main; sys.exit(main(['search', *sys.argv[1:]]))"
    return subprocess.Popen([sys.executable, "-c", command, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _study(folder: StudyFolder):
    return load_study(folder, folder.recipe().search, open_storage(folder.info["storage"]), seed=None)


def _finished(folder: StudyFolder) -> dict[int, dict]:
    return {t.number: t.user_attrs for t in _study(folder).get_trials()
            if t.state.name in ("COMPLETE", "PRUNED")}


def test_kill_minus_nine_then_resume_keeps_finished_trials(tmp_path):
    recipe = tiny_search_recipe(tmp_path, trials=200, max_latency_ms=1e-6)  # measured, never trained: fast
    folder = StudyFolder.create(recipe)
    first = _worker("--join", str(folder.path))
    deadline = time.monotonic() + 120
    while len(_finished(folder)) < 2 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    kept = _finished(folder)
    assert len(kept) >= 2 and first.returncode == -signal.SIGKILL, "killed mid-study"
    wanted = len(kept) + 2  # the resumed study continues to two more trials
    resumed = _worker("--resume", str(folder.path), "--trials", str(wanted))
    output, _ = resumed.communicate(timeout=180)
    assert resumed.returncode == EXIT_NO_CANDIDATE, output  # the budget is out of reach on purpose
    after = _finished(folder)
    assert len(after) == wanted and "no candidate meets the budget" in output
    assert all(after[number] == attrs for number, attrs in kept.items())  # finished trials kept as they were
    assert f"{len(kept)} finished trials kept" in output
    assert len(interrupted(_study(folder).get_trials())) <= 1  # the trial the kill cut short, if any, is retried


def test_two_workers_joining_one_study_never_train_the_same_trial(tmp_path):
    recipe = tiny_search_recipe(tmp_path, trials=3, max_latency_ms=1000.0)
    recipe.search.space.ffn_ratios = [0.5]
    folder = StudyFolder.create(recipe)
    workers = [_worker("--join", str(folder.path)) for _ in range(2)]
    outputs = [worker.communicate(timeout=240)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    trials = _study(folder).get_trials()
    assert sum(t.state.name == "COMPLETE" for t in trials) == 3
    trained = [t for t in trials if t.state.name == "COMPLETE" and "copy_of" not in t.user_attrs]
    assert len(trained) >= 2  # both candidates; a third draw of either takes the earlier figures
    runs = sorted(path.name.split("-")[1] for path in folder.trials_dir.iterdir() if path.name.startswith("trial-"))
    assert runs == sorted(str(t.number) for t in trained)  # one run folder per trained trial, none twice
    by_worker = [{line.split()[2].rstrip(":") for line in out.splitlines() if line.startswith("▶ trial")}
                 for out in outputs]
    assert not by_worker[0] & by_worker[1]
    assert {t.user_attrs["pid"] for t in trained} <= {w.pid for w in workers}


@pytest.fixture
def postgres_url():
    binaries = server_binaries()
    if binaries is None:
        pytest.skip(SKIP_REASON)
    with postgres_server(binaries) as url:
        yield url


def test_two_workers_on_a_postgresql_study_share_it_and_recover_a_killed_one(tmp_path, postgres_url):
    recipe = tiny_search_recipe(tmp_path, trials=4, max_latency_ms=1000.0)  # every candidate is trained
    recipe.search.storage = postgres_url
    folder = StudyFolder.create(recipe)
    first, second = _worker("--join", str(folder.path)), _worker("--join", str(folder.path))

    def held_by_first() -> list:
        running = _study(folder).get_trials(states=(TrialState.RUNNING,))
        return [t for t in running if t.user_attrs.get("pid") == first.pid]

    deadline = time.monotonic() + 240
    while not (held := held_by_first()) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    first.kill()  # kill -9 in the middle of its trial
    first.wait()
    assert held and first.returncode == -signal.SIGKILL, first.stdout.read()
    output, _ = second.communicate(timeout=400)
    assert second.returncode == 0, output

    trials = _study(folder).get_trials()
    killed = held[0].number
    assert interrupted(trials) == {killed}  # failed once and queued once, by the worker still running
    [retried] = [t for t in trials if t.user_attrs.get("retry_of") == killed]
    assert retried.state == TrialState.COMPLETE and retried.user_attrs["pid"] == second.pid
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 4  # the study got its trials
    runs = [path.name.split("-")[1] for path in folder.trials_dir.iterdir() if path.name.startswith("trial-")]
    assert len(runs) == len(set(runs))  # no trial trained twice
    trained = {str(t.number) for t in trials if t.state == TrialState.COMPLETE and "copy_of" not in t.user_attrs}
    assert trained <= set(runs)
