"""One trial of a search: draw a candidate, measure its int8 latency and size, and either refuse it (over
budget: told PRUNED with the reason, never trained) or train it as a full job while Optuna's pruner watches
its dev accuracy after each epoch of the student's stages (a pruned candidate's job is cancelled cleanly).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.core.errors import WorkbenchError
from workbench.core.events import Evaluation, Event, Failed, Finished, JobControl
from workbench.core.recipe import Recipe
from workbench.core.run_folder import RunFolder, read_json
from workbench.core.search.costs import REFERENCE_NAMES, TEACHER_INT8, CostMeter
from workbench.core.search.events import CandidateMeasured, TrialDone, TrialProgress
from workbench.core.search.folder import StudyFolder
from workbench.core.search.frontier import COMPLETE, FAILED, PRUNED, TrialRow, accuracy_violations, cost_violations
from workbench.core.search.space import TeacherShape, candidate_recipe, suggest, trial_job
from workbench.core.search.study import COPY_OF, claim, retry, row_of
from workbench.core.stages.training import PREDICTION, RECOVERY

STUDENT_STAGES = (PREDICTION, RECOVERY)  # the stages whose dev accuracy is the student's (the pruner's steps)


class TrialControl(JobControl):
    """A trial's job control: the pruner cancels this trial alone, the user's pause and cancel reach it from
    the search's control."""

    def __init__(self, search: JobControl) -> None:
        super().__init__()
        self.search = search

    @property
    def cancelled(self) -> bool:
        return self.pruned or self.search.cancelled

    @property
    def pruned(self) -> bool:
        """Cancelled for this trial alone (by the pruner), not by the user."""
        return self._cancelled.is_set()

    def wait_while_paused(self) -> float:
        return self.search.wait_while_paused() + super().wait_while_paused()


@dataclass
class TrialSetting:
    """What every trial of one worker shares."""

    base: Recipe
    teacher: TeacherShape
    folder: StudyFolder
    meter: CostMeter
    control: JobControl


def run_trial(study, trial, setting: TrialSetting) -> Iterator[Event]:
    """The trial's events, ending with TrialDone; the trial is told its outcome before that."""
    from optuna.trial import TrialState

    claim(trial)
    base, budget = setting.base, setting.base.search.budget
    candidate = suggest(trial, base.search.space, setting.teacher)
    trial.set_user_attr("candidate", candidate.describe())
    if (earlier := _same_candidate_finished(study, trial)) is not None:
        yield _copied(study, trial, earlier)
        return
    try:
        recipe = trial_job(candidate_recipe(base, candidate, setting.teacher, f"trial-{trial.number}",
                                            setting.folder.trials_dir))
        cost = setting.meter.measure(recipe, f"trial-{trial.number}")
    except WorkbenchError as error:  # a shape this teacher or exporter cannot take: the study goes on
        trial.set_user_attr("reason", f"cannot be built or measured: {error}")
        yield _told(study, trial, TrialState.FAIL, FAILED)
        return
    trial.set_user_attr("cost", cost.to_dict())
    over = cost_violations(cost.latency_ms, cost.size_mib, budget, cost.speedup_int8_teacher)
    yield CandidateMeasured(trial.number, candidate.to_dict(), candidate.describe(), cost.to_dict(), over)
    if over:
        trial.set_user_attr("reason", "over budget, not trained: " + "; ".join(over))
        yield _told(study, trial, TrialState.PRUNED, PRUNED)
        return
    yield from _train(study, trial, recipe, setting)


