"""Render resources/icons/tinybert-workbench.svg to the PNG sizes desktops ask for.

Run after editing the SVG: `.venv/bin/python packaging/render_icons.py`. The PNGs are committed so that
neither the app nor the package build needs an SVG renderer.
"""

from __future__ import annotations

import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
NAME = "tinybert-workbench"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS / f"{NAME}-{size}.png"


def render(size: int) -> Path:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(ICONS / f"{NAME}.svg")).render(painter)
    painter.end()
    if not image.save(str(png_path(size))):
        raise OSError(f"cannot write {png_path(size)}")
    return png_path(size)


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0], "-platform", "offscreen"])  # noqa: F841
    for size in SIZES:
        print(render(size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
