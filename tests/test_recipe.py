from pathlib import Path

import pytest

from workbench.core.errors import RecipeError
from workbench.core.recipe import Recipe
from workbench.core.sources.resources import presets_dir

PRESETS = sorted(presets_dir().glob("*.yaml"))


def test_the_four_presets_ship():
    assert {p.stem for p in PRESETS} >= {"quick-demo", "tinybert-4l-312d", "tinybert-6l-768d", "smoke"}


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_preset_loads_saves_and_reloads_equal(preset: Path, tmp_path: Path):
    recipe = Recipe.load(preset)
    saved = recipe.save(tmp_path / "again.yaml")
    assert Recipe.load(saved) == recipe


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_misspelled_key_names_the_field_and_suggests(tmp_path: Path):
    path = write(tmp_path, "distillation:\n  temperatur: 2.0\n")
    with pytest.raises(RecipeError) as caught:
        Recipe.load(path)
    message = str(caught.value)
    assert "distillation.temperatur: unknown key" in message
    assert "did you mean 'temperature'" in message
    assert str(path) in message


def test_misspelled_section_lists_allowed_sections(tmp_path: Path):
    with pytest.raises(RecipeError, match=r"studnet: unknown key.*allowed keys: name, description, data"):
        Recipe.load(write(tmp_path, "studnet:\n  preset: custom\n"))


def test_out_of_range_value_names_the_field(tmp_path: Path):
    with pytest.raises(RecipeError, match=r"training\.batch_size: Input should be greater than or equal to 1"):
        Recipe.load(write(tmp_path, "training:\n  batch_size: 0\n"))


def test_bad_choice_lists_the_allowed_values(tmp_path: Path):
    with pytest.raises(RecipeError, match=r"mapping\.mode: Input should be 'uniform', 'last' or 'custom'"):
        Recipe.load(write(tmp_path, "mapping:\n  mode: diagonal\n"))


def test_cross_field_rules_are_checked(tmp_path: Path):
    with pytest.raises(RecipeError, match=r"student: .*preset 'custom' needs layers, hidden_size"):
        Recipe.load(write(tmp_path, "student:\n  preset: custom\n  heads: 4\n  ffn_size: 64\n"))
    with pytest.raises(RecipeError, match=r"data: .*add up to more than 1"):
        Recipe.load(write(tmp_path, "data:\n  train_size: 0.8\n  dev_size: 0.3\n"))


def test_broken_yaml_and_missing_file_are_one_clear_line(tmp_path: Path):
    with pytest.raises(RecipeError, match=r"recipe.yaml: not valid YAML at line \d+, column \d+"):
        Recipe.load(write(tmp_path, "data:\n  source: [unclosed\n"))
    with pytest.raises(RecipeError, match="no such recipe file"):
        Recipe.load(tmp_path / "absent.yaml")
    with pytest.raises(RecipeError, match="a recipe is a mapping"):
        Recipe.load(write(tmp_path, "- just\n- a list\n"))


def test_assignment_is_validated_like_loading():
    recipe = Recipe()
    with pytest.raises(ValueError):
        recipe.distillation.temperature = -1


def test_overrides_parse_yaml_values_and_validate():
    recipe = Recipe().with_overrides(["distillation.intermediate.lr=1e-3", "student.teacher_layers=[1, 3]",
                                      "training.group_by_length=false"])
    assert recipe.distillation.intermediate.lr == 1e-3
    assert recipe.student.teacher_layers == [1, 3] and recipe.training.group_by_length is False
    with pytest.raises(RecipeError, match="did you mean 'temperature'"):
        Recipe().with_overrides(["distillation.temperatur=2"])
    with pytest.raises(RecipeError, match="section.key=value"):
        Recipe().with_overrides(["training.seed"])
    with pytest.raises(RecipeError, match="'seed' is a value, not a section"):
        Recipe().with_overrides(["training.seed.x=1"])
