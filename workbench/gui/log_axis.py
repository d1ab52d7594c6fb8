"""A log axis whose tick labels never overlap and are never missing (imported with pyqtgraph, when a chart is
first built)."""

from __future__ import annotations

import math

import pyqtgraph as pg

NICE_STEPS = (1, 2, 2.5, 5)  # times a power of ten
MOST_TICKS = 6


def within_decade_ticks(low: float, high: float) -> list[float]:
    """Round values between `low` and `high` (plain numbers, high < 10 × low), a handful of them: a log axis
    within one decade has no decades and few of pyqtgraph's minor ticks to label."""
    span = high - low
    if span <= 0:
        return []
    for power in range(math.floor(math.log10(span)) - 1, math.floor(math.log10(span)) + 2):
        for nice in NICE_STEPS:
            step = nice * 10**power
            first = math.ceil(low / step - 1e-9) * step
            count = math.floor((high - first) / step + 1e-9) + 1
            if count <= MOST_TICKS:
                return [round(first + i * step, 12) for i in range(count)]
    return [low, high]


class LogAxis(pg.AxisItem):
    """A log axis whose labels never overlap: pyqtgraph labels every minor tick (0.2, 0.3, … 0.9), which run
    into each other; here decades are always labelled, 2 and 5 only where a decade has room for them. Within
    one decade (a loss between 0.05 and 0.09) it labels round values instead, where pyqtgraph shows none."""

    ROOM_FOR_2_AND_5 = 90  # pixels per decade

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 (pyqtgraph's names)
        if not self.logMode or maxVal - minVal >= 1:
            return super().tickValues(minVal, maxVal, size)
        values = within_decade_ticks(10**minVal, 10**maxVal)
        return [(None, [math.log10(v) for v in values if v > 0])]

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        low, high = self.range
        if high - low < 1:
            return [f"{round(10**value, 6):g}" for value in values]
        strings = super().logTickStrings(values, scale, spacing)
        length = self.size().height() if self.orientation in ("left", "right") else self.size().width()
        roomy = length / max(high - low, 1e-9) >= self.ROOM_FOR_2_AND_5
        return [text if self._labelled(value, roomy) else "" for value, text in zip(values, strings, strict=True)]

    @staticmethod
    def _labelled(value: float, roomy: bool) -> bool:
        if abs(value - round(value)) < 1e-6:
            return True
        mantissa = 10 ** (value % 1)
        return roomy and any(abs(mantissa - kept) < 1e-3 for kept in (2, 5))
