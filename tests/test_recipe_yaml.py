"""Recipes are data: bounded aliases, bounded sizes, bounded reprs in messages, one line per single problem."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from benchmarks.alias_bomb import bomb_text
from workbench.cli import main
from workbench.core.errors import RecipeError, short_repr
from workbench.core.recipe import Recipe
from workbench.core.safe_yaml import MAX_RECIPE_BYTES


@pytest.fixture
def bomb(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb_text())
    assert path.stat().st_size <= 400
    return path


@pytest.mark.parametrize("command", ["check", "run"])
def test_alias_bomb_is_answered_at_once_in_little_memory(bomb, capsys, command):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        code = main([command, str(bomb)])
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    err = capsys.readouterr().err
    assert "anchors and aliases expand to more than" in err and err.count("\n") == 1
    # Generous bounds (measured: ~10 ms, well under 1 MiB; without the bound it runs out of memory).
    assert seconds < 1 and peak < 200 * 2**20


def test_the_window_loads_recipes_through_the_same_loader(bomb, qtbot, monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from workbench.gui.main_window import MainWindow

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: shown.append(text))
    window = MainWindow(Recipe(), settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.load_recipe(bomb)
    assert len(shown) == 1 and "anchors and aliases expand" in shown[0]


def test_shared_anchors_of_ordinary_size_still_work(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("distillation:\n  intermediate: &stage {epochs: 2, lr: 1.0e-4}\n  prediction: *stage\n")
    recipe = Recipe.load(path)
    assert recipe.distillation.prediction.epochs == 2 == recipe.distillation.intermediate.epochs


def test_an_alias_inside_itself_is_refused(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("name: &loop [*loop]\n")
    with pytest.raises(RecipeError, match="refers to the value that contains it"):
        Recipe.load(path)


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(RecipeError):
        Recipe.load(path)


def test_a_huge_recipe_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("name: x\n" + "#" * MAX_RECIPE_BYTES)
    with pytest.raises(RecipeError, match="too large for a recipe"):
        Recipe.load(path)


def test_a_large_wrong_value_is_cut_without_building_its_repr(tmp_path):
    class Counted:
        calls = 0

        def __repr__(self) -> str:
            Counted.calls += 1
            return "x"

    assert len(short_repr([Counted()] * 1_000_000)) <= 60 and Counted.calls <= 4
    path = tmp_path / "recipe.yaml"
    path.write_text("name: [" + ", ".join(["word"] * 20_000) + "]\n")
    with pytest.raises(RecipeError) as caught:
        Recipe.load(path)
    assert len(str(caught.value)) < 300 and "\n" not in str(caught.value)


def test_one_problem_is_one_line_and_several_are_listed(tmp_path):
    one = tmp_path / "one.yaml"
    one.write_text("training:\n  epochs: 3\n")
    with pytest.raises(RecipeError) as caught:
        Recipe.load(one)
    assert "\n" not in str(caught.value) and "training.epochs: unknown key" in str(caught.value)
    two = tmp_path / "two.yaml"
    two.write_text("training:\n  epochs: 3\n  batch_size: 0\n")
    with pytest.raises(RecipeError, match=r"2 problem\(s\)"):
        Recipe.load(two)


def test_set_values_go_through_the_bounded_loader():
    with pytest.raises(RecipeError, match="not valid YAML"):
        Recipe().with_overrides(["name=!!python/object/apply:os.system ['true']"])
    assert Recipe().with_overrides(["student.layers=null"]).student.layers is None
