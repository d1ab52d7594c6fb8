"""Presentation view: the three models' size, latency and test accuracy in large type, for a projector."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from workbench.core.measure.inference import TEACHER


def _big(text: str, size: int, colour: str = "#212121", bold: bool = False) -> QLabel:
    label = QLabel(text)
    font = QFont()
    font.setPointSize(size)
    font.setBold(bold)
    label.setFont(font)
    label.setStyleSheet(f"color: {colour};")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


def ratio_lines(figures: dict[str, dict[str, float | None]], name: str) -> dict[str, str]:
    """'7.9× smaller', '3.1× faster', '-1.2 points' against the teacher."""
    teacher, model = figures.get(TEACHER, {}), figures[name]
    lines = {"size": "", "latency": "", "accuracy": ""}
    if name == TEACHER:
        return {key: "reference" for key in lines}
    if teacher.get("size") and model.get("size"):
        smaller = teacher["size"] / model["size"]
        lines["size"] = f"{smaller:.1f}× smaller" if smaller >= 1 else f"{1 / smaller:.1f}× larger"
    if teacher.get("latency") and model.get("latency"):
        speedup = teacher["latency"] / model["latency"]
        lines["latency"] = f"{speedup:.1f}× faster" if speedup >= 1 else f"{1 / speedup:.1f}× slower"
    if teacher.get("accuracy") is not None and model.get("accuracy") is not None:
        lines["accuracy"] = f"{100 * (model['accuracy'] - teacher['accuracy']):+.1f} points"
    return lines


class PresentationDialog(QDialog):
    def __init__(self, figures: dict[str, dict[str, float | None]], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("TinyBERT Workbench — presentation")
        self.setStyleSheet("background: white;")
        grid = QGridLayout()
        grid.setHorizontalSpacing(48)
        rows = (("size", "Size", "{:.1f} MiB"), ("latency", "Latency", "{:.1f} ms"),
                ("accuracy", "Test accuracy", "{:.1%}"))
        for row, (_, title, _) in enumerate(rows, start=1):
            grid.addWidget(_big(title, 18, "#757575"), row * 2 - 1, 0, 2, 1)
        for column, (name, values) in enumerate(figures.items(), start=1):
            grid.addWidget(_big(name, 24, str(values.get("colour") or "#212121"), bold=True), 0, column)
            ratios = ratio_lines(figures, name)
            for row, (key, _, fmt) in enumerate(rows, start=1):
                value = values.get(key)
                grid.addWidget(_big(fmt.format(value) if value is not None else "n/a", 40, bold=True),
                               row * 2 - 1, column)
                worse = any(word in ratios[key] for word in ("slower", "larger")) or ratios[key].startswith("-")
                grid.addWidget(_big(ratios[key], 16, "#c62828" if worse else "#2e7d32"), row * 2, column)
        if not figures:
            grid.addWidget(_big("Classify some text in Try it first.", 24), 0, 0)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        copy = QPushButton("Copy as image")
        copy.clicked.connect(lambda: QApplication.clipboard().setPixmap(self.grab()))
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons.addWidget(copy)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(grid, 1)
        layout.addLayout(buttons)
        self.resize(1100, 650)
