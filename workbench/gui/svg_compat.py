"""Make pyqtgraph's SVG exporter work with the Qt in use.

pyqtgraph 0.14's SVGExporter rewrites every <path d="..."> as space-separated "x,y" pairs and fails on the
close-path command ("Z") that Qt 6.10+ writes (pyqtgraph issue #3485): every chart with a view box fails to
export. This wraps its coordinate fix-up so that close-path tokens are taken out before and put back after.
"""

from __future__ import annotations

import sys

import pyqtgraph.exporters  # noqa: F401 (loads the SVGExporter module)

_CLOSE = ("Z", "z")


def install() -> None:
    module = sys.modules["pyqtgraph.exporters.SVGExporter"]
    original = module.correctCoordinates
    if getattr(original, "tolerates_close_path", False):
        return

    def correct_coordinates(node, defs, item, options):
        closed = []
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            if any(token in _CLOSE for token in tokens):
                path.setAttribute("d", " ".join(token for token in tokens if token not in _CLOSE))
                closed.append(path)
        result = original(node, defs, item, options)
        for path in closed:
            path.setAttribute("d", path.getAttribute("d").rstrip() + " Z")
        return result

    correct_coordinates.tolerates_close_path = True
    module.correctCoordinates = correct_coordinates
