"""The step list on the window's left: each step's number and name, a mark saying whether it is valid (its
problems in the tooltip) and, below, a grey line with what the step would change."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from workbench.gui.steps import StepState

SUMMARY_ROLE, VALID_ROLE = Qt.ItemDataRole.UserRole + 1, Qt.ItemDataRole.UserRole + 2
VALID_MARK, PROBLEM_MARK = "✓", "⚠"
MARK_COLOURS = {True: QColor("#2e7d32"), False: QColor("#c62828")}


class _StepDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(option.rect.width(), 2 * option.fontMetrics.height() + 16)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        if selected:
            painter.fillRect(option.rect, option.palette.highlight())
        text_colour = option.palette.highlightedText().color() if selected else option.palette.text().color()
        box = option.rect.adjusted(8, 5, -6, -5)
        line = option.fontMetrics.height()
        name_font = QFont(option.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(text_colour)
        painter.drawText(QRect(box.left(), box.top(), box.width() - 20, line), Qt.AlignmentFlag.AlignVCenter,
                         index.data(Qt.ItemDataRole.DisplayRole))
        valid = index.data(VALID_ROLE)
        if valid is not None:
            painter.setPen(text_colour if selected else MARK_COLOURS[bool(valid)])
            painter.drawText(QRect(box.right() - 18, box.top(), 18, line), Qt.AlignmentFlag.AlignCenter,
                             VALID_MARK if valid else PROBLEM_MARK)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.85))
        painter.setFont(small)
        painter.setPen(text_colour if selected else QColor("#757575"))
        summary = painter.fontMetrics().elidedText(index.data(SUMMARY_ROLE) or "", Qt.TextElideMode.ElideRight,
                                                   box.width())
        painter.drawText(QRect(box.left(), box.top() + line + 2, box.width(), line), Qt.AlignmentFlag.AlignVCenter,
                         summary)
        painter.restore()


class StepList(QListWidget):
    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names
        for number, name in enumerate(names, start=1):
            self.addItem(QListWidgetItem(f"{number}  {name}"))
        self.setItemDelegate(_StepDelegate(self))
        self.setFixedWidth(215)
        self.setStyleSheet("QListWidget { font-size: 14px; }")

    def show_state(self, name: str, state: StepState) -> None:
        item = self.item(self.names.index(name))
        item.setData(SUMMARY_ROLE, state.summary)
        item.setData(VALID_ROLE, state.valid)
        tip = "\n".join(f"⚠ {p}" for p in state.problems) if state.problems else "no problems"
        item.setToolTip(f"{state.summary}\n{tip}" if state.summary else tip)

    def state_of(self, name: str) -> tuple[bool, str]:
        """(valid, tooltip) as shown: what tests and screenshots read."""
        item = self.item(self.names.index(name))
        return bool(item.data(VALID_ROLE)), item.toolTip()
