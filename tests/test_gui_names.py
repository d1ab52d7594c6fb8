"""The window on a user's own data: class names, a recipe name of its own, the source box, token lengths and
a preview of every class, and messages that name fields as the screen does."""

from __future__ import annotations

from workbench.core.recipe import Recipe, TeacherConfig


def reviews_csv(path):
    """Sorted by label, as exported files often are: the first rows are all 'rotten'."""
    rows = [f"a soft rotten old pear number {i},0\n" for i in range(30)]
    rows += [f"a fine fresh crisp apple that is really very good number {i},1\n" for i in range(30)]
    path.write_text("text,label\n" + "".join(rows), encoding="utf-8")
    return path


def data_panel(qtbot, recipe):
    from workbench.gui.panels.data_section import DataPanel
    from workbench.gui.recipe_editor import RecipeEditor

    editor = RecipeEditor(recipe)
    panel = DataPanel(editor)
    qtbot.addWidget(panel)
    panel.resize(1100, 800)
    panel.show()
    section = panel.section
    qtbot.waitUntil(lambda: section.preview is not None or section.failure is not None, timeout=60_000)
    return editor, panel, section


def test_a_chosen_file_gets_named_classes_a_name_of_its_own_and_a_preview_of_every_class(qtbot, tmp_path,
                                                                                          tiny_base_dir):
    from tests.gui_support import edit

    recipe = Recipe(name="quick-demo", description="on the tweet sentiment corpus",
                    teacher=TeacherConfig(source=str(tiny_base_dir)))
    editor, panel, section = data_panel(qtbot, recipe)
    assert section.presets.currentText() == "Bundled tweets"
    csv = reviews_csv(tmp_path / "My Reviews.csv")
    section.use_file(str(csv))
    editor.set("data.label_column", "label")
    assert editor.recipe.name == "my-reviews-quick-demo" and "My Reviews.csv" in editor.recipe.description
    assert panel.name_field.widget.text() == "my-reviews-quick-demo"
    assert section.presets.currentText() == "File: My Reviews.csv" and section.presets.toolTip() == str(csv)
    qtbot.waitUntil(lambda: section.preview is not None and section.preview.found == ["0", "1"], timeout=60_000)
    assert "0, 1" in section.names_field.widget.placeholderText()

    edit(qtbot, section.names_field, "rotten, fresh")
    assert editor.recipe.data.label_names == ["rotten", "fresh"]
    qtbot.waitUntil(lambda: section.preview is not None and "fresh" in section.preview.class_counts, timeout=60_000)
    shown = {section.table.item(row, 0).text() for row in range(section.table.rowCount())}
    assert shown == {"rotten", "fresh"}  # both classes, though the file starts with 30 rotten rows
    assert "rotten 50%" in section.status.text()

    assert "p95" in section.lengths.text()
    suggested = section.preview.suggested_max_length
    assert section.suggest_button.isVisible() and str(suggested) in section.suggest_button.text()
    section.suggest_button.click()
    assert editor.recipe.data.max_length == suggested

    edit(qtbot, panel.name_field, "reviews by me")
    section.use_file(str(csv))  # a name the user typed is kept
    assert editor.recipe.name == "reviews by me"


def test_messages_name_the_fields_as_the_screen_does(qtbot, tmp_path, tiny_base_dir):
    from workbench.gui.fields import on_screen

    recipe = Recipe(teacher=TeacherConfig(source=str(tiny_base_dir)))
    recipe.data.source = str(reviews_csv(tmp_path / "reviews.csv"))
    editor, panel, section = data_panel(qtbot, recipe)
    assert "“Label column”" in section.failure and "data.label_column" not in section.failure  # no 'sentiment'
    assert on_screen("set data.label_names, or data.label_column; data.unknown_thing") == (
        "set “Class names”, or “Label column”; data.unknown_thing")


def test_runs_show_each_runs_data_and_whole_names_as_tooltips(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from workbench.gui.panels.runs import COLUMNS, RunsPanel

    csv = str(reviews_csv(tmp_path / "reviews.csv"))
    Recipe(name="quick-demo").save(tmp_path / "runs" / "quick-demo-20261206-010203" / "recipe.yaml")
    mine = Recipe(name="reviews-quick-demo")
    mine.data.source = csv
    mine.save(tmp_path / "runs" / "reviews-quick-demo-20261206-020304" / "recipe.yaml")
    panel = RunsPanel(str(tmp_path / "runs"))
    qtbot.addWidget(panel)
    panel.refresh()
    column = COLUMNS.index("data")
    shown = {panel.table.item(r, 0).text(): panel.table.item(r, column) for r in range(panel.table.rowCount())}
    assert shown["quick-demo-20261206-010203"].text() == "bundled tweets"
    assert shown["reviews-quick-demo-20261206-020304"].text() == "reviews.csv"
    assert shown["reviews-quick-demo-20261206-020304"].toolTip() == csv
    assert panel.table.item(0, 0).toolTip() == panel.table.item(0, 0).text()
    assert panel.table.textElideMode() == Qt.TextElideMode.ElideMiddle  # the date and time at the end stay