def _train(study, trial, recipe: Recipe, setting: TrialSetting) -> Iterator[Event]:
    from optuna.trial import TrialState

    from workbench.core.job import run_job

    control = TrialControl(setting.control)
    step, stage_best, last = 0, {}, None
    for event in run_job(recipe, control):
        last = event
        if isinstance(event, Finished | Failed) and event.run_dir:
            trial.set_user_attr("run_dir", event.run_dir)
        if isinstance(event, Evaluation) and event.split == "dev" and event.stage in STUDENT_STAGES:
            accuracy = float(event.metrics["accuracy"])
            stage_best[event.stage] = max(stage_best.get(event.stage, 0.0), accuracy)
            trial.report(accuracy, step)
            step += 1
            if not control.cancelled and trial.should_prune():
                trial.set_user_attr("reason", f"pruned by the {setting.base.search.pruner} pruner at dev accuracy "
                                              f"{accuracy:.4f} after {step} evaluation(s)")
                control.cancel()
        yield TrialProgress(trial.number, event)
    if isinstance(last, Finished) and last.status == "finished" and stage_best:
        # The student stages keep their best weights, so the last stage's best is the student's accuracy.
        yield _completed(study, trial, list(stage_best.values())[-1], setting)
    elif control.pruned:
        yield _told(study, trial, TrialState.PRUNED, PRUNED)
    elif setting.control.cancelled:
        trial.set_user_attr("reason", "cancelled by the user; --resume trains it again")
        retry(study, trial)
        yield TrialDone(row_of(trial.number, FAILED, trial.user_attrs, {}).to_dict())
    else:
        message = last.message if isinstance(last, Failed) else "the job ended without a student"
        trial.set_user_attr("reason", f"the job failed: {message}")
        yield _told(study, trial, TrialState.FAIL, FAILED)


def _same_candidate_finished(study, trial):
    """An earlier finished trial of the same candidate: samplers may draw a categorical combination twice."""
    from optuna.trial import TrialState

    for other in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        if other.params == trial.params and COPY_OF not in other.user_attrs:
            return other
    return None


def _copied(study, trial, earlier) -> TrialDone:
    """Tell the trial what the earlier one measured (and learned), instead of measuring and training again."""
    for key in ("cost", "dev_accuracy", "test_accuracy", "kept_teacher", "kept_int8_teacher", "run_dir"):
        if key in earlier.user_attrs:
            trial.set_user_attr(key, earlier.user_attrs[key])
    trial.set_user_attr(COPY_OF, earlier.number)
    trial.set_user_attr("reason", f"same candidate as trial {earlier.number}: its figures, not measured again")
    label = COMPLETE if earlier.value is not None else PRUNED
    return _told(study, trial, earlier.state, label, earlier.value)


def _completed(study, trial, dev_accuracy: float, setting: TrialSetting) -> TrialDone:
    """Tell a trained trial its dev accuracy, with its test figures read from its job and accuracy kept of the
    study's teacher (PyTorch and fused int8)."""
    from optuna.trial import TrialState

    run = RunFolder(Path(trial.user_attrs["run_dir"]))
    evaluation = read_json(run.evaluation_path)
    student = evaluation.get("student_int8") or evaluation.get("student") or {}
    test = student.get("accuracy")
    teachers = setting.meter.teacher_accuracies(run)
    teacher, teacher_int8 = teachers[REFERENCE_NAMES[0]], teachers[TEACHER_INT8]
    figures = {"dev_accuracy": dev_accuracy, "test_accuracy": test,
               "kept_teacher": test / teacher if test is not None and teacher else None,
               "kept_int8_teacher": test / teacher_int8 if test is not None and teacher_int8 else None}
    for name, value in figures.items():
        trial.set_user_attr(name, value)
    budget = setting.base.search.budget
    probe = TrialRow(trial.number, COMPLETE, kept_teacher=figures["kept_teacher"],
                     kept_int8_teacher=figures["kept_int8_teacher"])
    for name, value in _constraint_values(probe, budget).items():
        trial.set_constraint(name, value)
    if problems := accuracy_violations(probe, budget):
        trial.set_user_attr("reason", "trained, but " + "; ".join(problems))
    return _told(study, trial, TrialState.COMPLETE, COMPLETE, dev_accuracy)


def _constraint_values(row: TrialRow, budget) -> dict[str, float]:
    """TPE's constraints (feasible when <= 0): the accuracy-kept budgets of a trained trial."""
    values = {"budget": 0.0}
    for name, kept, minimum in (("kept_teacher", row.kept_teacher, budget.min_kept_teacher),
                                ("kept_int8_teacher", row.kept_int8_teacher, budget.min_kept_int8_teacher)):
        if minimum is not None:
            values[name] = minimum - (kept or 0.0)
    return values


def _told(study, trial, state, label: str, value: float | None = None) -> TrialDone:
    frozen = study.tell(trial, value, state=state)
    return TrialDone(row_of(frozen.number, label, frozen.user_attrs, frozen.intermediate_values).to_dict())
