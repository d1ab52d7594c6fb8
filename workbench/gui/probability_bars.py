"""Thin bars of one text's class probabilities, for a cell of the Try-it table."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget


class ProbabilityBars(QWidget):
    """One thin bar per class with its name and probability; the predicted class is drawn darker."""

    def __init__(self, labels: list[str], probabilities: list[float]) -> None:
        super().__init__()
        self.labels, self.probabilities = labels, probabilities
        self.setMinimumHeight(18 * len(labels) + 4)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        width = self.width()
        name_width = 80
        best = max(range(len(self.probabilities)), key=self.probabilities.__getitem__, default=-1)
        for i, (label, p) in enumerate(zip(self.labels, self.probabilities, strict=True)):
            top = 2 + 18 * i
            painter.setPen(QColor("#424242"))
            painter.drawText(QRectF(2, top, name_width - 4, 16), Qt.AlignmentFlag.AlignVCenter, label)
            bar_width = (width - name_width - 50) * p
            painter.fillRect(QRectF(name_width, top + 3, width - name_width - 50, 10), QColor("#eeeeee"))
            painter.fillRect(QRectF(name_width, top + 3, bar_width, 10), QColor("#1e88e5" if i == best else "#90caf9"))
            painter.drawText(QRectF(width - 46, top, 44, 16), Qt.AlignmentFlag.AlignVCenter, f"{p:.2f}")
