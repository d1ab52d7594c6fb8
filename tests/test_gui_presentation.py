"""Presentation mode: full screen with F11 / Esc, the three models' figures from the run's benchmark with
ratios against the PyTorch and the fused int8 teacher, "not measured" where nothing measured, copy as image."""


from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from tests.tiny_run import four_model_bench, make_tiny_run
from workbench.gui.panels.presentation import NOT_MEASURED, PresentationWindow


def texts(window) -> str:
    return "\n".join(label.text() for label in window.content.findChildren(QLabel))


def shown(qtbot, run_dir):
    window = PresentationWindow()
    qtbot.addWidget(window)
    window.show_run(str(run_dir))
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    return window


def test_full_screen_figures_with_both_teacher_ratios(qtbot, tmp_path, tiny_csv):
    run = make_tiny_run(tmp_path / "run", tiny_csv)
    four_model_bench(run)
    window = shown(qtbot, run)
    assert window.full_screen and window.geometry() == window.screen().geometry()
    shown_text = texts(window)
    assert "2.5 MiB" in shown_text and "2.0 ms" in shown_text and "76.0%" in shown_text
    assert "16.0× smaller than the teacher" in shown_text and "4.0× smaller than the int8 teacher" in shown_text
    assert "10.0× faster than the teacher" in shown_text and "5.0× faster than the int8 teacher" in shown_text
    assert "-4.0 points vs the teacher" in shown_text and NOT_MEASURED not in shown_text

    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert not window.full_screen and not window.windowState() & Qt.WindowState.WindowFullScreen
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.full_screen and window.geometry() == window.screen().geometry()
    QApplication.clipboard().clear()
    window.copy_button.click()
    assert not QApplication.clipboard().pixmap().isNull()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.isVisible()


def test_a_run_without_benchmark_says_not_measured(qtbot, tmp_path, tiny_csv):
    window = shown(qtbot, make_tiny_run(tmp_path / "run", tiny_csv))
    shown_text = texts(window)
    assert shown_text.count(NOT_MEASURED) == 9  # three figures of three models
    assert "int8 teacher" not in shown_text and "nan" not in shown_text.lower()
