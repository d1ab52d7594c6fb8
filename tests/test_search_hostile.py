"""`workbench search` met as a careless user meets it: a bad --trials, --export-recipe to a path that cannot be
written, a budget no candidate meets, and a resumed study whose seeded sampler must draw on, not replay."""

from __future__ import annotations

import pytest

from tests.tiny_search import tiny_search_recipe
from workbench.cli import EXIT_NO_CANDIDATE, main
from workbench.core.search.events import SearchFinished
from workbench.core.search.folder import StudyFolder
from workbench.core.search.runner import run_search
from workbench.core.search.study import load_study, open_storage


@pytest.fixture(scope="module")
def over_budget(tmp_path_factory) -> str:
    """A finished one-trial study whose only candidate is over its budget (measured, never trained)."""
    recipe = tiny_search_recipe(tmp_path_factory.mktemp("over-budget"), trials=1, max_latency_ms=1e-6)
    *_, finished = run_search(recipe)
    return finished.study_dir


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("trials", ["0", "-1", "10001"])
def test_a_bad_trials_count_is_one_line_and_leaves_no_study_folder(tmp_path, capsys, trials):
    recipe = tiny_search_recipe(tmp_path, trials=2).save(tmp_path / "search.yaml")
    capsys.readouterr()
    assert main(["search", str(recipe), "--trials", trials]) == 2
    assert one_line_error(capsys).startswith(f"error: --trials {trials}: search.trials: Input should be")
    assert not list((tmp_path / "runs").glob("search-*"))


def test_a_budget_no_candidate_meets_exits_non_zero_with_a_line_saying_so(over_budget, capsys):
    assert main(["search", "--resume", over_budget]) == EXIT_NO_CANDIDATE
    assert "no candidate meets the budget" in capsys.readouterr().out


def test_a_bad_trials_count_for_a_resumed_study_is_the_same_one_line(over_budget, capsys):
    assert main(["search", "--resume", over_budget, "--trials", "0"]) == 2
    assert one_line_error(capsys).startswith("error: --trials 0: search.trials: Input should be")


def test_export_recipe_to_a_path_that_cannot_be_written_is_one_line(over_budget, tmp_path, capsys):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")
    assert main(["search", "--export-recipe", over_budget, "0", "-o", str(not_a_folder / "student.yaml")]) == 2
    assert one_line_error(capsys) == (f"error: {not_a_folder / 'student.yaml'}: cannot write the recipe there "
                                      "(File exists); give -o a file in a folder you can write to")
    assert main(["search", "--export-recipe", over_budget, "0", "-o", str(tmp_path / "student.yaml")]) == 0


def drawn(study_dir: str) -> list[str]:
    folder = StudyFolder.open(study_dir)
    study = load_study(folder, folder.recipe().search, open_storage(folder.info["storage"]), seed=None)
    return [t.user_attrs["candidate"] for t in study.get_trials()]


def interrupted_then_resumed(recipe) -> list[str]:
    """The candidates of a study stopped after 2 trials, then resumed to 4 (the sampler's random start)."""
    *_, first = run_search(recipe)
    *_, resumed = run_search(None, resume=first.study_dir, trials=4)
    assert isinstance(resumed, SearchFinished)
    return drawn(resumed.study_dir)


def test_a_resumed_seeded_study_draws_on_reproducibly_instead_of_replaying_its_first_picks(tmp_path):
    recipe = tiny_search_recipe(tmp_path, trials=2, max_latency_ms=1e-6)  # measured, never trained: fast
    recipe.search.space.ffn_ratios = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    recipe.search.space.heads_ratios = [0.0, 0.25, 0.5]  # 48 candidates
    one, other = interrupted_then_resumed(recipe), interrupted_then_resumed(recipe)
    assert len(one) == 4 and one == other  # the same seed, the same study: a resume draws the same again
    assert one[2:] != one[:2]  # and not the first picks over again
