"""The search as a generator of events: open (or resume, or join) a study, measure the reference models,
then run trials until the study has its number of trials or this worker's time limit is spent.

Several workers (`workbench search --join STUDY`) share one study through its storage: each asks Optuna for
its next trial, and a trial number belongs to the worker that asked for it, so no trial is trained twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from workbench.core.errors import WorkbenchError
from workbench.core.events import Event, JobCancelled, JobControl
from workbench.core.methods.method import REQUIRED
from workbench.core.methods.registry import search_knobs
from workbench.core.quiet import quiet_libraries
from workbench.core.recipe import Recipe
from workbench.core.search.costs import CostMeter
from workbench.core.search.events import ReferencesMeasured, SearchFinished, StudyOpened
from workbench.core.search.folder import StudyError, StudyFolder
from workbench.core.search.frontier import best_under_budget, describe_budget, mark, no_candidate_message
from workbench.core.search.space import base_candidate, candidate_recipe, space_size, teacher_shape
from workbench.core.search.study import (
    distinct_finished,
    finished_trials,
    load_study,
    open_storage,
    retire_dead_trials,
    rows_of,
    trials_used,
)
from workbench.core.search.trial import TrialSetting, run_trial


def run_search(recipe: Recipe | None = None, control: JobControl | None = None, resume: str | Path | None = None,
               join: str | Path | None = None, trials: int | None = None) -> Iterator[Event]:
    """A new study from `recipe`, or the study folder `resume` (a killed or cancelled study: its dead trials
    are retried) or `join` (another worker of a running study). `trials` overrides search.trials."""
    control = control or JobControl()
    with quiet_libraries():
        if recipe is not None:
            with_trials(recipe, trials)  # a bad --trials is answered before a study folder exists
        folder = StudyFolder.create(recipe) if recipe is not None else StudyFolder.open(resume or join)
        base = with_trials(folder.recipe(), trials)
        storage = open_storage(folder.info["storage"])
        study = load_study(folder, base.search, storage, seed=None if join else base.search.seed)
        yield StudyOpened(str(folder.path), study.study_name, folder.info["storage"], finished_trials(study))
        teacher = teacher_shape(base)
        if recipe is not None and (first := base_candidate(base, base.search.space, teacher)):
            study.enqueue_trial(first)
        meter = CostMeter(base, folder)
        yield ReferencesMeasured(meter.measure_references())
        setting = TrialSetting(base, teacher, folder, meter, control)
        status = "finished"
        started = time.monotonic()
        try:
            candidates = space_size(base.search.space, setting.teacher)
            while True:
                # A trial left running by a worker of this machine killed since (kill -9) is queued again first,
                # so that any worker, joined or resumed, recovers it and the study still gets its trials.
                retire_dead_trials(study)
                if not _more_wanted(study, base, started, candidates):
                    break
                control.raise_if_cancelled("search")
                yield from run_trial(study, study.ask(), setting)
            control.raise_if_cancelled("search")
        except JobCancelled:
            status = "cancelled"
        summary = study_summary(folder, study, base, status)
        write_study_report(folder, summary)
        yield summary


def with_trials(recipe: Recipe, trials: int | None) -> Recipe:
    """The recipe with search.trials set to `trials` (when given), validated as a recipe value is."""
    if trials is None:
        return recipe
    data = recipe.model_dump(mode="json")
    data["search"]["trials"] = trials
    return Recipe.from_dict(data, origin=f"--trials {trials}")


def study_summary(folder: StudyFolder, study, base: Recipe, status: str = "finished") -> SearchFinished:
    """The rows (frontier and budget marked), the best candidate under budget, or the message saying none is."""
    budget = base.search.budget
    rows = mark(rows_of(study), budget)
    best = best_under_budget(rows, budget)
    message = "" if best else no_candidate_message(rows, budget)
    return SearchFinished(str(folder.path), status, [row.to_dict() for row in rows],
                          best.to_dict() if best else None, message)


def open_finished(study_dir: str | Path) -> tuple[StudyFolder, SearchFinished]:
    """A study folder's current figures, read from its storage (for the report and --export-recipe)."""
    folder = StudyFolder.open(study_dir)
    base = folder.recipe()
    study = load_study(folder, base.search, open_storage(folder.info["storage"]), seed=None)
    return folder, study_summary(folder, study, base)


def report_study(study_dir: str | Path) -> Path:
    """Write STUDY/report/index.html from the study's storage; return the page's path."""
    folder, summary = open_finished(study_dir)
    return write_study_report(folder, summary)


def write_study_report(folder: StudyFolder, summary: SearchFinished) -> Path:
    from workbench.core.report.study import write_study_report as write_page

    base = folder.recipe()
    return write_page(folder.report_dir, f"Budget search: {base.name}", summary.rows,
                      folder.references().get("models", {}), describe_budget(base.search.budget), summary.best,
                      summary.message)


def trial_recipe(study_dir: str | Path, number: int) -> Recipe:
    """"Use this student": the recipe of a full job training trial `number`'s candidate, written into the
    study's output folder rather than its trials folder."""
    from workbench.core.search.space import Candidate

    folder = StudyFolder.open(study_dir)
    base = folder.recipe()
    study = load_study(folder, base.search, open_storage(folder.info["storage"]), seed=None)
    matches = [t for t in study.get_trials(deepcopy=False) if t.number == number]
    knobs = [knob for _, knob in search_knobs()]
    drawn = {"shape", "int8", *(knob.name for knob in knobs)}
    needed = drawn - {knob.name for knob in knobs if knob.absent is not REQUIRED}  # a knob added later may be absent
    if not matches or not needed <= set(matches[0].params) <= drawn:
        known = ", ".join(str(t.number) for t in study.get_trials(deepcopy=False) if t.params) or "none"
        raise StudyError(f"{study_dir}: has no trial {number} with a drawn candidate (trials: {known})")
    candidate = Candidate.from_dict(matches[0].params)
    try:
        return candidate_recipe(base, candidate, teacher_shape(base), f"{base.name}-trial-{number}", base.output_dir)
    except WorkbenchError as error:
        raise StudyError(f"trial {number}: {error}") from None


def _more_wanted(study, base: Recipe, started: float, candidates: int) -> bool:
    limit = base.search.time_limit_minutes
    if limit is not None and time.monotonic() - started > limit * 60:
        return False
    if base.search.trials is None:
        # Until the time limit, unless every candidate is finished: more trials would only copy them, fast.
        return distinct_finished(study) < candidates
    return trials_used(study) < base.search.trials
