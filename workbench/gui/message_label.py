"""Status and message lines that wrap and never widen the window: a long message (a refused Deploy's path,
a core error) is cut to a few lines, with the whole text in its tooltip."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

MAX_CHARS = 280  # about three lines of a 1280-pixel window


def message_label(text: str = "") -> QLabel:
    """A word-wrapped rich-text label whose width the layout decides (its text never asks for more)."""
    label = QLabel(text, wordWrap=True, textFormat=Qt.TextFormat.RichText)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(1)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def elided(text: str, limit: int = MAX_CHARS) -> str:
    """`text` cut in the middle to at most `limit` characters: its start says what, its end says where."""
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return f"{text[:half]}…{text[-(limit - 1 - half):]}"


def show_message(label: QLabel, message: str, prefix: str = "", colour: str | None = None) -> None:
    """Plain `message` after rich-text `prefix`, escaped and elided; the whole message as the tooltip."""
    # A zero-width space after each slash lets a long path wrap there instead of running off the label.
    body = prefix + html.escape(elided(message), quote=False).replace("/", "/\u200b")
    label.setText(f"<span style='color:{colour}'>{body}</span>" if colour else body)
    plain = re.sub(r"<[^>]+>", "", prefix)
    label.setToolTip(f"{html.unescape(plain)}{message}" if len(message) > MAX_CHARS else "")
