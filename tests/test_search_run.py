"""A tiny study in process: candidates over budget are measured but never trained; one under budget trains
as a full job whose dev accuracy Optuna is told; the study report and "use this student" recipe follow."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from tests.tiny_search import tiny_search_recipe
from workbench.core.events import Step
from workbench.core.search.events import CandidateMeasured, ReferencesMeasured, SearchFinished, TrialDone, TrialProgress
from workbench.core.search.folder import StudyFolder
from workbench.core.search.runner import run_search, trial_recipe


def test_candidates_over_the_latency_budget_are_never_trained(tmp_path):
    events = list(run_search(tiny_search_recipe(tmp_path, trials=2, max_latency_ms=1e-6)))
    measured = [e for e in events if isinstance(e, CandidateMeasured)]
    assert len(measured) == 2 and all(e.cost["latency_ms"] > 1e-6 and e.over_budget for e in measured)
    assert not [e for e in events if isinstance(e, TrialProgress)]  # no job event: nothing trained
    last = events[-1]
    assert isinstance(last, SearchFinished) and last.best is None
    assert all(row["state"] == "pruned" and row["reason"].startswith("over budget, not trained: int8 latency")
               for row in last.rows)
    assert "no candidate meets the budget" in last.message and "Closest: trial" in last.message
    folder = StudyFolder(last.study_dir)
    assert not folder.trials_dir.exists() or not any(folder.trials_dir.iterdir())  # no run folder
    references = next(e for e in events if isinstance(e, ReferencesMeasured)).models
    assert set(references) == {"teacher-torch-fp32", "teacher-onnx-fp32", "teacher-onnx-int8"}
    sittings, scales = [references["teacher-onnx-int8"]["latency_ms"]], []
    for cost in (e.cost for e in measured):  # one scale: the int8 teacher's median over every sitting so far
        sittings.append(cost["teacher_int8_ms"])
        scales.append(statistics.median(sittings) / cost["teacher_int8_ms"])
        assert cost["latency_ms"] == pytest.approx(cost["measured_ms"] * scales[-1])
    assert scales[0] != 1.0  # the first is the mean of two sittings; a later one may be its own median
    assert (folder.report_dir / "index.html").is_file()


def test_a_time_limited_study_ends_once_every_candidate_is_finished(tmp_path):
    from workbench.core.search.study import load_study, open_storage

    recipe = tiny_search_recipe(tmp_path, max_latency_ms=1e-6)
    recipe.search.time_limit_minutes, recipe.search.trials = 1.0, None
    recipe.search.space.ffn_ratios = [0.0]  # two shapes, one ratio: two candidates
    events = list(run_search(recipe))
    folder = StudyFolder(events[-1].study_dir)
    study = load_study(folder, folder.recipe().search, open_storage(folder.info["storage"]), seed=None)
    assert len(events[-1].rows) == 2 and len(study.trials) <= 6  # not a minute of copies


def test_a_candidate_under_budget_trains_once_and_reports_its_accuracy(tmp_path):
    recipe = tiny_search_recipe(tmp_path, trials=2, max_latency_ms=1000.0)  # one candidate, drawn twice
    recipe.search.space.layer_counts, recipe.search.space.ffn_ratios = [1], [0.5]
    events = list(run_search(recipe))
    steps = [e.event for e in events if isinstance(e, TrialProgress) and isinstance(e.event, Step)]
    assert steps, "the candidate under budget trained"
    done, again = (e.row for e in events if isinstance(e, TrialDone))
    assert done["state"] == "complete" and 0 <= done["dev_accuracy"] <= 1
    assert again["reason"] == "same candidate as trial 0: its figures, not measured again"
    assert again["dev_accuracy"] == done["dev_accuracy"] and len(list(Path(done["run_dir"]).parent.iterdir())) == 1
    assert done["kept_teacher"] is not None and done["kept_int8_teacher"] is not None
    assert Path(done["run_dir"]).parent == StudyFolder(events[-1].study_dir).trials_dir
    assert events[-1].best["number"] == 0 and [row["number"] for row in events[-1].rows] == [0]
    student = trial_recipe(events[-1].study_dir, 0)
    assert student.student.teacher_layers == [2] and student.pruning.ffn_ratio == 0.5
    assert student.output_dir == recipe.output_dir  # a full job, beside the study, not inside it


def test_trials_share_the_studys_teacher_and_skip_what_the_study_measures_once(tmp_path):
    from workbench.core.events import StageStarted
    from workbench.core.run_folder import RunFolder
    from workbench.core.search.study import load_study, open_storage

    recipe = tiny_search_recipe(tmp_path, trials=2, max_latency_ms=1000.0)
    recipe.search.space.layer_counts = [1]
    recipe.quantization.int4 = True  # the full job's; a trial leaves it out
    folder = StudyFolder.create(recipe)
    study = load_study(folder, recipe.search, open_storage(folder.info["storage"]), seed=0)
    for ffn_ratio in (0.0, 0.5):
        study.enqueue_trial({"shape": "keep:2", "ffn_ratio": ffn_ratio, "heads_ratio": 0.0, "vocabulary": False,
                             "int8": "dynamic"})
    events = list(run_search(join=folder.path))
    started = [[e.event.stage for e in events if isinstance(e, TrialProgress) and e.trial == number
                and isinstance(e.event, StageStarted)] for number in (0, 1)]
    assert "teacher_finetune" in started[0] and "teacher_finetune" not in started[1]  # fine-tuned once
    rows = [e.row for e in events if isinstance(e, TrialDone)]
    assert [row["state"] for row in rows] == ["complete", "complete"]
    for row in rows:
        run = RunFolder.open(row["run_dir"])
        assert run.onnx_path("student-int8.onnx").is_file() and not run.onnx_path("student-int4.onnx").exists()
        assert not run.onnx_path("teacher-int8.onnx").exists() and not run.bench_path.exists()
        assert 0 < row["kept_int8_teacher"] and row["kept_teacher"] is not None
    accuracy = json.loads(folder.teacher_accuracy_path.read_text())
    assert rows[1]["kept_int8_teacher"] == rows[1]["test_accuracy"] / accuracy["teacher-onnx-int8"]
    full = trial_recipe(folder.path, 1)
    assert full.quantization.reference_models and full.quantization.int4  # "Use this student" is the full job


def test_the_pruner_cancels_a_candidate_that_trails_after_its_first_epoch(tmp_path):
    import optuna
    from optuna.distributions import CategoricalDistribution

    from workbench.core.run_folder import RunFolder
    from workbench.core.search.study import load_study, open_storage

    recipe = tiny_search_recipe(tmp_path, trials=3, max_latency_ms=1000.0)
    recipe.search.space.layer_counts = [1]
    folder = StudyFolder.create(recipe)
    study = load_study(folder, recipe.search, open_storage(folder.info["storage"]), seed=0)
    space = {"shape": ["keep:2"], "ffn_ratio": [0.0, 0.5], "heads_ratio": [0.0], "vocabulary": [False],
             "int8": ["dynamic"]}
    leader = {name: choices[0] for name, choices in space.items()}
    for _ in range(2):  # two earlier trials at a perfect dev accuracy after their first epoch
        study.add_trial(optuna.trial.create_trial(
            params=leader, distributions={k: CategoricalDistribution(v) for k, v in space.items()}, value=1.0,
            intermediate_values={0: 1.0}, system_attrs={"completed_rung_0": 1.0}))
    study.enqueue_trial({**leader, "ffn_ratio": 0.5})
    events = list(run_search(join=folder.path))
    row = next(e.row for e in events if isinstance(e, TrialDone))
    assert row["state"] == "pruned" and row["reason"].startswith("pruned by the successive-halving pruner at dev")
    run = RunFolder(Path(row["run_dir"]))
    assert run.status()["status"] == "cancelled" and not run.student_dir.exists()  # stopped before pruning


def test_a_new_study_tries_the_base_recipes_own_student_first(tmp_path):
    recipe = tiny_search_recipe(tmp_path, trials=1, max_latency_ms=1e-6)  # measured, never trained: fast
    recipe.student.teacher_layers = [2]
    recipe.pruning.enabled, recipe.pruning.ffn_ratio = True, 0.5
    events = list(run_search(recipe))
    first = next(e for e in events if isinstance(e, CandidateMeasured))
    assert first.candidate["shape"] == "keep:2" and first.candidate["ffn_ratio"] == 0.5


def test_the_base_student_is_not_tried_when_the_space_lacks_it():
    from workbench.core.recipe import Recipe
    from workbench.core.search.space import TeacherShape, base_candidate

    recipe, teacher = Recipe(), TeacherShape(4, 32, 4, 64)
    recipe.student.teacher_layers = [2, 4]
    recipe.pruning.enabled, recipe.pruning.ffn_ratio = True, 0.25
    space = recipe.search.space.model_copy(update={"layer_counts": [2], "ffn_ratios": [0.0, 0.25]})
    assert base_candidate(recipe, space, teacher)["shape"] == "keep:2,4"
    assert base_candidate(recipe, space.model_copy(update={"ffn_ratios": [0.0, 0.5]}), teacher) is None
    recipe.pruning.enabled = False  # pruning off: its knobs stand at their off values, which the space holds
    assert base_candidate(recipe, space, teacher)["ffn_ratio"] == 0.0
