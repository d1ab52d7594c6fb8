"""A tiny study's recipe (tiny teacher, tiny CSV) for search tests."""

from __future__ import annotations

from pathlib import Path

from tests.tiny import save_tiny_bert, tiny_recipe, write_tiny_csv


def tiny_search_recipe(root: Path, trials: int = 2, **budget):
    """A study over two shapes of a 2-layer tiny teacher and two FFN ratios; `budget` sets search.budget."""
    teacher = root / "teacher"
    if not (teacher / "config.json").is_file():
        save_tiny_bert(teacher, layers=2)
    csv = root / "data.csv" if (root / "data.csv").is_file() else write_tiny_csv(root / "data.csv")
    recipe = tiny_recipe(teacher, csv, root / "runs")
    recipe.search.trials = trials
    recipe.search.space.layer_counts = [1, 2]
    recipe.search.space.ffn_ratios = [0.0, 0.5]
    recipe.search.space.vocabulary = [False]
    for key, value in budget.items():
        setattr(recipe.search.budget, key, value)
    return recipe

