"""The compression-method registry: every method's declaration holds together, and a method registered there
(a toy one here) reaches the pipeline's pruning stage, the model card, the window's estimate, summary and
form, and the report, with no other file changed."""

import contextlib
import dataclasses
import types

import pytest
from PySide6.QtWidgets import QLabel

from tests.gui_support import edit
from workbench.core.methods import registry
from workbench.core.methods.method import CompressionMethod, FormRow, SearchKnob
from workbench.core.recipe import PruningConfig, Recipe
from workbench.core.run_folder import RunFolder, write_json


def _toy(calls: list[str]) -> CompressionMethod:
    """Applies with pruning on and a 25 % FFN ratio; its report is RUN/status.json's message."""

    def prune(student, pruning, batches):
        calls.append(f"prune {student}")
        return {"toy": True}

    @contextlib.contextmanager
    def kept(student):
        calls.append("enter")
        yield
        calls.append("leave")

    return CompressionMethod(
        name="toy", section="pruning", keys=("ffn_ratio",), stage="pruning",
        applies=lambda pruning: pruning.enabled and pruning.ffn_ratio == 0.25,
        describe=lambda pruning, run: "toy-described", estimate=lambda pruning, heads, ffn: "toy-estimated",
        tag=lambda pruning: "toy-tag", files=("status_path",), prune=prune, while_training=kept,
        report=lambda run: "<h3>Toy</h3>" if run.status_path.is_file() else "",
        form=(FormRow("quantization.int4_min_agreement", "Toy agreement", "line"),), report_title="Toy",
        search=(SearchKnob("toy_margin", "vocabulary_margin", "layer_counts", lambda margin: f"margin {margin}"),))


@pytest.fixture
def toy(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(registry, "METHODS", (*registry.METHODS, _toy(calls)))
    return calls


def _has_key(section, key: str) -> bool:
    """A key of the section, dotted inside its nested sections ("transfer.copies")."""
    *nested, name = key.split(".")
    for part in nested:
        if part not in type(section).model_fields:
            return False
        section = getattr(section, part)
    return name in type(section).model_fields


def test_every_method_declares_keys_rows_files_and_stages_that_exist():
    from workbench.core.job import PIPELINE

    names = [method.name for method in registry.METHODS]
    assert len(names) == len(set(names))
    recipe, run = Recipe(), RunFolder("run")
    for method in registry.METHODS:
        section = method.config(recipe)
        assert all(_has_key(section, key) for key in method.keys), method.name
        assert method.stage in {stage.name for stage in PIPELINE}, method.name
        assert all(knob.key in method.keys and hasattr(recipe.search.space, knob.space) for knob in method.search)
        assert all(row.key.startswith(f"{method.section}.") for row in method.form), method.name
        assert all(isinstance(getattr(run, file), type(run.path)) for file in method.files), method.name
    for section in registry.SECTION_ROWS:
        keys = [row.key for row in registry.form_rows(section)]
        assert len(keys) == len(set(keys))  # one row a key


def test_a_registered_method_is_run_by_the_pruning_stage(toy):
    from workbench.core.stages.training import pruning_wanted

    pruning = PruningConfig(enabled=True, ffn_ratio=0.25, importance="l2")
    assert not registry.prunes_weights(PruningConfig(enabled=True, vocabulary=True))
    assert pruning_wanted(types.SimpleNamespace(recipe=Recipe(pruning=pruning.model_dump())))
    from transformers import BertForSequenceClassification

    from tests.tiny import tiny_bert_config

    with registry.while_training(BertForSequenceClassification(tiny_bert_config(100))):
        toy.append("trained")
    assert toy == ["enter", "trained", "leave"]
    toy.clear()
    structured = dataclasses.replace(registry.STRUCTURED, prune=lambda student, pruning, batches: toy.append(
        "structured") or {"structured": True})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "METHODS", (structured, *registry.METHODS[1:]))
        assert registry.prune_as_recipe("student", pruning) == {"pruning_path": {"structured": True},
                                                                 "status_path": {"toy": True}}
    assert toy == ["structured", "prune student"]  # in the registry's order


def test_a_registered_method_is_described_on_the_card_in_the_estimate_and_the_summary(toy, tmp_path):
    from workbench.core.methods.registry import pruning_estimate as pruning_text
    from workbench.gui.steps import compression_summary

    recipe = Recipe(pruning={"enabled": True, "ffn_ratio": 0.25, "recovery": {"epochs": 2}})
    assert registry.pruning_sentence(recipe.pruning, RunFolder(tmp_path)) == (
        "0% of attention heads and 25% of FFN neurons removed by gradient importance; toy-described; then 2 "
        "recovery epoch(s)")
    assert pruning_text(recipe.pruning, heads=4, ffn_size=64).startswith("FFN 64 → 48 per layer; toy-estimated")
    assert "prune FFN −25%, toy-tag" in compression_summary(recipe)
    recipe.pruning.ffn_ratio = 0.5
    assert "toy" not in registry.pruning_sentence(recipe.pruning, RunFolder(tmp_path))  # it no longer applies


def test_a_registered_method_has_its_rows_in_the_form(toy, qtbot):
    from workbench.gui.panels.compression import CompressionPanel
    from workbench.gui.recipe_editor import RecipeEditor

    editor = RecipeEditor(Recipe())
    panel = CompressionPanel(editor)
    qtbot.addWidget(panel)
    rows = [row.key for row in registry.form_rows("pruning")]
    assert rows[-2:] == ["quantization.int4_min_agreement", "pruning.recovery.epochs"]  # before the section's end
    assert "Toy agreement" in [label.text() for label in panel.findChildren(QLabel)]
    edit(qtbot, editor.fields("quantization.int4_min_agreement")[0], "0.5")
    assert editor.recipe.quantization.int4_min_agreement == 0.5


def test_a_registered_method_has_its_section_in_the_report(toy, tmp_path):
    from workbench.core.report.document import write_report

    run = RunFolder(tmp_path)
    Recipe(name="toy report").save(run.recipe_path)
    write_json(run.status_path, {"status": "finished"})
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "<section><h2>Toy</h2><h3>Toy</h3></section>" in page


def test_a_registered_method_is_drawn_by_the_search(toy):
    from optuna.trial import FixedTrial

    from workbench.core.search.space import Candidate, TeacherShape, candidate_recipe, space_size, suggest

    base, teacher = Recipe(), TeacherShape(4, 32, 4, 64)
    space = base.search.space.model_copy(update={"layer_counts": [2, 3], "ffn_ratios": [0.0], "heads_ratios": [0.0],
                                                 "vocabulary": [False], "int8": ["dynamic"]})
    assert space_size(space, teacher) == 2 * 2  # two shapes, times the toy's two margins
    params = {"shape": "keep:2,4", "ffn_ratio": 0.0, "heads_ratio": 0.0, "hidden_ratio": 0.0, "vocabulary": False,
              "transfer_copies": 0, "toy_margin": 3, "max_accuracy_drop": None, "int8": "dynamic"}
    candidate = suggest(FixedTrial(params), space, teacher)
    assert candidate.to_dict() == params and Candidate.from_dict(params) == candidate
    assert candidate.describe() == "keeps layers 2,4, margin 3, dynamic int8"
    recipe = candidate_recipe(base, candidate, teacher, "toy", "runs")
    assert recipe.pruning.enabled and recipe.pruning.vocabulary_margin == 3  # the toy's setting turned pruning on
