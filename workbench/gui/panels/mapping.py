"""Layer-mapping panel: teacher layers in the left column, student layers in the right, the mapping
n = g(m) as lines. Uniform, last-layers or custom; in custom mode click a student layer, then the teacher
layer it should learn from. Mappings the job would refuse are explained here, before Start."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.mapping import LayerMapping, MappingError, layer_mapping
from workbench.core.recipe import Recipe
from workbench.gui.fields import CheckField
from workbench.gui.model_info import ModelsInfo
from workbench.gui.recipe_editor import RecipeEditor

BOX_W, BOX_H, GAP, COLUMN_GAP = 170.0, 30.0, 10.0, 260.0
TEACHER_X, STUDENT_X = 0.0, BOX_W + COLUMN_GAP
MODES = (("uniform", "Uniform  g(m) = m·N/M"), ("last", "Last layers"), ("custom", "Custom (click to connect)"))
HIDDEN_ATTENTION = QColor("#1e88e5")
SELECTED = QColor("#fff59d")


class LayerBox(QGraphicsRectItem):
    """One layer; a click is reported to the panel (custom mode connects layers with two clicks)."""

    def __init__(self, side: str, index: int, text: str, rect: QRectF, panel: MappingPanel) -> None:
        super().__init__(rect)
        self.side, self.index, self.panel = side, index, panel
        self.setBrush(QBrush(QColor("#eceff1" if side == "teacher" else "#e3f2fd")))
        self.setPen(QPen(QColor("#90a4ae"), 1.2))
        label = QGraphicsSimpleTextItem(text, self)
        label.setPos(rect.x() + 10, rect.y() + (rect.height() - label.boundingRect().height()) / 2)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.panel.box_clicked(self.side, self.index)
        event.accept()


class MappingPanel(QWidget):
    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__()
        self.editor = editor
        self.info = ModelsInfo()
        self.selected_student: int | None = None
        self.mapping: LayerMapping | None = None
        self.teacher_boxes: dict[int, LayerBox] = {}
        self.student_boxes: dict[int, LayerBox] = {}
        self.lines: dict[int, object] = {}  # student layer -> its line item
        self._attention_switched_off = False  # by this panel, because head counts differ (not by the user)

        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QRadioButton] = {}
        for mode, text in MODES:
            button = QRadioButton(text)
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            button.toggled.connect(lambda checked, m=mode: checked and self.set_mode(m))
            controls.addWidget(button)
        controls.addSpacing(24)
        self.hidden_field = editor.bind(CheckField("mapping.hidden", "Hidden-state loss",
                                                   tip="MSE between projected student and teacher hidden states"))
        self.attention_field = editor.bind(CheckField("mapping.attention", "Attention loss",
                                                      tip="MSE between attention scores; needs equal head counts"))
        controls.addWidget(self.hidden_field.container)
        controls.addWidget(self.attention_field.container)
        controls.addStretch(1)
        layout.addLayout(controls)
        self.notes = QLabel(wordWrap=True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.notes)
        self.scene = QGraphicsScene(self)
        self.view = QGraphicsView(self.scene)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.view, 1)
        self.legend = QLabel(
            "<span style='color:#1e88e5'>━━</span> hidden + attention loss &nbsp; "
            "<span style='color:#1e88e5'>╌╌</span> hidden-state loss only &nbsp; "
            "<span style='color:#9e9e9e'>┄┄</span> no intermediate loss &nbsp; "
            "<span style='color:#8e24aa'>━━</span> embedding / prediction-layer loss")
        layout.addWidget(self.legend)
        editor.recipe_changed.connect(self._on_recipe_changed)
        self._show_mode(editor.recipe.mapping.mode)
        self.redraw()

    # -- editing ---------------------------------------------------------------------------------------------

    def _show_mode(self, mode: str) -> None:
        button = self.mode_buttons[mode]
        blocked = button.blockSignals(True)
        button.setChecked(True)
        button.blockSignals(blocked)

    def set_mode(self, mode: str) -> None:
        values: dict[str, object] = {"mapping.mode": mode}
        if mode == "custom" and self.mapping and not self.editor.get("mapping.layers"):
            values["mapping.layers"] = [n for _, n in self.mapping.pairs]  # start from what is drawn
        self.selected_student = None
        self._show_mode(mode)
        self.editor.set_many(values)
        self.redraw()

    def box_clicked(self, side: str, index: int) -> None:
        if self.editor.get("mapping.mode") != "custom":
            self.notes.setText(self._notes_html() + "<br><i>Switch to custom mode to change the mapping.</i>")
            return
        if self.info.layers is None:
            return
        teacher_layers, student_layers = self.info.layers
        if side == "student" and not 1 <= index <= student_layers:
            return  # embeddings and prediction layer always pair with the teacher's; nothing to choose
        if side == "teacher" and index > teacher_layers:
            return
        if side == "student":
            self.selected_student = None if self.selected_student == index else index
            self.redraw()
        elif self.selected_student is not None:
            layers = list(self.editor.get("mapping.layers") or [])
            layers = (layers + [0] * student_layers)[:student_layers]
            layers[self.selected_student - 1] = index
            self.selected_student = None
            self.editor.set("mapping.layers", layers)
            self.redraw()

    def set_models(self, info: ModelsInfo) -> None:
        self.info = info
        self._check_heads()
        self.redraw()

    def _on_recipe_changed(self, recipe: Recipe) -> None:
        self._show_mode(recipe.mapping.mode)
        self.redraw()

    def _check_heads(self) -> None:
        """Attention loss compares heads one to one; with different head counts it is switched off here
        rather than failing the job after the teacher has been fine-tuned."""
        heads = self._heads()
        if heads and heads[0] != heads[1]:
            if self.editor.get("mapping.attention"):
                self._attention_switched_off = True
                self.editor.set("mapping.attention", False)
            self.attention_field.widget.setEnabled(False)
        else:
            self.attention_field.widget.setEnabled(True)
            if heads and self._attention_switched_off:  # heads match again: undo what this panel did
                self._attention_switched_off = False
                self.editor.set("mapping.attention", True)

    def _heads(self) -> tuple[int, int] | None:
        if self.info.teacher is None or self.info.student is None:
            return None
        return self.info.teacher.heads, int(self.info.student["heads"])

    # -- drawing ---------------------------------------------------------------------------------------------

    def _notes_html(self) -> str:
        notes, problems = [], []
        recipe = self.editor.recipe
        heads = self._heads()
        if heads and heads[0] != heads[1]:
            notes.append(f"The teacher has {heads[0]} attention heads and the student {heads[1]}: attention loss "
                         "needs equal head counts, so it is off and only hidden states are matched.")
        if self.info.layers is None:
            problems.append(self.info.teacher_error or self.info.student_error or "")
            if not any(problems):
                return "<i>Reading the teacher and student shapes…</i>"
        elif self.mapping is None:
            problems.append(self._mapping_error)
        elif self.mapping.note:
            notes.append(self.mapping.note)
        if recipe.mapping.mode == "custom":
            if self.selected_student is None:
                notes.append("Custom mode: click a student layer, then the teacher layer it should learn from.")
            else:
                notes.append(f"Student layer {self.selected_student} selected: now click a teacher layer "
                             "(embeddings count as layer 0).")
        if not recipe.mapping.hidden and not recipe.mapping.attention:
            notes.append("Hidden and attention losses are both off: the intermediate stage learns from the "
                         "embeddings only.")
        if not notes and not any(problems):
            notes.append("Each line: the student layer on the right learns from the teacher layer on the left "
                         "(n = g(m)); embeddings and prediction layers always pair up.")
        lines = [f"<span style='color:#c62828'>⚠ {p}</span>" for p in problems if p]
        return "<br>".join(lines + [f"<span style='color:#455a64'>{n}</span>" for n in notes])

    def redraw(self) -> None:
        self.scene.clear()
        self.teacher_boxes.clear()
        self.student_boxes.clear()
        self.lines.clear()
        self.mapping, self._mapping_error = None, ""
        layers = self.info.layers
        if layers is not None:
            recipe = self.editor.recipe
            try:
                self.mapping = layer_mapping(recipe.mapping.mode, layers[1], layers[0], recipe.mapping.layers)
            except MappingError as error:
                self._mapping_error = str(error)
            self._draw(*layers)
        self.notes.setText(self._notes_html())

    def _draw(self, teacher_layers: int, student_layers: int) -> None:
        # Layers stacked bottom-up (embeddings at the bottom, prediction layer on top), the student's spread
        # over the teacher's height so that the lines read as "which depth learns from which depth".
        rows = teacher_layers + 2
        height = rows * (BOX_H + GAP)
        student_step = height / (student_layers + 2)

        def teacher_y(n: int) -> float:
            return height - (n + 1) * (BOX_H + GAP)

        def student_y(m: int) -> float:
            return height - (m + 1) * student_step + (student_step - BOX_H - GAP) / 2

        title_font = QFont()
        title_font.setBold(True)
        for x, text in ((TEACHER_X, f"Teacher · {teacher_layers} layers"),
                        (STUDENT_X, f"Student · {student_layers} layers")):
            title = self.scene.addSimpleText(text, title_font)
            title.setPos(x, -BOX_H)
        for n in range(teacher_layers + 2):
            text = "embeddings" if n == 0 else ("prediction layer" if n == teacher_layers + 1 else f"layer {n}")
            box = LayerBox("teacher", n, text, QRectF(TEACHER_X, teacher_y(n), BOX_W, BOX_H), self)
            self.scene.addItem(box)
            self.teacher_boxes[n] = box
        for m in range(student_layers + 2):
            text = "embeddings" if m == 0 else ("prediction layer" if m == student_layers + 1 else f"layer {m}")
            box = LayerBox("student", m, text, QRectF(STUDENT_X, student_y(m), BOX_W, BOX_H), self)
            if m == self.selected_student:
                box.setBrush(QBrush(SELECTED))
            self.scene.addItem(box)
            self.student_boxes[m] = box
        purple = QPen(QColor("#8e24aa"), 2)
        self._connect(0, 0, purple)
        self._connect(student_layers + 1, teacher_layers + 1, purple)
        recipe = self.editor.recipe
        for m, n in self.mapping.pairs if self.mapping else []:
            hidden, attention = recipe.mapping.hidden, recipe.mapping.attention and n > 0
            pen = QPen(HIDDEN_ATTENTION if hidden or attention else QColor("#9e9e9e"), 2)
            if not hidden and not attention:
                pen.setStyle(Qt.PenStyle.DotLine)
            elif not attention:
                pen.setStyle(Qt.PenStyle.DashLine)
            self.lines[m] = self._connect(m, n, pen)
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))

    def _connect(self, m: int, n: int, pen: QPen):
        student, teacher = self.student_boxes[m].rect(), self.teacher_boxes[n].rect()
        line = self.scene.addLine(teacher.right(), teacher.center().y(), student.left(), student.center().y(), pen)
        line.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, False)
        return line

    def box_position(self, side: str, index: int) -> QPoint:
        """Where a layer box is on screen (view coordinates), for tests that click it."""
        boxes = self.teacher_boxes if side == "teacher" else self.student_boxes
        return self.view.mapFromScene(boxes[index].sceneBoundingRect().center())
