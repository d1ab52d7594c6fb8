"""The Optuna study behind a search: its storage, sampler and pruner, its trials as rows, and the trials a
killed worker left running.

Why one objective: Optuna's pruners (successive halving, Hyperband) judge a trial by the intermediate values
it reports, and `trial.report` is not supported in multi-objective studies. Multi-fidelity matters more here
than a multi-objective sampler, because training is the cost and latency is known before training starts.
So the study maximises dev accuracy alone, each candidate's measured int8 latency and size are stored on its
trial (user attributes), candidates over the latency / size budget are told PRUNED before they train (TPE
then samples away from them), the accuracy-kept budgets are TPE constraints (`trial.set_constraint`), and
the latency-accuracy Pareto frontier is computed from the stored figures (frontier.py), not by the sampler.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from workbench.core.recipe_search import SearchConfig
from workbench.core.run_folder import process_alive
from workbench.core.search.folder import JOURNAL_PREFIX, StudyError, StudyFolder
from workbench.core.search.frontier import COMPLETE, FAILED, PRUNED, RUNNING, TrialRow

INTERRUPTED = "interrupted"  # user attribute of a trial whose worker was killed or cancelled: it is retried
COPY_OF = "copy_of"  # user attribute of a trial that drew an already finished candidate and took its figures


def open_storage(url: str):
    """An Optuna storage: `journal:PATH` is a journal file (processes on one machine, or on a shared disk,
    share it), anything else an RDB URL (sqlite:///..., postgresql://... for workers on several machines)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    try:
        if url.startswith(JOURNAL_PREFIX):
            path = url[len(JOURNAL_PREFIX):]
            return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
        return optuna.storages.RDBStorage(url)
    except Exception as error:  # Optuna and SQLAlchemy raise many kinds; the user needs the one line
        raise StudyError(f"search.storage {url!r}: cannot open it ({str(error).splitlines()[0][:200]})") from None


def load_study(folder: StudyFolder, config: SearchConfig, storage, seed: int | None):
    """The folder's study in its storage, created on first use (maximising dev accuracy)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)
    return optuna.create_study(study_name=folder.info["study_name"], storage=storage, direction="maximize",
                               sampler=sampler, pruner=make_pruner(config), load_if_exists=True)


def make_pruner(config: SearchConfig):
    import optuna

    if config.pruner == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=2)
    return optuna.pruners.NopPruner()


def trials_used(study) -> int:
    """Trials that count against `search.trials`: all but those interrupted (they are queued again)."""
    from optuna.trial import TrialState

    counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.FAIL)
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state in counted and not t.user_attrs.get(INTERRUPTED))


def finished_trials(study) -> int:
    from optuna.trial import TrialState

    return sum(1 for t in study.get_trials(deepcopy=False) if t.state in (TrialState.COMPLETE, TrialState.PRUNED))


def claim(trial) -> None:
    """Record which process runs the trial, so that a later --resume can tell a dead worker's trial."""
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())


def retire_dead_trials(study, storage) -> list[int]:
    """Trials left RUNNING by a worker of this machine that no longer exists (kill -9, power loss): marked
    FAIL as interrupted and queued again with the same candidate. Workers on other machines are left alone."""
    from optuna.trial import TrialState

    retired = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        if attrs.get("host") != socket.gethostname() or process_alive(attrs.get("pid")):
            continue
        # The storage API is the one way to finish another process's trial; it addresses trials by their id.
        storage.set_trial_user_attr(trial._trial_id, INTERRUPTED, True)
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        retired.append(trial.number)
    return retired


def rows_of(study) -> list[TrialRow]:
    """Every trial of the study as a row (queued, interrupted and copied ones left out)."""
    from optuna.trial import TrialState

    states = {TrialState.COMPLETE: COMPLETE, TrialState.PRUNED: PRUNED, TrialState.FAIL: FAILED,
              TrialState.RUNNING: RUNNING}
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.state not in states or trial.user_attrs.get(INTERRUPTED) or COPY_OF in trial.user_attrs:
            continue
        rows.append(row_of(trial.number, states[trial.state], trial.user_attrs, trial.intermediate_values))
    return rows


def row_of(number: int, state: str, attrs: dict[str, Any], intermediate: dict[int, float]) -> TrialRow:
    cost = attrs.get("cost") or {}
    dev = attrs.get("dev_accuracy")
    if dev is None and intermediate:  # a pruned trial: its last reported accuracy
        dev = intermediate[max(intermediate)]
    return TrialRow(number, state, attrs.get("candidate", ""), cost.get("latency_ms"), cost.get("size_mib"),
                    cost.get("teacher_int8_ms"), dev, attrs.get("test_accuracy"), attrs.get("kept_teacher"),
                    attrs.get("kept_int8_teacher"), attrs.get("reason", ""), attrs.get("run_dir", ""))
