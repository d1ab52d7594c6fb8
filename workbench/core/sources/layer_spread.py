"""The one rounding rule for spreading M student layers over N teacher layers.

Both the student initialiser (which teacher layers to copy) and the uniform layer mapping (which teacher
layer each student layer learns from) use it, so that a copied layer is distilled toward its own source.
"""

from __future__ import annotations


def spread_layers(student_layers: int, teacher_layers: int) -> list[int]:
    """g(m) = m * N / M rounded half up, for m = 1..M: 3 of 6 gives [2, 4, 6], 4 of 6 gives [2, 3, 5, 6].

    In integers (2 m N + M) // (2 M); since N / M >= 1 the result is strictly increasing and g(M) = N."""
    if not 1 <= student_layers <= teacher_layers:
        raise ValueError(f"cannot pick {student_layers} distinct layers out of {teacher_layers}")
    return [(2 * m * teacher_layers + student_layers) // (2 * student_layers) for m in range(1, student_layers + 1)]
