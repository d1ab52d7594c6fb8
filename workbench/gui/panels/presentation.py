"""Presentation mode: a run's teacher, student and int8 student in large type, full screen, for a projector.

Size, batch-1 latency and test accuracy come from the run's benchmark results (RUN/bench.json, with
evaluation.json for accuracy), each with its ratio against the PyTorch teacher and, when the benchmark
measured it, against the teacher fused to int8 without distillation: the figure a sceptical audience
compares with. Anything not measured says so. F11 toggles full screen, Esc leaves, "Copy as image" puts
the figures on the clipboard for a slide.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.core.api import failed_artifacts, run_flags
from workbench.core.run_folder import INT8_STUDENT, RunFolder, read_json
from workbench.gui.bench_figures import (
    GREY,
    STUDENT,
    STUDENT_INT8,
    TEACHER,
    TEACHER_INT8,
    Figures,
    cell_lines,
    run_figures,
)
from workbench.gui.charts import colour_for
from workbench.gui.flags import AMBER, flag_lines

NOT_MEASURED = "not measured"
MODELS = (TEACHER, STUDENT, STUDENT_INT8)
ROWS = (("size_mib", "Size", "{:.1f} MiB"), ("latency_ms", "Latency (batch 1)", "{:.1f} ms"),
        ("accuracy", "Test accuracy", "{:.1%}"))


class PresentationWindow(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("TinyBERT Workbench — presentation")
        self.setStyleSheet("background: white; color: #212121;")
        self.figures: dict[str, Figures] = {}
        self.flags: list[str] = []  # the run's flags (run_flags), said above its figures
        self.bench: dict = {}
        self.int8_failed = False
        self.full_screen = False  # ours: setting the geometry by hand clears Qt's full-screen state
        self.content = QWidget()
        self.copy_button = QPushButton("Copy as image")
        self.copy_button.clicked.connect(self.copy_image)
        close = QPushButton("Close (Esc)")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("F11: full screen on / off"))
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.content, 1)
        layout.addLayout(buttons)
        QShortcut(QKeySequence("F11"), self, self.toggle_full_screen)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)

    def show_run(self, run_dir: str | None, seq_len: int | None = None) -> None:
        """Fill with the run's figures and go full screen on the screen the window is on."""
        self.figures = run_figures(run_dir, seq_len) if run_dir else {}
        run = RunFolder(Path(run_dir)) if run_dir else None
        self.flags = run_flags(run) if run else []
        self.bench = read_json(run.bench_path) if run else {}
        self.int8_failed = bool(run) and INT8_STUDENT in failed_artifacts(read_json(run.parity_path))
        self._build(Path(run_dir).name if run_dir else None)
        self._full_screen()
        self.raise_()
        self.activateWindow()

    def toggle_full_screen(self) -> None:
        if self.full_screen:
            self.full_screen = False
            self.showNormal()
            self.resize(1280, 720)
        else:
            self._full_screen()

    def _full_screen(self) -> None:
        self.full_screen = True
        self.showFullScreen()
        screen = self.screen().geometry() if self.screen() else None
        if screen is not None and self.geometry() != screen:  # no window manager (a bare X server) resized it
            self.setGeometry(screen)

    def copy_image(self) -> None:
        QApplication.clipboard().setPixmap(self.content.grab())

    # -- layout ----------------------------------------------------------------------------------------------

    def _font(self, scale: float, bold: bool = False) -> QFont:
        """Type sized to the screen: readable from the back of a room at 1280x720 and larger."""
        screen = self.screen().geometry() if self.screen() else None
        # A 16:9 share of the screen: narrow screens get smaller type, not a window wider than the screen.
        height = min(screen.height(), screen.width() * 9 / 16) if screen else 720
        font = QFont()
        font.setPixelSize(max(12, int(height * scale)))
        font.setBold(bold)
        return font

    def _label(self, text: str, scale: float, colour: str = "#212121", bold: bool = False) -> QLabel:
        label = QLabel(text)
        label.setFont(self._font(scale, bold))
        label.setStyleSheet(f"color: {colour};")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)  # long ratio lines wrap rather than widen the window past the screen
        return label

    def _build(self, run_name: str | None) -> None:
        old = self.content.layout()
        if old is not None:
            QWidget().setLayout(old)  # re-parents the old layout and its labels away, to be deleted with it
        grid = QGridLayout(self.content)
        grid.setHorizontalSpacing(40)
        if not self.figures:
            grid.addWidget(self._label("Pick a finished run in Try it or Runs first.", 0.045), 0, 0)
            return
        grid.addWidget(self._label(f"TinyBERT Workbench · {run_name}", 0.035, GREY), 0, 0, 1, len(MODELS) + 1)
        if self.flags:  # said first, in amber: these figures are not a result to celebrate
            grid.addWidget(self._label("Not a result to present as it stands:<br>" + flag_lines(self.flags).replace(
                "\n", "<br>"), 0.022, AMBER), 1, 0, 1, len(MODELS) + 1)
        for column, name in enumerate(MODELS, start=1):
            failed = name == STUDENT_INT8 and self.int8_failed  # shown for reference, never as the hero
            grid.addWidget(self._label(f"{name}<br>(not shipped: failed its parity check)" if failed else name,
                                       0.045 if not failed else 0.03, GREY if failed else colour_for(name, column),
                                       bold=True), 2, column)
        for row, (key, title, fmt) in enumerate(ROWS, start=1):
            grid.addWidget(self._label(title, 0.032, GREY), 2 * row + 1, 0, 2, 1)
            for column, name in enumerate(MODELS, start=1):
                value = getattr(self.figures[name], key)
                grid.addWidget(self._label(fmt.format(value) if value is not None else NOT_MEASURED,
                                           0.06 if value is not None else 0.035, bold=value is not None),
                               2 * row + 1, column)
                # With a flag on the run, or on this model, no ratio is drawn green as a success.
                muted = bool(self.flags) or (name == STUDENT_INT8 and self.int8_failed)
                lines = "<br>".join(f"<span style='color:{GREY if muted else c}'>{t}</span>"
                                    for t, c in cell_lines(key, name, self.figures))
                grid.addWidget(self._label(lines, 0.024), 2 * row + 2, column)
        grid.addWidget(self._label(self._basis(), 0.02, GREY), 2 * len(ROWS) + 3, 0, 1, len(MODELS) + 1)

    def _basis(self) -> str:
        if all(f.latency_ms is None for f in self.figures.values()):
            return "No benchmark in this run yet: Runs → Benchmark measures it."
        int8_teacher = ("; int8 teacher: the teacher fused to int8 without distillation"
                        if self.figures[TEACHER_INT8].latency_ms is not None else "")
        machine = self.bench.get("machine") or {}
        hardware = machine.get("hardware") or machine.get("platform", "this machine")
        where = f" on {hardware}, {self.bench.get('threads', '?')} threads"
        return f"Measured by the run's benchmark (bench.json){where}: median latency at batch 1{int8_teacher}."
