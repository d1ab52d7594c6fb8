"""The step list: the pipeline's order, a validity mark per step from the core's messages, a one-line
summary of what the step would change; keyboard shortcuts for the steps; the last recipe reopened."""

from PySide6.QtCore import Qt

from tests.gui_support import open_tiny_window, settings  # noqa: F401 (fixtures)
from workbench.gui.app import first_recipe_path
from workbench.gui.steps import STEPS


def invalid_steps(window) -> dict[str, str]:
    window._refresh_steps()
    return {name: tip for name in STEPS for valid, tip in [window.nav.state_of(name)] if not valid}


def test_steps_follow_the_pipeline_and_data_is_its_own_step(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    assert window.nav.names == ("Data", "Models", "Layer mapping", "Compression", "Training", "Try it", "Runs",
                                "Search")
    assert list(window.panels) == list(STEPS)
    source = window.editor.fields("data.source")[0].container
    assert window.data.isAncestorOf(source) and not window.compression.isAncestorOf(source)
    qtbot.waitUntil(lambda: window.data.section.preview is not None, timeout=30_000)
    assert invalid_steps(window) == {}
    window._refresh_steps()
    assert "120 rows" in window.nav.state_of("Data")[1]  # the core's reading of the tiny CSV


def test_each_step_shows_the_problems_that_are_its_own(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    editor = window.editor
    editor.set("data.train_size", 1.5)
    problems = invalid_steps(window)
    assert list(problems) == ["Data"] and "neither a fraction below 1 nor a whole row count" in problems["Data"]

    editor.set("data.train_size", 60)
    editor.set("training.batch_size", 0)  # its field sits in the Compression panel's run settings
    problems = invalid_steps(window)
    assert list(problems) == ["Compression"] and "“Batch size”" in problems["Compression"]  # as the screen names it

    editor.set("training.batch_size", 8)
    editor.set_many({"mapping.mode": "custom", "mapping.layers": [1, 2, 2, 1, 1]})  # more pairs than layers
    problems = invalid_steps(window)
    assert list(problems) == ["Layer mapping"], problems


def test_summaries_say_what_a_step_would_change(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    window.editor.set_many({"pruning.enabled": True, "pruning.ffn_ratio": 0.5, "quantization.enabled": False})
    window._refresh_steps()
    summary = window.nav.state_of("Compression")[1].splitlines()[0]
    assert "FFN −50%" in summary and "no int8" in summary


def test_ctrl_number_opens_each_step(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    for number, name in enumerate(STEPS, start=1):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentWidget() is window.panels[name]


def test_the_last_recipe_opens_next_time(tmp_path, settings):  # noqa: F811
    assert first_recipe_path([], settings).name == "quick-demo.yaml"
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\n")
    settings.setValue("recent_recipes", [str(tmp_path / "gone.yaml"), str(mine)])
    assert first_recipe_path([], settings) == mine
    assert first_recipe_path([str(tmp_path / "other.yaml")], settings).name == "other.yaml"
