"""The Data step: source, columns, split sizes and max length, with a preview of a few cleaned rows and the
class balance, read in the background through the core's data loader."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QTimer, Signal
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

from workbench.core.recipe import BUNDLED_TWEETS, Recipe
from workbench.gui.background import Latest
from workbench.gui.charts import BarCard
from workbench.gui.fields import LineField, SpinField, add_row, guard_wheel
from workbench.gui.recipe_editor import RecipeEditor

PREVIEW_ROWS = 8


@dataclass
class DataPreview:
    origin: str
    rows: list[tuple[str, str]]  # (label, text)
    class_counts: dict[str, int]
    cleaning: str


def preview_data(source: str, text_column: str, label_column: str) -> DataPreview:
    from workbench.core.sources.data import clean, read_source

    raw, origin = read_source(source, text_column, label_column)
    cleaned, report = clean(raw)
    labels = [str(label).strip() for label in cleaned["label"]]
    counts = {name: labels.count(name) for name in sorted(set(labels))}
    head = cleaned.select(range(min(PREVIEW_ROWS, len(cleaned))))
    rows = [(str(label).strip(), text) for label, text in zip(head["label"], head["text"], strict=True)]
    return DataPreview(origin, rows, counts, report.line())


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
        bind = editor.bind
        source_row = QWidget()
        row = QHBoxLayout(source_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.source_field = bind(LineField("data.source", "str", "bundled:tweets, a CSV / JSONL / parquet file, "
                                                                 "or a hub dataset id"))
        row.addWidget(self.source_field.container, 1)
        self.presets = guard_wheel(QComboBox())
        self.presets.addItem("Bundled tweets", BUNDLED_TWEETS)
        self.presets.activated.connect(lambda: editor.set("data.source", self.presets.currentData()))
        row.addWidget(self.presets)
        browse = QPushButton("File…")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        form.addRow("Source", source_row)
        add_row(form, "Text column", bind(LineField("data.text_column")))
        add_row(form, "Label column", bind(LineField("data.label_column")))
        splits = QWidget()
        split_row = QHBoxLayout(splits)
        split_row.setContentsMargins(0, 0, 0, 0)
        for name in ("train", "dev", "test"):
            split_row.addWidget(QLabel(name))
            split_row.addWidget(bind(LineField(f"data.{name}_size", "float",
                                               tip="a fraction of the rows (below 1) or a row count")).container, 1)
        form.addRow("Split sizes", splits)
        add_row(form, "Split seed", bind(SpinField("data.seed")))
        add_row(form, "Max length (tokens)", bind(SpinField("data.max_length")))

        self.status = QLabel(wordWrap=True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["label", "text"])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(240)
        self.balance = BarCard("Class balance", "rows")
        self.balance.setMinimumHeight(240)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        previews = QHBoxLayout()
        previews.addWidget(self.table, 3)
        previews.addWidget(self.balance, 2)
        layout.addLayout(previews)
        editor.recipe_changed.connect(self._on_recipe_changed)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Data file", "",
                                              "Data (*.csv *.tsv *.json *.jsonl *.parquet);;All files (*)")
        if name:
            self.editor.set("data.source", name)

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

    def _key(self, recipe: Recipe) -> tuple[str, str, str]:
        return recipe.data.source, recipe.data.text_column, recipe.data.label_column

    def _on_recipe_changed(self, recipe: Recipe) -> None:
        if self._live and self._key(recipe) != self._previewed:
            self.refresh()

    def refresh(self) -> None:
        key = self._key(self.editor.recipe)
        self._previewed = key
        self.status.setStyleSheet("color: #757575;")
        self.status.setText(f"reading {key[0]}…")
        self._background.run(lambda: preview_data(*key), self._show, self._failed)

    def _failed(self, message: str) -> None:
        self.preview, self.failure = None, message
        self.status.setStyleSheet("color: #c62828;")
        self.status.setText(f"⚠ {message}")
        self.table.setRowCount(0)
        self.balance.set_bars({})
        self.previewed.emit()

    def _show(self, preview: DataPreview) -> None:
        self.preview, self.failure = preview, None
        total = sum(preview.class_counts.values())
        balance = ", ".join(f"{name} {100 * count / max(total, 1):.0f}%" for name, count in
                            preview.class_counts.items())
        self.status.setStyleSheet("color: #455a64;")
        self.status.setText(f"{preview.origin}: {preview.cleaning}. Classes: {balance}.")
        self.table.setRowCount(len(preview.rows))
        for index, (label, text) in enumerate(preview.rows):
            self.table.setItem(index, 0, QTableWidgetItem(label))
            self.table.setItem(index, 1, QTableWidgetItem(text))
        self.balance.set_bars({name: float(count) for name, count in preview.class_counts.items()}, "{:,.0f}")
        self.previewed.emit()


class DataPanel(QScrollArea):
    """The Data step on its own page: the section above, scrolled when the window is small."""

    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.section = DataSection(editor)
        self.setWidget(self.section)
