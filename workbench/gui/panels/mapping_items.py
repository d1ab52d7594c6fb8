"""The layer-mapping view's scene items: a layer box (pressed, dragged and released to pair layers) and a
per-pair loss switch. They report to the panel, which owns the recipe edits."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsSimpleTextItem

TOGGLE = 14.0  # side of a per-pair loss switch


class Pairing(Protocol):
    """What the items report to: the mapping panel, which owns the recipe edits (never imported from here)."""

    def press(self, box: LayerBox, pos: QPointF) -> None: ...
    def drag_to(self, pos: QPointF) -> None: ...
    def release(self, pressed: LayerBox, pos: QPointF) -> None: ...
    def set_pair_loss(self, m: int, loss: str, on: bool) -> None: ...


class LayerBox(QGraphicsRectItem):
    """One layer; presses, drags and releases are reported to the panel (custom mode connects layers by
    dragging from a student layer to a teacher layer, or with two clicks)."""

    def __init__(self, side: str, index: int, text: str, rect: QRectF, panel: Pairing) -> None:
        super().__init__(rect)
        self.side, self.index, self.panel = side, index, panel
        self.setBrush(QBrush(QColor("#eceff1" if side == "teacher" else "#e3f2fd")))
        self.setPen(QPen(QColor("#90a4ae"), 1.2))
        label = QGraphicsSimpleTextItem(text, self)
        label.setPos(rect.x() + 10, rect.y() + (rect.height() - label.boundingRect().height()) / 2)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.panel.press(self, event.scenePos())
        event.accept()  # makes this box the mouse grabber: the move and release events come here too

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.panel.drag_to(event.scenePos())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.panel.release(self, event.scenePos())


class LossToggle(QGraphicsRectItem):
    """A small check box beside a student layer: is this pair's hidden-state (or attention) loss on?"""

    def __init__(self, m: int, loss: str, on: bool, enabled: bool, pos: QPointF, panel: Pairing) -> None:
        super().__init__(QRectF(pos.x(), pos.y(), TOGGLE, TOGGLE))
        self.m, self.loss, self.on, self.panel = m, loss, on, panel
        colour = QColor("#455a64" if enabled else "#bdbdbd")
        self.setPen(QPen(colour, 1.2))
        self.setBrush(QBrush(QColor("#ffffff")))
        if on:
            mark = QGraphicsSimpleTextItem("✓", self)
            mark.setBrush(QBrush(colour))
            mark.setPos(pos.x() + 2, pos.y() + (TOGGLE - mark.boundingRect().height()) / 2)
        label = QGraphicsSimpleTextItem(loss, self)
        label.setBrush(QBrush(colour))
        label.setPos(pos.x() + TOGGLE + 4, pos.y() + (TOGGLE - label.boundingRect().height()) / 2)
        self.setEnabled(enabled)
        self.setToolTip(f"student layer {m}: {loss} loss {'on' if on else 'off'}"
                        + ("" if enabled else f" (the {loss} loss is off for the whole mapping)"))
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.panel.set_pair_loss(self.m, self.loss, not self.on)
        event.accept()
