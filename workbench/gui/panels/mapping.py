"""Layer-mapping panel: teacher layers in the left column, student layers in the right, the mapping
n = g(m) as lines. Uniform, last-layers or custom; in custom mode drag from a student layer to the teacher
layer it should learn from (or click one, then the other). Beside each student layer two small switches turn
that pair's hidden-state and attention losses on or off (mapping.no_hidden / no_attention); the line's style
shows which losses the pair keeps. Mappings the job would refuse are explained here, before Start."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.api import LayerMapping, MappingError, pair_losses, recipe_mapping
from workbench.core.recipe import Recipe
from workbench.gui.fields import CheckField, ComboField
from workbench.gui.mapping_notes import mapping_notes
from workbench.gui.model_info import ModelsInfo
from workbench.gui.panels.mapping_items import TOGGLE, LayerBox, LossToggle
from workbench.gui.recipe_editor import RecipeEditor

BOX_W, BOX_H, GAP, COLUMN_GAP = 170.0, 30.0, 10.0, 260.0
TEACHER_X, STUDENT_X = 0.0, BOX_W + COLUMN_GAP
MODES = (("uniform", "Uniform  g(m) = m·N/M"), ("last", "Last layers"),
         ("custom", "Custom (drag or click to connect)"))
HIDDEN_ATTENTION = QColor("#1e88e5")
SELECTED = QColor("#fff59d")
# The pen of a pair's line by (hidden loss on, attention loss on); the legend below the view spells these out.
LINE_STYLES = {(True, True): Qt.PenStyle.SolidLine, (True, False): Qt.PenStyle.DashLine,
               (False, True): Qt.PenStyle.DashDotLine, (False, False): Qt.PenStyle.DotLine}
SWITCH_PATHS = {"hidden": "mapping.no_hidden", "attention": "mapping.no_attention"}


class MappingPanel(QWidget):
    def __init__(self, editor: RecipeEditor) -> None:
        super().__init__()
        self.editor = editor
        self.info = ModelsInfo()
        self.selected_student: int | None = None
        self.mapping: LayerMapping | None = None
        self.teacher_boxes: dict[int, LayerBox] = {}
        self.student_boxes: dict[int, LayerBox] = {}
        self.lines: dict[int, QGraphicsLineItem] = {}  # student layer -> its line item
        self.toggles: dict[tuple[int, str], LossToggle] = {}  # (student layer, "hidden" | "attention")
        self._drag: tuple[int, QGraphicsLineItem] | None = None  # student layer dragged from, the rubber line
        self._attention_switched_off = False  # by this panel, because head counts differ (not by the user)

        layout = QVBoxLayout(self)
        self._build_controls(layout)
        self._build_diagram(layout)
        editor.recipe_changed.connect(self._on_recipe_changed)
        self._show_mode(editor.recipe.mapping.mode)
        self.redraw()

    def _build_controls(self, layout: QVBoxLayout) -> None:
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
        self.hidden_field = self.editor.bind(CheckField("mapping.hidden", "Hidden-state loss",
                                                        tip="MSE between projected student and teacher hidden states"))
        self.attention_field = self.editor.bind(CheckField("mapping.attention", "Attention loss",
                                                           tip="attention scores (equal head counts) or relations"))
        self.attention_kind_field = self.editor.bind(ComboField(
            "distillation.attention_loss", [("scores (TinyBERT)", "scores"), ("relations (MiniLM)", "relation")],
            tip="scores: MSE of attention scores, needs equal head counts; relations: Q-Q, K-K, V-V relation "
                "KL, any head counts and families"))
        controls.addWidget(self.hidden_field.container)
        controls.addWidget(self.attention_field.container)
        controls.addWidget(self.attention_kind_field.container)
        controls.addStretch(1)
        layout.addLayout(controls)

    def _build_diagram(self, layout: QVBoxLayout) -> None:
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
            "<span style='color:#1e88e5'>━·━</span> attention loss only &nbsp; "
            "<span style='color:#9e9e9e'>┄┄</span> no intermediate loss &nbsp; "
            "<span style='color:#8e24aa'>━━</span> embedding / prediction-layer loss")
        layout.addWidget(self.legend)

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

    def _choosable(self, side: str, index: int) -> bool:
        """Whether custom mode may pair this layer: embeddings and prediction layers always pair with the
        teacher's, so only the student's layers 1..M and the teacher's 0..N take part."""
        if self.editor.get("mapping.mode") != "custom" or self.info.layers is None:
            return False
        teacher_layers, student_layers = self.info.layers
        return 1 <= index <= student_layers if side == "student" else index <= teacher_layers

    def press(self, box: LayerBox, pos: QPointF) -> None:
        """A press on a student layer in custom mode starts a drag: a rubber line follows the pointer."""
        if box.side == "student" and self._choosable("student", box.index):
            start = box.rect()
            line = self.scene.addLine(start.left(), start.center().y(), pos.x(), pos.y(),
                                      QPen(QColor("#fb8c00"), 2, Qt.PenStyle.DashLine))
            self._drag = (box.index, line)

    def drag_to(self, pos: QPointF) -> None:
        if self._drag is not None:
            line = self._drag[1]
            line.setLine(line.line().x1(), line.line().y1(), pos.x(), pos.y())

    def release(self, pressed: LayerBox, pos: QPointF) -> None:
        """Dropped on a teacher layer: connect. Released where it was pressed: a click (click-click mode)."""
        target = self._box_at(pos)
        drag, self._drag = self._drag, None
        if drag is not None:
            self.scene.removeItem(drag[1])
        if drag is not None and target is not None and target.side == "teacher":
            if self._choosable("teacher", target.index):
                self._pair(drag[0], target.index)
        elif target is pressed:
            self.box_clicked(pressed.side, pressed.index)

    def _box_at(self, pos: QPointF) -> LayerBox | None:
        for item in self.scene.items(pos):
            while item is not None and not isinstance(item, LayerBox):
                item = item.parentItem()  # a box's label
            if item is not None:
                return item
        return None

    def box_clicked(self, side: str, index: int) -> None:
        if self.editor.get("mapping.mode") != "custom":
            self.notes.setText(self._notes_html() + "<br><i>Switch to custom mode to change the mapping.</i>")
            return
        if not self._choosable(side, index):
            return
        if side == "student":
            self.selected_student = None if self.selected_student == index else index
            self.redraw()
        elif self.selected_student is not None:
            self._pair(self.selected_student, index)

    def _pair(self, m: int, n: int) -> None:
        """Student layer m learns from teacher layer n."""
        student_layers = self.info.layers[1]
        layers = list(self.editor.get("mapping.layers") or [])
        layers = (layers + [0] * student_layers)[:student_layers]
        layers[m - 1] = n
        self.selected_student = None
        self.editor.set("mapping.layers", layers)
        self.redraw()

    def set_pair_loss(self, m: int, loss: str, on: bool) -> None:
        """Switch one pair's hidden-state or attention loss on or off (by student layer m)."""
        path = SWITCH_PATHS[loss]
        # Layers the student no longer has go too: they are what makes the job refuse the list.
        off = {x for x in self.editor.get(path) or [] if x <= self.info.layers[1]}
        self.editor.set(path, sorted(off - {m} if on else off | {m}))
        self.redraw()

    def set_models(self, info: ModelsInfo) -> None:
        self.info = info
        self._check_heads()
        self.redraw()

    def _on_recipe_changed(self, recipe: Recipe) -> None:
        self._show_mode(recipe.mapping.mode)
        self._check_heads()
        self.redraw()

    def _check_heads(self) -> None:
        """Attention scores are compared head to head; with different head counts the scores loss is switched
        off here (relations still work) rather than failing the job after the teacher has been fine-tuned."""
        heads = self._heads()
        if heads and heads[0] != heads[1] and self.editor.get("distillation.attention_loss") == "scores":
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
        return mapping_notes(self.editor.recipe, self._heads(), self.info, self.mapping, self._mapping_error,
                             self.selected_student)

    def redraw(self) -> None:
        self.scene.clear()
        self.teacher_boxes.clear()
        self.student_boxes.clear()
        self.lines.clear()
        self.toggles.clear()
        self._drag = None
        self.mapping, self._mapping_error = None, ""
        layers = self.info.layers
        if layers is not None:
            recipe = self.editor.recipe
            try:
                self.mapping = recipe_mapping(recipe.mapping, layers[1], layers[0])
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
        for m, n in self.mapping.pairs if self.mapping else []:
            losses = self._pair_losses(m, n)
            pen = QPen(HIDDEN_ATTENTION if any(losses) else QColor("#9e9e9e"), 2, LINE_STYLES[losses])
            self.lines[m] = self._connect(m, n, pen)
        self._draw_toggles(student_layers)
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))

    def _pair_losses(self, m: int, n: int) -> tuple[bool, bool]:
        """(hidden, attention): the losses pair m -> n keeps, by the job's own rule."""
        recipe = self.editor.recipe
        return pair_losses(m, n, recipe.mapping, recipe.distillation.weights)

    def _draw_toggles(self, student_layers: int) -> None:
        """A hidden / attention switch beside each student layer; greyed where the loss is off for every pair
        (the switches above the view, or a weight of 0) or, for attention, where the layer learns from the
        embeddings: where the job's rule would ignore the switch."""
        recipe = self.editor.recipe
        config, weights = recipe.mapping, recipe.distillation.weights
        every_pair = config.model_copy(update={"no_hidden": [], "no_attention": []})
        teacher_of = dict(self.mapping.pairs) if self.mapping else {}
        header = self.scene.addSimpleText("losses of this pair")
        header.setPos(STUDENT_X + BOX_W + 12, -BOX_H)
        for m in range(1, student_layers + 1):
            box = self.student_boxes[m].rect()
            y = box.center().y() - TOGGLE / 2
            switchable = pair_losses(m, teacher_of.get(m, 1), every_pair, weights)
            for offset, loss, enabled, off in ((12, "hidden", switchable[0], config.no_hidden),
                                               (84, "attention", switchable[1], config.no_attention)):
                toggle = LossToggle(m, loss, enabled and m not in off, enabled,
                                    QPointF(box.right() + offset, y), self)
                self.scene.addItem(toggle)
                self.toggles[m, loss] = toggle

    def _connect(self, m: int, n: int, pen: QPen):
        student, teacher = self.student_boxes[m].rect(), self.teacher_boxes[n].rect()
        line = self.scene.addLine(teacher.right(), teacher.center().y(), student.left(), student.center().y(), pen)
        line.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, False)
        return line

    def box_position(self, side: str, index: int) -> QPoint:
        """Where a layer box is on screen (view coordinates), for tests that click it."""
        boxes = self.teacher_boxes if side == "teacher" else self.student_boxes
        return self.view.mapFromScene(boxes[index].sceneBoundingRect().center())

    def toggle_position(self, m: int, loss: str) -> QPoint:
        """Where a pair's loss switch is on screen (view coordinates), for tests that click it."""
        return self.view.mapFromScene(self.toggles[m, loss].rect().center())
