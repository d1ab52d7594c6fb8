"""Panels on their own: recipe fields with the recipe's messages, model cards and mapping explanations,
the data preview, and the runs list with comparison and report export."""

from PySide6.QtCore import Qt

from tests.gui_support import edit, open_tiny_window, settings  # noqa: F401 (fixtures)
from workbench.core.job import run_job
from workbench.core.sources.data_preview import PREVIEW_ROWS
from workbench.gui.curves import LOSS, Curves


def test_invalid_values_show_the_recipe_message_at_the_field(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    editor = window.editor
    window.show_panel("Compression")
    lr = editor.fields("distillation.intermediate.lr")[0]
    edit(qtbot, lr, "2")
    assert "less than 1" in lr.problem() and lr.problem_label.isVisible()
    assert not window.training.start_button.isEnabled() and "1 problem" in window.problems_label.text()
    assert window.recipe.distillation.intermediate.lr == 1e-4  # the last valid recipe is kept
    edit(qtbot, lr, "abc")
    assert lr.problem() == "'abc' is not a number"
    edit(qtbot, lr, "0.0002")
    assert lr.problem() is None and window.recipe.distillation.intermediate.lr == 2e-4
    assert window.training.start_button.isEnabled()

    # A section-level rule (fractions adding up to more than 1) lands at the field just edited.
    train, dev = editor.fields("data.train_size")[0], editor.fields("data.dev_size")[0]
    edit(qtbot, train, "0.8")
    edit(qtbot, dev, "0.5")
    assert "add up to more than 1" in dev.problem() and train.problem() is None
    edit(qtbot, train, "60")  # a row count again: the fractions now fit, every mark goes away
    assert dev.problem() is None and editor.valid and window.recipe.data.dev_size == 0.5

    # Spin boxes take their range from the recipe's field bounds (student layers: 0 stands for "from preset").
    ranges = {"distillation.augmentation.copies": (1, 100), "training.batch_size": (1, 4096),
              "data.max_length": (8, 512), "quantization.calibration_batches": (1, 2**31 - 1),
              "student.layers": (0, 48), "training.seed": (0, 2**31 - 1)}
    for path, expected in ranges.items():
        spin = editor.fields(path)[0].widget
        assert (spin.minimum(), spin.maximum()) == expected, path


def test_recipe_bounds_read_every_kind_of_constraint():
    from pydantic import BaseModel, Field

    from workbench.gui.fields import recipe_bounds

    class Inner(BaseModel):
        open_ended: int = 0
        exclusive: int = Field(default=5, gt=2, lt=10)
        inclusive: int | None = Field(default=None, ge=1, le=48)

    class Outer(BaseModel):
        inner: Inner

    assert recipe_bounds("inner.open_ended", Outer) == (None, None)
    assert recipe_bounds("inner.exclusive", Outer) == (3, 9)
    assert recipe_bounds("inner.inclusive", Outer) == (1, 48)
    assert recipe_bounds("data.max_length") == (8, 512)  # the recipe itself by default


def test_models_and_mapping_explain_what_the_job_would_refuse(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    card = window.models.student_card.values
    assert card["vs teacher"].text().endswith("fewer parameters") and "×" in card["estimated speed-up"].text()
    window.editor.set_many({"student.preset": "custom", "student.init": "random", "student.layers": 3,
                            "student.hidden_size": 16, "student.heads": 2, "student.ffn_size": 32})
    qtbot.waitUntil(lambda: not window.models.busy and window.mapping.info.student["heads"] == 2, timeout=30_000)
    mapping = window.mapping
    assert not window.recipe.mapping.attention and not mapping.attention_field.widget.isEnabled()
    assert "4 attention heads and the student 2" in mapping.notes.text()
    assert "the student has 3 layers but the teacher only 2" in mapping.notes.text()  # uniform cannot map it
    assert mapping.mapping is None and not mapping.lines
    window.editor.set("distillation.attention_loss", "relation")  # relations allow any head counts
    assert window.recipe.mapping.attention and mapping.attention_field.widget.isEnabled()
    assert "any head counts" in mapping.notes.text()
    teacher = window.models.teacher_card.values
    assert teacher["family"].text() == "BERT" and "attention loss (relation): yes" in teacher["supported steps"].text()
    window.editor.set_many({"pruning.enabled": True, "pruning.ffn_ratio": 0.5, "pruning.vocabulary": True})
    qtbot.waitUntil(lambda: "FFN 32 → 16 per layer" in card["then pruned"].text(), timeout=30_000)
    assert "vocabulary trimmed" in card["then pruned"].text()


def test_data_preview_shows_rows_and_class_balance(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    section = window.data.section
    window.show_panel("Data")
    qtbot.waitUntil(lambda: section.preview is not None, timeout=30_000)
    assert section.table.rowCount() == PREVIEW_ROWS
    assert section.balance.values == {"negative": 40.0, "neutral": 40.0, "positive": 40.0}
    window.editor.set("data.label_column", "mood")
    qtbot.waitUntil(lambda: section.preview is None and "no column 'mood'" in section.status.text(), timeout=30_000)


def test_runs_are_listed_compared_and_exported(qtbot, recipe_path, settings, request, tmp_path):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    finished = [list(run_job(window.recipe))[-1] for _ in range(2)]
    runs = window.runs
    qtbot.mouseClick(runs.buttons["refresh"], Qt.MouseButton.LeftButton)
    assert runs.table.rowCount() == 2 and "2 run(s)" in runs.heading.text()
    runs.table.selectAll()
    assert set(runs.loss_chart.curves) == {r.run_dir.rsplit("/", 1)[1] for r in finished}
    assert all(runs.loss_chart.point_count(name) > 0 for name in runs.loss_chart.curves)
    assert not runs.buttons["resume"].isEnabled() and runs.buttons["compare"].isEnabled()
    page = runs.export_report(tmp_path / "compare.html").read_text()
    assert all(r.run_dir.rsplit("/", 1)[1] in page for r in finished) and "data:image/png;base64," in page

    # One run: the core's report, and its curves in the Training panel.
    runs.select_run(finished[0].run_dir)
    runs.table.selectRow(runs.table.currentRow())
    runs.write_report(open_it=False)
    qtbot.waitUntil(lambda: not runs.busy, timeout=60_000)
    assert runs.report_path is not None and runs.report_path.is_file()
    runs.benchmark()
    assert "Benchmarking" in runs.heading.text() and not runs.buttons["bench"].isEnabled()
    qtbot.waitUntil(lambda: not runs.busy, timeout=120_000)
    assert "Benchmark written" in runs.heading.text()
    assert (runs.report_path.parent.parent / "bench.json").is_file()
    qtbot.mouseClick(runs.buttons["show"], Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.training
    assert window.training.curves.points(LOSS, "total") > 0


def test_a_resumed_stage_continues_on_the_same_axis():
    curves = Curves()
    for record in (
        {"event": "StageStarted", "stage": "intermediate", "total_steps": 4},
        {"event": "Step", "stage": "intermediate", "step": 2, "losses": {"hidden": 1.0, "total": 1.0}, "lr": 1e-4,
         "examples_per_s": 10.0},
        {"event": "StageStarted", "stage": "intermediate", "total_steps": 4, "resumed_at_step": 2},
        {"event": "Step", "stage": "intermediate", "step": 4, "losses": {"hidden": 0.5, "total": 0.5}, "lr": 1e-4,
         "examples_per_s": 10.0},
        {"event": "StageStarted", "stage": "prediction", "total_steps": 4},
        {"event": "Step", "stage": "prediction", "step": 1, "losses": {"prediction": 0.2, "total": 0.2}, "lr": 1e-4,
         "examples_per_s": 10.0},
    ):
        curves.add(record)
    assert curves.charts[LOSS]["total"].x == [2.0, 4.0, 5.0]
    assert curves.stage_starts == [(0.0, "intermediate"), (4.0, "prediction")]


def test_mapping_drag_connects_layers_and_pair_switches_edit_the_recipe(qtbot, recipe_path, settings,  # noqa: F811
                                                                        request):
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    window.show_panel("Layer mapping")
    mapping, viewport = window.mapping, window.mapping.view.viewport()
    mapping.mode_buttons["custom"].click()
    assert window.recipe.mapping.layers == [2]  # custom starts from what uniform drew

    # Drag from student layer 1 to teacher layer 1: a rubber line follows, the drop connects them.
    start, end = mapping.box_position("student", 1), mapping.box_position("teacher", 1)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, (start + end) / 2)
    assert mapping._drag is not None and mapping._drag[1].line().length() > 0
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert window.recipe.mapping.layers == [1] and mapping.mapping.pairs == [(1, 1)]
    assert mapping.selected_student is None and mapping._drag is None  # a drag, not the first of two clicks

    # Per-pair switches: each click edits the recipe's lists, and the line's style shows what the pair keeps.
    def click_switch(loss: str) -> None:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=mapping.toggle_position(1, loss))

    assert mapping.lines[1].pen().style() == Qt.PenStyle.SolidLine
    click_switch("hidden")
    assert window.recipe.mapping.no_hidden == [1] and not mapping.toggles[1, "hidden"].on
    assert mapping.lines[1].pen().style() == Qt.PenStyle.DashDotLine  # attention only
    click_switch("attention")
    assert window.recipe.mapping.no_attention == [1] and mapping.lines[1].pen().style() == Qt.PenStyle.DotLine
    click_switch("hidden")
    assert window.recipe.mapping.no_hidden == [] and mapping.lines[1].pen().style() == Qt.PenStyle.DashLine

    # A loss weighted 0 is off for every pair, as in the job: the lines say so and its switches are greyed.
    window.editor.set("distillation.weights.attention", 0.0)
    assert not mapping.toggles[1, "attention"].isEnabled() and mapping.toggles[1, "hidden"].isEnabled()
    assert mapping.lines[1].pen().style() == Qt.PenStyle.DashLine  # hidden only


def test_trusting_the_teacher_code_shows_a_warning(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    models = window.models
    assert not models.trust_warning.isVisibleTo(models)
    models.trust_code.widget.setChecked(True)
    assert window.editor.recipe.teacher.trust_remote_code and models.trust_warning.isVisibleTo(models)
    assert "code may run" in models.trust_warning.text()
