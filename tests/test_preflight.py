"""Everything checkable before the first training step fails there, with one line: in the core's preflight,
in `workbench check`, at the job's start (before any stage) and at the window's Start (before any run)."""

from __future__ import annotations

import json

import pytest

from tests.hostile import gpt2_folder
from tests.tiny import save_tiny_bert, tiny_recipe, write_vocab
from workbench.cli import main
from workbench.core.errors import DataSourceError, ModelSourceError, RecipeError, WorkbenchError
from workbench.core.events import Failed, StageStarted
from workbench.core.job import run_job
from workbench.core.preflight import check_models, check_recipe


@pytest.fixture
def recipe(tiny_base_dir, tiny_csv, tmp_path):
    return tiny_recipe(tiny_base_dir, tiny_csv, tmp_path / "runs")


def test_a_good_recipe_passes_and_says_what_it_checked(recipe):
    lines = check_recipe(recipe).lines
    assert any(line.startswith("mapping        uniform: student←teacher layer 1←2") for line in lines)


def test_mapping_beyond_the_teacher_layers(recipe):
    recipe.mapping.layers, recipe.mapping.mode = [5], "custom"
    with pytest.raises(RecipeError, match=r"custom mapping entry 1 \(student layer 1\) is 5; teacher layers run 0..2"):
        check_models(recipe)


def test_mapping_of_a_student_deeper_than_the_teacher(recipe):
    recipe.student.init, recipe.student.teacher_layers, recipe.student.layers = "random", None, 4
    with pytest.raises(RecipeError, match="the student has 4 layers but the teacher only 2"):
        check_models(recipe)


def test_student_init_from_a_teacher_layer_that_does_not_exist(recipe):
    recipe.student.teacher_layers = [3]
    with pytest.raises(RecipeError, match="names layer 3 but the teacher has 2"):
        check_models(recipe)


def test_max_length_beyond_the_teacher_positions(recipe):
    recipe.data.max_length = 256  # the tiny teacher has 128 position embeddings
    with pytest.raises(RecipeError, match="data.max_length 256 is longer than the teacher can read .128 positions"):
        check_models(recipe)


def test_max_length_beyond_a_saved_student_positions(recipe, tmp_path):
    folder = save_tiny_bert(tmp_path / "student", with_head=True, layers=1)
    config = json.loads((folder / "config.json").read_text())
    config["max_position_embeddings"] = 64
    (folder / "config.json").write_text(json.dumps(config))
    recipe.student.pretrained, recipe.student.init, recipe.data.max_length = str(folder), "pretrained", 100
    with pytest.raises(RecipeError, match="longer than the student can read .64 positions"):
        check_models(recipe)


def test_student_tokenizer_with_other_token_ids(recipe, tmp_path):
    """Same size, two tokens swapped: check_same_vocabulary (written, never called before) finds it."""
    from transformers import BertTokenizerFast

    folder = save_tiny_bert(tmp_path / "student", with_head=True, layers=1)
    vocab = write_vocab(tmp_path / "swapped")
    lines = vocab.read_text().splitlines()
    lines[5], lines[6] = lines[6], lines[5]
    vocab.write_text("\n".join(lines) + "\n")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        (folder / name).unlink(missing_ok=True)
    BertTokenizerFast.from_pretrained(tmp_path / "swapped").save_pretrained(folder)
    recipe.student.pretrained, recipe.student.init = str(folder), "pretrained"
    with pytest.raises(ModelSourceError, match="the student's vocabulary differs from the teacher's at token"):
        check_models(recipe)


def test_tokenizer_larger_than_the_embedding_table(tiny_csv, tmp_path):
    from transformers import AutoTokenizer

    teacher = save_tiny_bert(tmp_path / "teacher")
    tokenizer = AutoTokenizer.from_pretrained(teacher)
    tokenizer.add_tokens(["brandnewword", "anotherone"])
    tokenizer.save_pretrained(teacher)
    recipe = tiny_recipe(teacher, tiny_csv, tmp_path / "runs")
    with pytest.raises(ModelSourceError, match="the tokenizer has .* tokens but the teacher's embedding table only"):
        check_models(recipe)


