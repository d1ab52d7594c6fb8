"""The Data step: source, columns, split sizes and max length, with a preview of a few cleaned rows and the
class balance, read in the background through the core's data loader."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import DataPreview, presets_dir, preview_data
from workbench.core.recipe import BUNDLED_TWEETS, Recipe
from workbench.gui.background import Latest
from workbench.gui.charts import BarCard
from workbench.gui.fields import LineField, SpinField, add_row, guard_wheel, labelled, on_screen, recipe_field
from workbench.gui.message_label import message_label, show_message
from workbench.gui.recipe_editor import RecipeEditor


class DataSection(QGroupBox):
    previewed = Signal()  # a preview or its failure is shown

    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__("Data")
        self.editor = editor
        self.preview: DataPreview | None = None
        self.failure: str | None = None  # the core's message when the data cannot be read
        self._background = Latest(self)
        self._live = False
        self._previewed: tuple[str, str, str] | None = None

        form = QFormLayout()
        self._build_source_row(form)
        self._build_column_rows(form)
        self._build_split_rows(form)
        self._build_length_row(form)
        self._build_previews()
        self._build_layout(form)
        editor.recipe_changed.connect(self._on_recipe_changed)
        self._show_source(editor.recipe.data.source)

    def _build_source_row(self, form: QFormLayout) -> None:
        source_row = QWidget()
        row = QHBoxLayout(source_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.source_field = self.editor.bind(LineField("data.source", "str", "bundled:tweets, a CSV / JSONL / "
                                                                             "parquet file, or a hub dataset id"))
        row.addWidget(self.source_field.container, 1)
        self.presets = guard_wheel(QComboBox())
        self.presets.addItem("Bundled tweets", BUNDLED_TWEETS)
        self.presets.addItem("", "")  # the chosen file or other source, named by _show_source
        self.presets.activated.connect(lambda: self.editor.set("data.source", self.presets.currentData()))
        row.addWidget(self.presets)
        browse = QPushButton("File…")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        form.addRow("Source", source_row)
        labelled(self.source_field, "Source")

    def _build_column_rows(self, form: QFormLayout) -> None:
        bind = self.editor.bind
        add_row(form, "Text column", bind(LineField("data.text_column")))
        add_row(form, "Label column", bind(LineField("data.label_column")))
        self.names_field = add_row(form, "Class names", bind(LineField(
            "data.label_names", "str_list", "optional: one name per class, separated by commas",
            recipe_field("data.label_names").description or "")))

    def _build_split_rows(self, form: QFormLayout) -> None:
        bind = self.editor.bind
        splits = QWidget()
        split_row = QHBoxLayout(splits)
        split_row.setContentsMargins(0, 0, 0, 0)
        for name in ("train", "dev", "test"):
            split_row.addWidget(QLabel(name))
            split_row.addWidget(labelled(bind(LineField(f"data.{name}_size", "float", tip="a fraction of the rows "
                                                        "(below 1) or a row count")), f"{name} size").container, 1)
        form.addRow("Split sizes", splits)
        add_row(form, "Split seed", bind(SpinField("data.seed")))

    def _build_length_row(self, form: QFormLayout) -> None:
        add_row(form, "Max length (tokens)", self.editor.bind(SpinField("data.max_length")))
        self.lengths = QLabel(wordWrap=True)
        self.suggest_button = QPushButton()
        self.suggest_button.clicked.connect(
            lambda: self.preview and self.editor.set("data.max_length", self.preview.suggested_max_length))
        self.suggest_button.hide()
        length_row = QHBoxLayout()
        length_row.addWidget(self.lengths, 1)
        length_row.addWidget(self.suggest_button)
        form.addRow("", length_row)

    def _build_previews(self) -> None:
        self.status = message_label()
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["label", "text"])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(240)
        self.balance = BarCard("Class balance", "rows")
        self.balance.setMinimumHeight(240)

    def _build_layout(self, form: QFormLayout) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        previews = QHBoxLayout()
        previews.addWidget(self.table, 3)
        previews.addWidget(self.balance, 2)
        layout.addLayout(previews)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Data file", "",
                                              "Data (*.csv *.tsv *.json *.jsonl *.parquet);;All files (*)")
        if name:
            self.use_file(name)

    def use_file(self, path: str) -> None:
        """A file chosen as the data, and with it a recipe name and description of its own: the preset's
        ("quick-demo", "on the tweet sentiment corpus") would describe other data. A name the user gave stays."""
        recipe = self.editor.recipe
        values: dict[str, object] = {"data.source": path, "data.label_names": None}
        if recipe.name in {p.stem for p in presets_dir().glob("*.yaml")} | {Recipe().name}:
            stem = re.sub(r"[^\w.-]+", "-", Path(path).stem).strip("-").lower() or "data"
            values |= {"name": f"{stem}-{recipe.name}", "description": f"{recipe.name} settings on {Path(path).name}"}
        self.editor.set_many(values)

    def _show_source(self, source: str) -> None:
        """The source box names what the recipe reads: the bundled tweets, or the file (full path as tip)."""
        bundled = source == BUNDLED_TWEETS
        self.presets.setItemText(1, "" if bundled else f"File: {Path(source).name}")
        self.presets.setItemData(1, source)
        self.presets.setItemData(1, "" if bundled else source, Qt.ItemDataRole.ToolTipRole)
        self.presets.setCurrentIndex(0 if bundled else 1)
        self.presets.setToolTip("" if bundled else source)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        # Reading a 38k-row corpus takes seconds of CPU: only when someone looks at the data, and after it
        # has painted (the step is the first one shown at launch).
        if not self._live:
            self._live = True
            QTimer.singleShot(0, self.refresh)

    @property
    def busy(self) -> bool:
        return self._background.busy

    def _key(self, recipe: Recipe) -> tuple:
        data = recipe.data
        return data.source, data.text_column, data.label_column, tuple(data.label_names or ()), recipe.teacher.source

    def _on_recipe_changed(self, recipe: Recipe) -> None:
        self._show_source(recipe.data.source)
        if self._live and self._key(recipe) != self._previewed:
            self.refresh()

    def refresh(self) -> None:
        recipe = self.editor.recipe
        self._previewed = self._key(recipe)
        self.status.setStyleSheet("color: #757575;")
        show_message(self.status, f"reading {recipe.data.source}…")
        self._background.run(lambda: preview_data(recipe.data, recipe.teacher.source), self._show, self._failed)

    def _failed(self, message: str) -> None:
        self.preview, self.failure = None, on_screen(message)
        self.status.setStyleSheet("color: #c62828;")
        show_message(self.status, self.failure, "⚠ ")
        self.lengths.setText("")
        self.suggest_button.hide()
        self.table.setRowCount(0)
        self.balance.set_bars({})
        self.previewed.emit()

    def _show(self, preview: DataPreview) -> None:
        self.preview, self.failure = preview, None
        total = sum(preview.class_counts.values())
        balance = ", ".join(f"{name} {100 * count / max(total, 1):.0f}%" for name, count in
                            preview.class_counts.items())
        self.status.setStyleSheet("color: #455a64;")
        show_message(self.status, f"{preview.origin}: {preview.cleaning}. Classes: {balance}.")
        self.names_field.widget.setPlaceholderText(
            f"optional: names for {', '.join(preview.found)}, in that order, separated by commas")
        self.lengths.setText(preview.lengths)
        suggested = preview.suggested_max_length
        self.suggest_button.setText(f"Use suggested max length {suggested}")
        self.suggest_button.setToolTip("95% of the texts fit whole; the rest are cut (p95 to a multiple of 8)")
        self.suggest_button.setVisible(suggested is not None and suggested != self.editor.recipe.data.max_length)
        self.table.setRowCount(len(preview.rows))
        for index, (label, text) in enumerate(preview.rows):
            self.table.setItem(index, 0, QTableWidgetItem(label))
            self.table.setItem(index, 1, QTableWidgetItem(text))
        self.balance.set_bars({name: float(count) for name, count in preview.class_counts.items()}, "{:,.0f}")
        self.previewed.emit()


class DataPanel(QScrollArea):
    """The Data step on its own page: the recipe's name and description, then the section above, scrolled
    when the window is small."""

    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        naming = QGroupBox("Recipe")
        form = QFormLayout(naming)
        self.name_field = add_row(form, "Name", editor.bind(LineField("name", tip="names the run folders")))
        self.description_field = add_row(form, "Description", editor.bind(LineField("description")))
        self.section = DataSection(editor)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(naming)
        layout.addWidget(self.section, 1)
        self.setWidget(page)
