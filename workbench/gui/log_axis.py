"""A log axis whose tick labels never overlap (imported with pyqtgraph, when a chart is first built)."""

from __future__ import annotations

import pyqtgraph as pg


class LogAxis(pg.AxisItem):
    """A log axis whose labels never overlap: pyqtgraph labels every minor tick (0.2, 0.3, … 0.9), which run
    into each other; here decades are always labelled, 2 and 5 only where a decade has room for them."""

    ROOM_FOR_2_AND_5 = 90  # pixels per decade

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        strings = super().logTickStrings(values, scale, spacing)
        low, high = self.range
        length = self.size().height() if self.orientation in ("left", "right") else self.size().width()
        roomy = length / max(high - low, 1e-9) >= self.ROOM_FOR_2_AND_5
        return [text if self._labelled(value, roomy) else "" for value, text in zip(values, strings, strict=True)]

    @staticmethod
    def _labelled(value: float, roomy: bool) -> bool:
        if abs(value - round(value)) < 1e-6:
            return True
        mantissa = 10 ** (value % 1)
        return roomy and any(abs(mantissa - kept) < 1e-3 for kept in (2, 5))
