"""Models panel: the teacher (bundled, local folder or hub id) with its summary card, and the student
preset, shape and initialisation with its parameters, size and estimated speed-up, before anything runs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import BUNDLED_MODELS, pruning_estimate
from workbench.core.recipe import Recipe
from workbench.gui.background import Latest
from workbench.gui.fields import CheckField, ComboField, LineField, SpinField, add_row, guard_wheel
from workbench.gui.model_info import ModelsInfo, describe_models, model_inputs_of
from workbench.gui.recipe_editor import RecipeEditor

BUNDLED, FOLDER, HUB = "bundled", "folder", "hub"
PRESETS = [("TinyBERT 4L-312D", "tinybert-4l-312d"), ("TinyBERT 6L-768D", "tinybert-6l-768d"),
           ("Drop layers of the teacher", "drop-layers"), ("Custom shape", "custom")]
INITS = [("Copy teacher layers", "teacher"), ("Random", "random"), ("Saved student (folder)", "pretrained")]
ERROR_STYLE = "color: #c62828;"


def source_kind(source: str) -> str:
    if source.startswith("bundled:"):
        return BUNDLED
    if source.startswith((".", "/", "~")) or Path(source).expanduser().exists():
        return FOLDER
    return HUB


class Card(QGroupBox):
    """Label / value rows that a background result fills in."""

    def __init__(self, title: str, rows: list[str]) -> None:
        super().__init__(title)
        self.form = QFormLayout(self)
        self.values: dict[str, QLabel] = {}
        for row in rows:
            value = QLabel("…")
            value.setWordWrap(True)
            self.values[row] = value
            self.form.addRow(f"{row}:", value)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.form.addRow(self.message)

    def show_values(self, values: dict[str, str]) -> None:
        for row, label in self.values.items():
            label.setText(values.get(row, "–"))
        self.message.setText("")

    def show_message(self, text: str, error: bool = False) -> None:
        for label in self.values.values():
            label.setText("–")
        self.message.setStyleSheet(ERROR_STYLE if error else "color: #757575;")
        self.message.setText(text)


def _stacked(*widgets: QWidget) -> QVBoxLayout:
    """A column of the widgets, top-aligned."""
    column = QVBoxLayout()
    for widget in widgets:
        column.addWidget(widget)
    column.addStretch(1)
    return column


class ModelsPanel(QWidget):
    described = Signal(object)  # ModelsInfo

    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__()
        self.editor = editor
        self.info = ModelsInfo()
        self._background = Latest(self)
        self._live = False  # no descriptions (and no torch import) until the window has been shown
        self._described_inputs: dict | None = None

        layout = QHBoxLayout(self)
        layout.addLayout(self._teacher_column(), 1)
        layout.addLayout(self._student_column(), 1)
        editor.recipe_changed.connect(self._on_recipe_changed)
        self._show_source(editor.recipe.teacher.source)

    # -- teacher ---------------------------------------------------------------------------------------------

    def _teacher_column(self) -> QVBoxLayout:
        box = QGroupBox("Teacher")
        grid = QGridLayout(box)
        self.kind_group = QButtonGroup(self)
        self.kind_buttons: dict[str, QRadioButton] = {}
        self.bundled_combo = guard_wheel(QComboBox())
        for name in BUNDLED_MODELS:
            self.bundled_combo.addItem(f"{name} (bundled)", f"bundled:{name}")
        self.folder_edit = QLineEdit(placeholderText="a Hugging Face model folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_teacher)
        self.hub_edit = QLineEdit(placeholderText="e.g. bert-base-uncased (needs network or the local cache)")
        rows = ((BUNDLED, "Bundled", self.bundled_combo, None), (FOLDER, "Local folder", self.folder_edit, browse),
                (HUB, "Hub id", self.hub_edit, None))
        for row, (kind, text, editor_widget, extra) in enumerate(rows):
            button = QRadioButton(text)
            self.kind_group.addButton(button)
            self.kind_buttons[kind] = button
            button.toggled.connect(lambda checked, k=kind: checked and self._apply_teacher(k))
            grid.addWidget(button, row, 0)
            grid.addWidget(editor_widget, row, 1, 1, 1 if extra else 2)
            if extra:
                grid.addWidget(extra, row, 2)
        self.bundled_combo.currentIndexChanged.connect(lambda: self._apply_teacher(BUNDLED))
        self.folder_edit.editingFinished.connect(lambda: self._apply_teacher(FOLDER))
        self.hub_edit.editingFinished.connect(lambda: self._apply_teacher(HUB))
        self.trust_code = self.editor.bind(CheckField(
            "teacher.trust_remote_code", "Run the model's own code (trust_remote_code)",
            tip="Only for a model whose code you have read: its Python files run with your permissions"))
        grid.addWidget(self.trust_code.container, len(rows), 0, 1, 3)
        self.trust_warning = QLabel("⚠ The teacher's own Python code may run when it loads: use only a model "
                                    "whose code you have read.", styleSheet=ERROR_STYLE, wordWrap=True)
        self.trust_warning.setVisible(self.editor.recipe.teacher.trust_remote_code)
        grid.addWidget(self.trust_warning, len(rows) + 1, 0, 1, 3)
        self.teacher_problem = QLabel(styleSheet=ERROR_STYLE, wordWrap=True)
        self.teacher_problem.hide()
        grid.addWidget(self.teacher_problem, len(rows) + 2, 0, 1, 3)
        self.teacher_card = Card("Teacher summary", ["architecture", "layers", "hidden size", "attention heads",
                                                     "FFN size", "vocabulary", "parameters", "size on disk",
                                                     "task head", "folder", "family", "supported steps"])
        self.teacher_card.show_message("reading the teacher's configuration…")
        return _stacked(box, self.teacher_card)

    def _show_source(self, source: str) -> None:
        kind = source_kind(source)
        widgets = (self.bundled_combo, self.folder_edit, self.hub_edit, *self.kind_buttons.values())
        blocked = [w.blockSignals(True) for w in widgets]
        if kind == BUNDLED:
            self.bundled_combo.setCurrentIndex(max(0, self.bundled_combo.findData(source)))
        elif kind == FOLDER:
            self.folder_edit.setText(source)
        else:
            self.hub_edit.setText(source)
        self.kind_buttons[kind].setChecked(True)
        for widget, was in zip(widgets, blocked, strict=True):
            widget.blockSignals(was)

    def _apply_teacher(self, kind: str) -> None:
        source = {BUNDLED: self.bundled_combo.currentData(), FOLDER: self.folder_edit.text().strip(),
                  HUB: self.hub_edit.text().strip()}[kind]
        self.kind_buttons[kind].setChecked(True)
        if source and source != self.editor.get("teacher.source"):
            self.editor.set("teacher.source", source)

    def _browse_teacher(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Teacher model folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)
            self._apply_teacher(FOLDER)

    # -- student ---------------------------------------------------------------------------------------------

    def _student_column(self) -> QVBoxLayout:
        box = QGroupBox("Student")
        form = QFormLayout(box)
        bind = self.editor.bind
        add_row(form, "Preset", bind(ComboField("student.preset", PRESETS)))
        add_row(form, "Layers", bind(SpinField("student.layers", special="from preset")))
        add_row(form, "Hidden size", bind(SpinField("student.hidden_size", special="from preset")))
        add_row(form, "Attention heads", bind(SpinField("student.heads", special="from preset")))
        add_row(form, "FFN size", bind(SpinField("student.ffn_size", special="from preset")))
        add_row(form, "Teacher layers to keep", bind(LineField(
            "student.teacher_layers", "int_list", "e.g. 2, 4, 6 (empty: evenly spread)",
            tip="Drop-layers: which teacher layers the student keeps; copied when initialising from the teacher")))
        add_row(form, "Initialisation", bind(ComboField("student.init", INITS)))
        add_row(form, "Saved student", bind(LineField("student.pretrained", "optional_str",
                                                      "folder of a saved student (for 'Saved student')")))
        self.student_card = Card("Student estimate", ["shape", "parameters", "fp32 size", "vs teacher",
                                                      "estimated speed-up", "then pruned"])
        self.student_card.show_message("waiting for the teacher…")
        return _stacked(box, self.student_card)

    # -- descriptions ----------------------------------------------------------------------------------------

    def go_live(self) -> None:
        """Called once the window is on screen: from now on, describe the models in the background."""
        self._live = True
        self.refresh()

    def refresh(self) -> None:
        recipe = self.editor.recipe
        self._described_inputs = model_inputs_of(recipe)
        self.teacher_card.show_message("reading the teacher's configuration…")
        self.student_card.show_message("estimating…")
        self._background.run(lambda: describe_models(recipe), self._show_info, self._show_failure)

    @property
    def busy(self) -> bool:
        return self._background.busy

    def _on_recipe_changed(self, recipe: Recipe) -> None:
        self._show_source(recipe.teacher.source)
        self.trust_warning.setVisible(recipe.teacher.trust_remote_code)
        if self._live and model_inputs_of(recipe) != self._described_inputs:
            self.refresh()

    def _show_failure(self, message: str) -> None:
        self.teacher_card.show_message(message, error=True)
        self.student_card.show_message("")

    def _show_info(self, info: ModelsInfo) -> None:
        self.info = info
        self.teacher_problem.setVisible(bool(info.teacher_error))
        self.teacher_problem.setText(info.teacher_error or "")
        if info.teacher is None:
            self.teacher_card.show_message(info.teacher_error or "", error=True)
            self.student_card.show_message("needs a teacher")
        else:
            t = info.teacher
            head = f"yes: {', '.join(t.labels)}" if t.labels else "none (fine-tuned first, as a stage of the job)"
            self.teacher_card.show_values({
                "architecture": f"{t.architecture} ({t.model_type})", "layers": str(t.layers),
                "hidden size": str(t.hidden_size), "attention heads": str(t.heads), "FFN size": str(t.ffn_size),
                "vocabulary": f"{t.vocab_size:,}", "parameters": f"{t.parameters / 1e6:.1f} M ({t.parameters:,})",
                "size on disk": f"{t.size_bytes / 2**20:.1f} MiB", "task head": head, "folder": t.folder,
                "family": t.family, "supported steps": "\n".join(f"{k}: {v}" for k, v in t.support.items()),
            })
            if info.student is None:
                self.student_card.show_message(info.student_error or "", error=True)
            else:
                s = info.student
                self.student_card.show_values({
                    "shape": f"{s['layers']} layers × hidden {s['hidden_size']}, {s['heads']} heads, "
                             f"FFN {s['ffn_size']}",
                    "parameters": f"{s['parameters'] / 1e6:.1f} M ({s['parameters']:,})",
                    "fp32 size": f"{s['fp32_mib']:.1f} MiB (int8 about {s['fp32_mib'] / 4:.1f} MiB)",
                    "vs teacher": f"{s['ratio']:.1f}× fewer parameters",
                    "estimated speed-up": f"{s['speedup']:.1f}× (encoder multiply-adds at "
                                          f"{self.editor.recipe.data.max_length} tokens)",
                    "then pruned": pruning_estimate(self.editor.recipe.pruning, s["heads"], s["ffn_size"]),
                })
        self.described.emit(info)
