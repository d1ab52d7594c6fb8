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

RETRY_OF = "retry_of"  # user attribute of a queued trial that retries an interrupted one (killed or cancelled)
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
    """The folder's study in its storage, created on first use (maximising dev accuracy). A seeded sampler of a
    study that already has trials draws from the seed plus their count: the seed alone would repeat the
    study's first picks, and the count keeps a resumed study reproducible."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=folder.info["study_name"], storage=storage, direction="maximize",
                                sampler=_sampler(seed), pruner=make_pruner(config), load_if_exists=True)
    if seed is not None and (earlier := len(study.get_trials(deepcopy=False))):
        study.sampler = _sampler(seed + earlier)
    return study


def _sampler(seed: int | None):
    import optuna

    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)


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
    trials = study.get_trials(deepcopy=False)
    retried = interrupted(trials)
    return sum(1 for t in trials if t.state in counted and t.number not in retried)


def interrupted(trials) -> set[int]:
    """The numbers of trials cut short by a killed worker or the user's cancel: each has a retry queued."""
    return {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}


def retry(study, trial) -> bool:
    """Fail an interrupted trial and queue its candidate again. `study.tell` takes the trial's number, so a
    worker can also finish a trial that a dead one left running. When another worker finished it first (the
    storage refuses a second finish atomically), nothing is queued: one retry per trial, never two."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    try:
        study.tell(trial.number, state=TrialState.FAIL)
    except (ValueError, UpdateFinishedTrialError):  # already finished, by its worker or another's retry
        return False
    study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
    return True


def finished_trials(study) -> int:
    from optuna.trial import TrialState

    return sum(1 for t in study.get_trials(deepcopy=False) if t.state in (TrialState.COMPLETE, TrialState.PRUNED))


def distinct_finished(study) -> int:
    """How many different candidates the study has finished (trained, pruned or refused over budget)."""
    from optuna.trial import TrialState

    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return len({tuple(sorted(t.params.items())) for t in finished})


def claim(trial) -> None:
    """Record which process runs the trial, so that a later --resume can tell a dead worker's trial."""
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())


def retire_dead_trials(study) -> list[int]:
    """Trials left RUNNING by a worker of this machine that no longer exists (kill -9, power loss): marked
    FAIL as interrupted and queued again with the same candidate. Workers on other machines are left alone."""
    from optuna.trial import TrialState

    retired = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        if attrs.get("host") != socket.gethostname() or process_alive(attrs.get("pid")):
            continue
        if retry(study, trial):
            retired.append(trial.number)
    return retired


def rows_of(study) -> list[TrialRow]:
    """Every trial of the study as a row (queued, interrupted and copied ones left out)."""
    from optuna.trial import TrialState

    states = {TrialState.COMPLETE: COMPLETE, TrialState.PRUNED: PRUNED, TrialState.FAIL: FAILED,
              TrialState.RUNNING: RUNNING}
    rows = []
    trials = study.get_trials(deepcopy=False)
    retried = interrupted(trials)
    for trial in trials:
        if trial.state not in states or trial.number in retried or COPY_OF in trial.user_attrs:
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
                    attrs.get("kept_int8_teacher"), attrs.get("reason", ""), attrs.get("run_dir", ""),
                    speedup_int8_teacher=cost.get("speedup_int8_teacher"))
