"""Classification metrics from predictions: accuracy, macro-F1, per-class precision / recall, confusion
matrix, and agreement between two models' predictions."""

from __future__ import annotations

from typing import Any

import numpy as np


def classification_metrics(labels: np.ndarray, predictions: np.ndarray, label_names: list[str]) -> dict[str, Any]:
    classes = len(label_names)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    true_positive = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros(classes), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros(classes), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(classes), where=denominator > 0)
    return {
        "accuracy": float(true_positive.sum() / max(len(labels), 1)),
        "macro_f1": float(f1.mean()),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(actual[i])}
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": confusion.tolist(),
        "examples": int(len(labels)),
    }


def agreement(first: np.ndarray, second: np.ndarray) -> float:
    """Share of examples on which two models predict the same label."""
    return float((first == second).mean()) if len(first) else 0.0
