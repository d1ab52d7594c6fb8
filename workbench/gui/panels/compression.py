"""Compression panel: distillation stages and loss weights, augmentation, pruning, quantization and
run settings. Every widget edits the recipe; the recipe's own message appears under a field it rejects."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import FormRow, form_rows
from workbench.gui.fields import CheckField, ComboField, Field, LineField, SpinField, add_row, recipe_combo
from workbench.gui.recipe_editor import RecipeEditor

STAGES = (("teacher_finetune", "Teacher fine-tuning"), ("intermediate", "Intermediate layers"),
          ("prediction", "Prediction layer"))
WEIGHTS = ("embedding", "hidden", "attention", "prediction", "hard_label")


class CompressionPanel(QScrollArea):
    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__()
        self.editor = editor
        self.setWidgetResizable(True)
        body = QWidget()
        self.setWidget(body)
        columns = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(self._stages())
        left.addWidget(self._weights())
        left.addWidget(self._augmentation())
        left.addWidget(self._method_rows("Transfer set (labelled by the teacher)", "distillation"))
        left.addWidget(self._general())
        left.addStretch(1)
        right.addWidget(self._pruning())
        right.addWidget(self._quantization())
        right.addWidget(self._run_settings())
        right.addStretch(1)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(body)
        layout.addLayout(columns)

    def _stages(self) -> QGroupBox:
        box = QGroupBox("Distillation stages")
        grid = QGridLayout(box)
        for column, title in enumerate(("", "epochs", "learning rate", "max steps")):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        for row, (stage, title) in enumerate(STAGES, start=1):
            grid.addWidget(QLabel(title), row, 0)
            for column, (name, kind) in enumerate((("epochs", "float"), ("lr", "float"),
                                                   ("max_steps", "optional_int")), start=1):
                field = self.editor.bind(LineField(f"distillation.{stage}.{name}", kind,
                                                   "no limit" if name == "max_steps" else ""))
                grid.addWidget(field.container, row, column)
        note = QLabel("Fine-tuning is skipped when the teacher already has a head for these labels.")
        note.setStyleSheet("color: #757575;")
        note.setWordWrap(True)
        grid.addWidget(note, len(STAGES) + 1, 0, 1, 4)
        return box

    def _weights(self) -> QGroupBox:
        box = QGroupBox("Loss weights and temperature")
        form = QFormLayout(box)
        for name in WEIGHTS:
            add_row(form, name.replace("_", " ").capitalize(),
                    self.editor.bind(LineField(f"distillation.weights.{name}", "float")))
        add_row(form, "Temperature t", self.editor.bind(LineField(
            "distillation.temperature", "float", tip="soft cross-entropy between softmax(z_T/t) and softmax(z_S/t)")))
        return box

    def _augmentation(self) -> QGroupBox:
        box = QGroupBox("Data augmentation")
        form = QFormLayout(box)
        bind = self.editor.bind
        form.addRow(bind(CheckField("distillation.augmentation.enabled",
                                    "Replace words (masked LM or embedding neighbours)")).container)
        add_row(form, "Copies per example", bind(SpinField("distillation.augmentation.copies")))
        add_row(form, "Replace probability", bind(LineField("distillation.augmentation.replace_prob", "float")))
        add_row(form, "Candidates per word", bind(SpinField("distillation.augmentation.candidates")))
        return box

    def _general(self) -> QGroupBox:
        box = QGroupBox("General distillation (before the task stages)")
        form = QFormLayout(box)
        bind = self.editor.bind
        form.addRow(bind(CheckField("distillation.general.enabled",
                                    "Distil the base teacher on unlabelled text first")).container)
        add_row(form, "Text source", bind(LineField("distillation.general.source", "optional_str",
                                                    "a text file (one text a line) or a data file")))
        add_row(form, "Epochs", bind(LineField("distillation.general.epochs", "float")))
        add_row(form, "Learning rate", bind(LineField("distillation.general.lr", "float")))
        return box

    def _pruning(self) -> QGroupBox:
        return self._method_rows("Pruning", "pruning")

    def _quantization(self) -> QGroupBox:
        return self._method_rows("Quantization (ONNX int8 / int4)", "quantization")

    def _method_rows(self, title: str, section: str) -> QGroupBox:
        """A recipe section's rows as the core's method registry declares them (methods/registry.py)."""
        box = QGroupBox(title)
        form = QFormLayout(box)
        for row in form_rows(section):
            field = self.editor.bind(_field(row))
            if row.widget == "check":
                form.addRow(field.container)
            else:
                add_row(form, row.label, field)
        return box

    def _run_settings(self) -> QGroupBox:
        box = QGroupBox("Run settings")
        form = QFormLayout(box)
        bind = self.editor.bind
        add_row(form, "Batch size", bind(SpinField("training.batch_size")))
        add_row(form, "Device", bind(ComboField("training.device", [(d, d) for d in ("auto", "cpu", "cuda", "mps")])))
        precisions = [(p, p) for p in ("auto", "fp32", "fp16", "bf16")]
        add_row(form, "Precision", bind(ComboField("training.precision", precisions)))
        add_row(form, "Log every (steps)", bind(SpinField("training.log_every")))
        add_row(form, "Checkpoint every (steps)", bind(SpinField("training.checkpoint_every")))
        add_row(form, "Seed", bind(SpinField("training.seed")))
        add_row(form, "Output folder", bind(LineField("output_dir")))
        return box


def _field(row: FormRow) -> Field:
    if row.widget == "check":
        return CheckField(row.key, row.label, row.tip)
    if row.widget == "combo":
        return recipe_combo(row.key, dict(row.choices), row.tip)
    if row.widget == "spin":
        return SpinField(row.key, tip=row.tip)
    return LineField(row.key, row.kind, row.placeholder, row.tip)
