"""Budget search: the search: section's validation, the frontier, the best candidate and the no-fit message."""

from __future__ import annotations

import os

import pytest

from workbench.core.errors import RecipeError
from workbench.core.recipe import Recipe
from workbench.core.recipe_search import SearchBudget
from workbench.core.search.frontier import (
    COMPLETE,
    PRUNED,
    TrialRow,
    best_under_budget,
    cost_violations,
    format_table,
    mark,
    no_candidate_message,
    pareto_front,
)


def test_search_section_defaults_and_round_trip():
    recipe = Recipe.from_dict({"search": {"budget": {"max_latency_ms": 2.5, "min_kept_teacher": 0.98},
                                          "trials": 5, "pruner": "hyperband"}})
    assert recipe.search.budget.max_latency_ms == 2.5 and recipe.search.trials == 5
    assert Recipe.from_dict(recipe.model_dump(mode="json")) == recipe


@pytest.mark.parametrize(("section", "fragment"), [
    ({"budget": {"max_latency": 2}}, "did you mean 'max_latency_ms'"),
    ({"budget": {"max_latency_ms": -1}}, "search.budget.max_latency_ms"),
    ({"space": {"ffn_ratios": [1.0]}}, "search.space.ffn_ratios"),
    ({"space": {"int8": []}}, "int8 needs at least one option"),
    ({"space": {"int8": ["fp16"]}}, "search.space.int8"),
    ({"trials": None}, "give trials or time_limit_minutes"),
    ({"pruner": "median"}, "search.pruner"),
    ({"storage_url": "sqlite:///x.db"}, "did you mean 'storage'"),
])
def test_bad_search_sections_name_the_field(section, fragment):
    with pytest.raises(RecipeError) as error:
        Recipe.from_dict({"search": section})
    assert fragment in str(error.value)


def _row(number, latency, accuracy, state=COMPLETE, size=10.0, kept=None):
    return TrialRow(number, state, f"candidate {number}", latency, size, 1.0, accuracy, kept_teacher=kept)


def test_frontier_keeps_only_undominated_trained_rows():
    rows = [_row(0, 1.0, 0.70), _row(1, 2.0, 0.80), _row(2, 2.5, 0.75), _row(3, 0.5, 0.90, state=PRUNED),
            _row(4, 3.0, 0.85), _row(5, 1.0, 0.70)]
    front = pareto_front(rows)
    assert [r.number for r in front] == [0, 5, 1, 4]  # 2 is beaten by 1; pruned 3 never counts; ties both stay
    assert all(r.state == COMPLETE for r in front)


def test_best_under_budget_respects_latency_size_and_accuracy_kept():
    budget = SearchBudget(max_latency_ms=2.2, max_size_mib=20, min_kept_teacher=0.95)
    rows = mark([_row(0, 1.0, 0.70, kept=0.97), _row(1, 2.0, 0.80, kept=0.99), _row(2, 3.0, 0.90, kept=1.0),
                 _row(3, 1.5, 0.85, size=30, kept=1.0), _row(4, 1.8, 0.82, kept=0.90)], budget)
    assert best_under_budget(rows, budget).number == 1
    assert [r.number for r in rows if r.over_budget] == [2, 3, 4]
    assert cost_violations(3.0, 10, budget) == ["int8 latency 3.00 ms > 2.2 ms"]


def test_a_speedup_budget_judges_each_candidate_by_the_int8_teacher_timed_beside_it():
    budget = SearchBudget(min_speedup_int8_teacher=2.5)
    fast, slow, unmeasured = _row(0, 9.0, 0.7), _row(1, 0.5, 0.8), _row(2, 0.4, 0.9)
    fast.speedup_int8_teacher, slow.speedup_int8_teacher = 2.6, 2.4  # ms figures from other sittings: no matter
    rows = mark([fast, slow, unmeasured], budget)
    assert [r.number for r in rows if r.over_budget] == [1, 2] and best_under_budget(rows, budget).number == 0
    assert cost_violations(1.0, 10, budget, 2.4) == ["speed-up over the int8 teacher 2.40x < 2.5x"]
    assert "≥ 2.5x faster than the fused int8 teacher" in no_candidate_message(rows[1:], budget)
    assert "2.60x" in format_table([fast], {})  # the table shows each trial's own ratio beside its ms


def test_no_candidate_message_names_the_budget_and_the_closest():
    budget = SearchBudget(max_latency_ms=0.5, batch=1, seq_len=64, threads=2)
    rows = mark([_row(0, 4.0, 0.7), _row(1, 0.9, 0.6, state=PRUNED), _row(2, 2.0, 0.8), _row(3, 8.0, 0.9)], budget)
    assert best_under_budget(rows, budget) is None
    message = no_candidate_message(rows, budget)
    assert "no candidate meets the budget (int8 latency ≤ 0.5 ms at batch 1 × 64 tokens on 2 threads)" in message
    assert message.index("trial 1") < message.index("trial 2") < message.index("trial 0")
    assert "trial 3" not in message  # the three closest only


def test_a_study_folder_keeps_any_optuna_storage_url(tmp_path):
    from workbench.core.search.folder import StudyError, StudyFolder
    from workbench.core.search.study import load_study, open_storage

    recipe = Recipe.from_dict({"name": "s", "output_dir": str(tmp_path),
                               "search": {"storage": f"sqlite:///{tmp_path / 'shared.db'}"}})
    folder = StudyFolder.create(recipe)
    assert StudyFolder.open(folder.path).info["storage"] == recipe.search.storage
    study = load_study(folder, recipe.search, open_storage(folder.info["storage"]), seed=0)
    assert study.study_name == folder.path.name and (tmp_path / "shared.db").is_file()
    with pytest.raises(StudyError, match="search.storage 'nosuchdb://x': cannot open it"):
        open_storage("nosuchdb://x")
    with pytest.raises(StudyError, match="not a study folder"):
        StudyFolder.open(tmp_path)


def test_a_dead_workers_trial_is_failed_and_queued_again_through_the_public_api(tmp_path):
    import socket
    import subprocess
    import sys

    from optuna.trial import TrialState

    from workbench.core.search.folder import StudyFolder
    from workbench.core.search.study import interrupted, load_study, open_storage, retire_dead_trials, trials_used

    recipe = Recipe.from_dict({"name": "s", "output_dir": str(tmp_path)})
    folder = StudyFolder.create(recipe)
    study = load_study(folder, recipe.search, open_storage(folder.info["storage"]), seed=0)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    trial = study.ask()
    trial.suggest_categorical("ffn_ratio", [0.0, 0.5])
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", int(dead.stdout))
    alive = study.ask()  # this process's own trial, still running: left alone
    alive.set_user_attr("host", socket.gethostname())
    alive.set_user_attr("pid", os.getpid())
    assert retire_dead_trials(study) == [trial.number]
    trials = study.get_trials()
    assert trials[trial.number].state == TrialState.FAIL and trials[alive.number].state == TrialState.RUNNING
    assert interrupted(trials) == {trial.number}
    assert trials_used(study) == 1  # the running one; the interrupted one is not counted
    again = study.ask()  # the queued retry comes first, with the same candidate
    assert again.suggest_categorical("ffn_ratio", [0.0, 0.5]) == trial.params["ffn_ratio"]
