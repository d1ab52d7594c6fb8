"""How the window shows a run's flags (workbench.core.run_summary.run_flags: the sanity checks, a student off
its parity gate, latency timed on a busy machine): amber, one "⚠" line each, wherever the run's numbers are."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

AMBER = "#b26a00"  # amber that stays readable on white: a flagged result is neither a success nor a failure


def flag_lines(flags: list[str]) -> str:
    return "\n".join(f"⚠ {flag}" for flag in flags)


def flag_label() -> QLabel:
    label = QLabel(wordWrap=True)
    label.setStyleSheet(f"color: {AMBER};")
    label.hide()
    return label


def show_flags(label: QLabel, flags: list[str]) -> None:
    """Fill an amber label with the flags; hidden when there are none."""
    label.setText(flag_lines(flags))
    label.setVisible(bool(flags))
