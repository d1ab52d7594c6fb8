"""Two models scored on the same examples: the difference in accuracy with its 95 % confidence interval and
McNemar's exact test. The quality gate (an artifact against its PyTorch model) and the sanity checks (the
student against its teacher) both ask "is this difference real, or noise of a finite split?".

McNemar looks only at the discordant examples (one model right, the other wrong): under "no difference" each
falls either way with probability 1/2, so scipy's exact binomial test on their split gives the p-value. The
interval is the Wald interval of the paired difference with Agresti and Min's (2005) half an example added to
each cell, so that it never collapses to a point on a small split with no discordant examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, norm

ALPHA = 0.05


@dataclass(frozen=True)
class PairedDifference:
    examples: int
    reference_accuracy: float
    accuracy: float
    difference: float  # accuracy - reference_accuracy, a share (0.02 is 2 points)
    low: float  # the 95 % confidence interval of the difference
    high: float
    p_value: float  # McNemar exact, two-sided
    worse: int  # examples the reference gets right and this model wrong
    better: int  # the other way round

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    @property
    def significantly_worse(self) -> bool:
        """Whether this model is worse than the reference beyond the noise of the split: the verdict the parity
        gate gives an artifact and the int8 guard works to avoid."""
        return significantly_worse(self.difference, self.p_value)

    @property
    def interval_text(self) -> str:
        """'+1.5 points (95 % CI -0.3..+3.3)'."""
        return f"{100 * self.difference:+.1f} points (95 % CI {100 * self.low:+.1f}..{100 * self.high:+.1f})"


def significantly_worse(difference: float | None, p_value: float | None) -> bool:
    """A negative accuracy difference that McNemar's test says is real."""
    return difference is not None and p_value is not None and p_value < ALPHA and difference < 0


def paired_difference(reference_correct: np.ndarray, correct: np.ndarray) -> PairedDifference:
    """The accuracy difference of a model against a reference, from which examples each got right."""
    reference_correct, correct = np.asarray(reference_correct, bool), np.asarray(correct, bool)
    n = len(correct)
    worse = int((reference_correct & ~correct).sum())
    better = int((~reference_correct & correct).sum())
    p_value = binomtest(worse, worse + better, 0.5).pvalue if worse + better else 1.0
    adjusted_n, adjusted_worse, adjusted_better = n + 2, worse + 0.5, better + 0.5
    centre = (adjusted_better - adjusted_worse) / adjusted_n
    variance = ((adjusted_better + adjusted_worse) / adjusted_n - centre**2) / adjusted_n
    half = norm.ppf(1 - ALPHA / 2) * math.sqrt(max(variance, 0.0))
    return PairedDifference(n, float(reference_correct.mean()) if n else 0.0, float(correct.mean()) if n else 0.0,
                            (better - worse) / n if n else 0.0, max(centre - half, -1.0), min(centre + half, 1.0),
                            float(p_value), worse, better)
