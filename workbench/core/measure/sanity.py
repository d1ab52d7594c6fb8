"""Sanity checks on every result: is the comparison of student and teacher worth showing?

A job computes, on the test split, what a trivial model scores (always the training split's majority class, and
a bag-of-words logistic regression, seconds on a CPU), and raises a flag, in words a stakeholder reads, when:
- the teacher is no better than that baseline (it learned nothing, so "X % of the teacher" means nothing);
- the student is above its teacher beyond noise (the teacher is under-trained);
- the test split is too small for the difference claimed (the interval is wider than the gap, and wide);
- a class is missing from a split.
RUN/sanity.json holds the baselines, the student-teacher difference with its interval and the flags; the CLI,
the report, the runs list, Try it and presentation mode show the flags wherever the numbers appear.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import numpy as np
from scipy.stats import norm

from workbench.core.paired import PairedDifference, paired_difference

VOCABULARY = 5000  # bag-of-words features: the training split's most frequent words
WIDE = 0.05  # a 95 % interval of the difference wider than ±5 points, and wider than the gap, cannot back it


def bag_of_words_predictions(train_texts: list[str], train_labels: np.ndarray, texts: list[str],
                             classes: int) -> np.ndarray:
    """A multinomial logistic regression on which words occur (L2-regularised, fitted by scipy's L-BFGS)."""
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix, hstack

    counts = Counter(word for text in train_texts for word in set(_words(text)))
    index = {word: i for i, (word, _) in enumerate(counts.most_common(VOCABULARY))}

    def features(batch: list[str]) -> csr_matrix:
        rows, columns = [], []
        for row, text in enumerate(batch):
            found = {index[w] for w in _words(text) if w in index}
            rows += [row] * len(found)
            columns += sorted(found)
        words = csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(batch), len(index)))
        return hstack([words, np.ones((len(batch), 1))]).tocsr()  # the last column: a bias

    x, targets = features(train_texts), np.eye(classes)[train_labels]
    strength = 1.0 / max(len(train_texts), 1)

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights = flat.reshape(x.shape[1], classes)
        logits = x @ weights
        logits -= logits.max(1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        value = -(targets * log_p).sum() / x.shape[0] + strength * (weights**2).sum()
        gradient = x.T @ (np.exp(log_p) - targets) / x.shape[0] + 2 * strength * weights
        return float(value), np.asarray(gradient).ravel()

    fitted = minimize(loss, np.zeros(x.shape[1] * classes), jac=True, method="L-BFGS-B", options={"maxiter": 200})
    return np.asarray(features(texts) @ fitted.x.reshape(x.shape[1], classes)).argmax(1)


def sanity_checks(labels: dict[str, np.ndarray], label_names: list[str], teacher: np.ndarray, student: np.ndarray,
                  bag_of_words: np.ndarray) -> dict[str, Any]:
    """The test split's baselines and flags; `labels` by split (train, dev, test), predictions on test."""
    test = labels["test"]
    majority = int(np.bincount(labels["train"], minlength=len(label_names)).argmax())
    baselines = {"majority": (f"always '{label_names[majority]}'", np.full_like(test, majority)),
                 "bag_of_words": ("a bag-of-words model", bag_of_words)}
    scores = {key: float((predicted == test).mean()) for key, (_, predicted) in baselines.items()}
    best = max(scores, key=scores.get)
    against_baseline = paired_difference(baselines[best][1] == test, teacher == test)
    gap = paired_difference(teacher == test, student == test)
    flags = []
    if not (against_baseline.significant and against_baseline.difference > 0):
        flags.append({"code": "teacher_at_baseline", "message": (
            f"The teacher is no better than a trivial baseline: {against_baseline.accuracy:.1%} on the test split "
            f"against {scores[best]:.1%} for {baselines[best][0]}, not clearly above it; until the teacher beats "
            "that, keeping its accuracy says little about the student.")})
    if gap.significant and gap.difference > 0:
        flags.append({"code": "teacher_under_trained", "message": (
            f"The student beats its teacher beyond noise ({gap.interval_text}): the teacher looks under-trained; "
            "train it longer before trusting the comparison.")})
    if (gap.high - gap.low) / 2 > max(abs(gap.difference), WIDE):
        flags.append({"code": "split_too_small", "message": (
            f"The test split ({len(test)} examples) is too small for the difference claimed: student against "
            f"teacher {gap.interval_text}.")})
    for split, values in labels.items():
        missing = [name for i, name in enumerate(label_names) if not (values == i).any()]
        if missing:
            flags.append({"code": "class_missing", "message": (
                f"Class {', '.join(repr(m) for m in missing)} is missing from the {split} split.")})
    return {"split": "test", "examples": int(len(test)),
            "baselines": {key: {"accuracy": scores[key], "what": baselines[key][0]} for key in baselines},
            "student_vs_teacher": _difference(gap), "teacher_vs_baseline": _difference(against_baseline),
            "kept_share": share_of_teacher(gap.accuracy, gap.reference_accuracy, len(test)), "flags": flags}


def share_of_teacher(accuracy: float, teacher_accuracy: float, examples: int) -> dict[str, float]:
    """Accuracy as a share of the teacher's with a 95 % interval. The two scores are treated as independent:
    wider than the paired interval, but it needs only the two accuracies, so that every screen gives any model
    (PyTorch, int8, int4) the same interval for the same numbers. {} when the teacher scored 0."""
    if not teacher_accuracy or not examples:
        return {}
    spread = (accuracy * (1 - accuracy) + teacher_accuracy * (1 - teacher_accuracy)) / examples
    half = norm.ppf(0.975) * math.sqrt(spread)
    return {"share": accuracy / teacher_accuracy, "low": (accuracy - half) / teacher_accuracy,
            "high": (accuracy + half) / teacher_accuracy}


def kept_share_text(accuracy: float, teacher_accuracy: float, examples: int, sanity: dict[str, Any] | None) -> str:
    """"98.7 % of the teacher's accuracy (95 % CI 96.1–101.2 %)", never a plain success when the teacher is
    flagged; or why no share is given."""
    share = share_of_teacher(accuracy, teacher_accuracy, examples)
    if not share:  # a share is never given without its interval
        why = "the teacher scored 0" if not teacher_accuracy else "the test split's size is unknown"
        return f"test accuracy {accuracy:.1%} vs the teacher's {teacher_accuracy:.1%} (no share given: {why})"
    text = f"{share['share']:.1%} of the teacher's accuracy (95 % CI {share['low']:.1%}–{share['high']:.1%})"
    return text + (", but the teacher is flagged: see below" if teacher_flagged(sanity or {}) else "")


def teacher_flagged(sanity: dict[str, Any]) -> bool:
    return any(f.get("code") in ("teacher_at_baseline", "teacher_under_trained") for f in sanity.get("flags", []))


def flag_messages(sanity: dict[str, Any]) -> list[str]:
    return [str(f.get("message", "")) for f in sanity.get("flags", []) if isinstance(f, dict)]


def _difference(difference: PairedDifference) -> dict[str, float]:
    return {"reference_accuracy": difference.reference_accuracy, "accuracy": difference.accuracy,
            "difference": difference.difference, "low": difference.low, "high": difference.high,
            "p_value": difference.p_value}


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())
