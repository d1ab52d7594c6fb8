"""Sanity checks on every result: baselines on the test split, and flags wherever a claim is not backed."""

from __future__ import annotations

import csv
import json
import random

import numpy as np

from tests.tiny import tiny_recipe, write_tiny_csv
from workbench.cli import main
from workbench.core.measure.sanity import bag_of_words_predictions, kept_share_text, sanity_checks
from workbench.core.report.document import write_report
from workbench.core.run_folder import RunFolder
from workbench.core.run_summary import run_flags

NAMES = ["negative", "neutral", "positive"]


def predictions_with_accuracy(rng, labels: np.ndarray, accuracy: float) -> np.ndarray:
    right = rng.random(len(labels)) < accuracy
    return np.where(right, labels, (labels + 1) % 3)


def splits(rng, test: int = 1000) -> dict[str, np.ndarray]:
    return {"train": rng.integers(0, 3, 3000), "dev": rng.integers(0, 3, 500), "test": rng.integers(0, 3, test)}


def codes(sanity) -> set[str]:
    return {flag["code"] for flag in sanity["flags"]}


def test_bag_of_words_learns_words_that_carry_the_label(tmp_path):
    with write_tiny_csv(tmp_path / "tiny.csv", rows=300).open() as handle:
        rows = list(csv.DictReader(handle))
    texts, labels = [r["text"] for r in rows], np.array([NAMES.index(r["sentiment"]) for r in rows])
    predicted = bag_of_words_predictions(texts[:200], labels[:200], texts[200:], 3)
    assert (predicted == labels[200:]).mean() > 0.9


def test_a_healthy_result_has_no_flag_and_its_share_of_the_teacher_carries_an_interval():
    rng = np.random.default_rng(0)
    labels = splits(rng)
    teacher = predictions_with_accuracy(rng, labels["test"], 0.85)
    student = np.where(rng.random(1000) < 0.97, teacher, (teacher + 1) % 3)
    sanity = sanity_checks(labels, NAMES, teacher, student, predictions_with_accuracy(rng, labels["test"], 0.6))
    assert sanity["flags"] == []
    share = sanity["kept_share"]
    assert share["low"] < share["share"] < share["high"]
    text = kept_share_text(sanity["student_vs_teacher"]["accuracy"], 0.85, 1000, sanity)
    assert "of the teacher's accuracy (95 % CI" in text and "flag" not in text


def test_a_teacher_at_the_majority_rate_is_flagged_and_its_share_is_no_success():
    rng = np.random.default_rng(1)
    labels = splits(rng)
    labels["train"][:2000] = 0
    teacher = np.zeros(1000, dtype=int)  # always the majority class
    student = predictions_with_accuracy(rng, labels["test"], 0.38)
    sanity = sanity_checks(labels, NAMES, teacher, student, np.zeros(1000, dtype=int))
    assert "teacher_at_baseline" in codes(sanity)
    assert "always 'negative'" in sanity["flags"][0]["message"]
    assert kept_share_text(0.38, 0.33, 1000, sanity).endswith("but the teacher is flagged: see below")


def test_a_student_above_its_teacher_beyond_noise_flags_an_under_trained_teacher():
    rng = np.random.default_rng(2)
    labels = splits(rng)
    teacher = predictions_with_accuracy(rng, labels["test"], 0.70)
    student = np.where(teacher == labels["test"], teacher, np.where(rng.random(1000) < 0.4, labels["test"], teacher))
    sanity = sanity_checks(labels, NAMES, teacher, student, predictions_with_accuracy(rng, labels["test"], 0.4))
    assert codes(sanity) == {"teacher_under_trained"}


def test_a_small_test_split_and_a_missing_class_are_flagged():
    rng = np.random.default_rng(3)
    labels = splits(rng, test=30)
    labels["test"] = np.where(labels["test"] == 2, 0, labels["test"])  # no 'positive' in the test split
    teacher = labels["test"].copy()
    student = teacher.copy()
    student[:2] = (student[:2] + 1) % 3  # "6.7 points below the teacher", on 30 examples
    sanity = sanity_checks(labels, NAMES, teacher, student, np.ones(30, dtype=int))
    assert {"split_too_small", "class_missing"} <= codes(sanity)
    assert any("'positive' is missing from the test split" in f["message"] for f in sanity["flags"])


def shuffled_csv(source, target):
    """The tiny CSV with its labels shuffled at random: no teacher can learn it."""
    with source.open() as handle:
        rows = list(csv.DictReader(handle))
    labels = [r["sentiment"] for r in rows]
    random.Random(0).shuffle(labels)
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["sentiment", "text"])
        writer.writeheader()
        writer.writerows({"sentiment": label, "text": r["text"]} for label, r in zip(labels, rows, strict=True))
    return target


def test_a_job_on_shuffled_labels_ends_with_the_flag_in_its_folder_and_closing_lines(tiny_base_dir, tiny_csv,
                                                                                     tmp_path, capsys):
    data = shuffled_csv(tiny_csv, tmp_path / "shuffled.csv")
    recipe = tiny_recipe(tiny_base_dir, data, tmp_path / "runs").save(tmp_path / "recipe.yaml")
    assert main(["run", str(recipe)]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    run = RunFolder.open(summary["run_dir"])
    sanity = json.loads(run.sanity_path.read_text())
    assert "teacher_at_baseline" in codes(sanity) and summary["flags"]
    closing = [f"⚠ {flag}" for flag in run_flags(run)]  # the summary's, and noisy latency when it was
    assert err.splitlines()[-len(closing):] == closing and closing[0].startswith("⚠ The teacher is no better")
    assert run.status()["summary"]["flags"] == summary["flags"]
    page = write_report(run.path).read_text()
    start = page.index('<p class="headline flagged">')  # amber, not the green of a success
    headline = page[start:page.index('<p class="muted">', start)]
    assert "but the teacher is flagged: see below" in headline and "⚠ The teacher is no better" in headline