def test_gpt2_teacher_is_refused_at_once(recipe, tmp_path):
    recipe.teacher.source = str(gpt2_folder(tmp_path / "gpt2"))
    with pytest.raises(ModelSourceError, match="model type 'gpt2' is not supported"):
        check_models(recipe)


def test_the_job_refuses_a_gpt2_teacher_before_any_stage(recipe, tmp_path):
    recipe.teacher.source = str(gpt2_folder(tmp_path / "gpt2"))
    events = list(run_job(recipe))
    assert isinstance(events[-1], Failed) and "model type 'gpt2' is not supported" in events[-1].message
    assert not any(isinstance(event, StageStarted) for event in events)  # not after fine-tuning it


def test_float_labels_get_a_message_not_an_arrow_error(recipe, tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("text,score\n" + "".join(f"text number {i},{i / 10 + 0.05}\n" for i in range(40)))
    recipe.data.source, recipe.data.label_column = str(path), "score"
    with pytest.raises(DataSourceError, match="label column 'score' holds fractional numbers"):
        check_recipe(recipe)


def test_mixed_labels_get_a_message(recipe, tmp_path):
    path = tmp_path / "mixed.jsonl"
    rows = [{"text": f"text {i}", "label": [1, "positive", 2][i % 3]} for i in range(30)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    recipe.data.source, recipe.data.label_column = str(path), "label"
    with pytest.raises(DataSourceError, match=r"mixes numbers \('1', '2'\) with names \('positive'\)"):
        check_recipe(recipe)


def test_whole_number_labels_with_gaps_are_classes(recipe, tmp_path):
    """A missing cell turns a column of class ids into floats: 1.0 is class "1", the empty row is dropped."""
    path = tmp_path / "ids.csv"
    path.write_text("text,label\n" + "".join(f"text {i},{'' if i == 7 else i % 2}\n" for i in range(60)))
    recipe.data.source, recipe.data.label_column = str(path), "label"
    recipe.data.train_size, recipe.data.dev_size, recipe.data.test_size = 30, 14, 15
    assert "classes 0, 1" in check_recipe(recipe).lines[0]


def test_a_named_class_without_rows(recipe):
    recipe.data.label_names = ["negative", "neutral", "positive", "sarcastic"]
    with pytest.raises(DataSourceError, match="data.label_names names 'sarcastic' but no row has that label"):
        check_recipe(recipe)


def test_output_dir_that_is_a_file(recipe, tmp_path):
    (tmp_path / "file").write_text("x")
    recipe.output_dir = str(tmp_path / "file" / "runs")
    with pytest.raises(RecipeError, match="is a file; give a folder"):
        check_recipe(recipe)


def test_workbench_check_runs_the_preflight(recipe, tmp_path, capsys):
    recipe.data.max_length = 256
    path = recipe.save(tmp_path / "recipe.yaml")
    assert main(["check", str(path)]) == 2
    assert "longer than the teacher can read" in capsys.readouterr().err
    assert main(["check", "--recipe-only", str(path)]) == 0


def test_the_window_start_runs_the_preflight_before_any_run(recipe, tmp_path, qtbot, monkeypatch):
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QMessageBox

    from workbench.gui.main_window import MainWindow

    recipe.teacher.source = str(gpt2_folder(tmp_path / "gpt2"))
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: shown.append(text))
    window = MainWindow(recipe, settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    assert "model type 'gpt2' is not supported" in shown[0]
    assert window.training.worker is None and not (tmp_path / "runs").exists()
    assert window.training.stage_label.text().startswith("Not started: ")


def test_errors_of_the_preflight_are_workbench_errors():
    assert issubclass(ModelSourceError, WorkbenchError) and issubclass(DataSourceError, WorkbenchError)
