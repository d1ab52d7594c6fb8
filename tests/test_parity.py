"""The parity check passes exported models and fails loudly on a corrupted one."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from tests.tiny_onnx import change_initializer, write_decisive_classifier, write_int8_onnx
from tests.tiny_run import make_tiny_run
from workbench.core.compress.export import export_run
from workbench.core.compress.parity import check_parity, check_run, compare
from workbench.core.recipe import QuantizationConfig
from workbench.core.sources.split_inputs import encode_batches, load_split, load_tokenizer_from


@pytest.fixture(scope="module")
def exported_run(tiny_csv, tmp_path_factory):
    run = make_tiny_run(tmp_path_factory.mktemp("runs") / "run", tiny_csv)
    export_run(run, dev=load_split(run, "dev"))
    return run


def test_exported_artifacts_pass_and_parity_json_is_written(exported_run):
    results = check_run(exported_run, dev=load_split(exported_run, "dev"))
    assert {r.artifact for r in results} == {"teacher-fp32.onnx", "teacher-fused.onnx", "teacher-int8.onnx",
                                             "student-fp32.onnx", "student-fused.onnx", "student-int8.onnx"}
    assert all(r.ok for r in results), [r.message for r in results]
    assert all(r.examples == 24 for r in results)  # the whole dev split of the tiny recipe
    written = json.loads((exported_run / "onnx" / "parity.json").read_text())
    assert written["all_ok"] and len(written["results"]) == 6


def corrupt(source, target, change) -> None:
    model = onnx.load(str(source))
    weight = next(t for t in model.graph.initializer if t.name == "classifier.weight")
    weight.CopyFrom(numpy_helper.from_array(change(numpy_helper.to_array(weight)), weight.name))
    onnx.save(model, str(target))


@pytest.mark.parametrize("change", [lambda w: -100 * w, lambda w: np.full_like(w, np.nan)],
                         ids=["flipped-and-scaled", "nan"])
def test_corrupted_model_fails_loudly(exported_run, tmp_path, change):
    corrupted = tmp_path / "student-corrupted.onnx"
    corrupt(exported_run / "onnx" / "student-fp32.onnx", corrupted, change)
    split = load_split(exported_run, "dev")
    batches = encode_batches(split.texts, load_tokenizer_from(exported_run / "student"), split.max_length, 8)
    result = check_parity(corrupted, exported_run / "student", batches, QuantizationConfig(), labels=split.labels)
    assert not result.ok and result.verdict == "broken"
    assert "BROKEN" in result.message and ("|Δlogit|" in result.message or "NaN" in result.message)


def test_compare_names_each_failure_and_rejects_mismatched_shapes():
    config = QuantizationConfig(max_logit_delta=0.1, min_agreement=0.9)
    expected = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 3.0]])
    swapped = compare("m.onnx", "student", expected, expected[:, ::-1], config)
    assert swapped.verdict == "broken" and "beyond quantization noise" in swapped.message
    shape = compare("m.onnx", "student", expected, expected[:1], config)
    assert shape.verdict == "broken" and "output shape (1, 2) differs from PyTorch's (4, 2)" in shape.message
    nan = compare("m.onnx", "student", expected, np.full_like(expected, np.nan), config)
    assert nan.verdict == "broken" and "NaN or infinite logits on 4 examples" in nan.message
    assert compare("m.onnx", "student", expected, expected + 0.05, config).verdict == "equivalent"


def test_int4_is_held_to_its_own_bound_and_everything_else_to_int8s():
    config = QuantizationConfig(max_logit_delta=0.5, int4_max_logit_delta=1.5)
    expected = np.array([[2.0, 0.0], [0.0, 2.0]])
    off_by_one = expected + np.array([[1.0, 0.0], [0.0, 0.0]])  # same labels, one logit 1.0 away
    assert compare("student-int4.onnx", "student", expected, off_by_one, config).ok
    assert not compare("student-int8.onnx", "student", expected, off_by_one, config).ok
    assert not compare("student-int4.onnx", "student", expected, expected[:, ::-1], config).ok  # labels swapped


def scored_logits(rng, margins: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Reference logits whose top label is `predicted`, ahead of the runner-up by `margins`."""
    logits = rng.normal(0.0, 1.0, (len(margins), classes))
    rows = np.arange(len(margins))
    logits[rows, predicted] = -np.inf
    logits[rows, predicted] = logits.max(-1) + margins
    return logits


def flip(expected: np.ndarray, actual: np.ndarray, rows: np.ndarray) -> None:
    """Move the reference's top two logits of `rows` just past each other in `actual` (what rounding does to a
    near-tie)."""
    order = np.argsort(expected[rows], -1)
    top, second = order[:, -1], order[:, -2]
    middle = (actual[rows, top] + actual[rows, second]) / 2
    actual[rows, top], actual[rows, second] = middle - 1e-3, middle + 1e-3


def test_quick_demo_int8_teacher_with_one_logit_moved_by_075_is_equivalent():
    """Issue 22, case 1: 500 dev examples, 3 classes, accuracy 0.775; one example's logit moved by 0.75."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 500)
    predicted = np.where(rng.random(500) < 0.775, labels, (labels + 1) % 3)
    expected = scored_logits(rng, rng.uniform(0.05, 4.0, 500), predicted, 3)
    actual = expected + rng.normal(0, 0.03, expected.shape)
    actual[7] = expected[7]
    actual[7, 0] += 0.75
    result = compare("teacher-int8.onnx", "teacher", expected, actual, QuantizationConfig(), labels)
    assert result.verdict == "equivalent" and result.ok, result.message
    assert result.max_logit_delta == pytest.approx(0.75) and result.noise < 0.1  # reported, not judged


def test_review_csv_int8_student_at_0987_agreement_and_max_080_is_equivalent():
    """Issue 22, case 2: two classes, fp32 accuracy 0.821, int8 0.8195, agreement 0.987, max |Δlogit| 0.80."""
    rng = np.random.default_rng(2)
    n = 2000
    labels = rng.integers(0, 2, n)
    correct = rng.permutation(np.arange(n) < 1642)
    margins = np.abs(rng.normal(0, 3, n)) + 0.5
    right_ties, wrong_ties = np.flatnonzero(correct)[:15], np.flatnonzero(~correct)[:12]
    ties = np.concatenate([right_ties, wrong_ties])
    margins[ties] = rng.uniform(0.02, 0.3, len(ties))
    expected = scored_logits(rng, margins, np.where(correct, labels, 1 - labels), 2)
    actual = expected + rng.normal(0, 0.08, expected.shape)
    flip(expected, actual, ties)
    decisive = np.setdiff1d(np.arange(n), ties)[0]
    actual[decisive] = expected[decisive]
    actual[decisive, expected[decisive].argmax()] += 0.80
    result = compare("student-int8.onnx", "student", expected, actual, QuantizationConfig(), labels)
    assert (actual.argmax(-1) == expected.argmax(-1)).mean() == pytest.approx(0.9865)
    assert result.accuracy == pytest.approx(0.8195) and result.reference_accuracy == pytest.approx(0.821)
    assert result.verdict == "equivalent" and result.ok, result.message
    assert result.near_tie_flips == 27 and result.agreement == 1.0


def test_smoke_int8_student_with_two_tied_examples_flipped_is_equivalent():
    """Issue 22, case 3: 32 dev examples of a barely trained model, two ties flipped, max |Δlogit| 0.012."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 32)
    margins = rng.uniform(0.05, 0.5, 32)
    margins[:2] = 0.002
    expected = scored_logits(rng, margins, rng.integers(0, 3, 32), 3)
    actual = expected + rng.normal(0, 0.003, expected.shape)
    flip(expected, actual, np.arange(2))
    actual[5, 0] = expected[5, 0] + 0.012
    result = compare("student-int8.onnx", "student", expected, actual, QuantizationConfig(), labels)
    assert (actual.argmax(-1) == expected.argmax(-1)).mean() == 0.9375
    assert result.verdict == "equivalent" and result.ok, result.message
    assert result.near_ties == 2 and result.near_tie_flips == 2


def test_a_model_uniformly_worse_by_two_points_is_reported_worse_with_its_interval():
    """Every logit of class 0 raised by 0.3, under the 0.5 bound: 30 near-ties flip, 25 of them were right."""
    rng = np.random.default_rng(4)
    n = 1000
    margins = np.abs(rng.normal(0, 2, n)) + 0.6
    predicted = rng.integers(0, 2, n)
    shifted = np.flatnonzero(predicted == 1)[:30]
    margins[shifted] = rng.uniform(0.02, 0.28, 30)
    labels = predicted.copy()
    labels[shifted[25:]] = 0  # 5 of the flipped examples were wrong before and are right now
    expected = scored_logits(rng, margins, predicted, 2)
    actual = expected + np.array([0.3, 0.0])
    result = compare("student-int8.onnx", "student", expected, actual, QuantizationConfig(), labels)
    assert result.verdict == "worse" and not result.ok, result.message
    assert result.accuracy_difference == pytest.approx(-0.02) and result.ci_high < 0 < result.p_value < 0.01
    assert "worse than PyTorch by 2.0 points (95 % CI" in result.message


@pytest.fixture(scope="module")
def decisive_int8(tmp_path_factory):
    """A tiny classifier with margins like a trained model's, its int8 export, and 200 texts encoded."""
    import random

    folder = write_decisive_classifier(tmp_path_factory.mktemp("decisive") / "model")
    tokenizer = load_tokenizer_from(folder)
    words = sorted(tokenizer.get_vocab())[5:]
    rng = random.Random(0)
    batches = encode_batches([" ".join(rng.choices(words, k=6)) for _ in range(200)], tokenizer, 32, 32)
    return folder, write_int8_onnx(folder, folder.parent / "int8.onnx"), batches


def last_matmul_scale(path) -> str:
    """The scale of the encoder's last quantized MatMul (its last FFN output)."""
    names = [t.name for t in onnx.load(str(path)).graph.initializer]
    return [name for name in names if name.endswith("_scale") and "MatMul" in name][-1]


def test_the_healthy_tiny_int8_model_is_equivalent(decisive_int8):
    folder, int8, batches = decisive_int8
    result = check_parity(int8, folder, batches, QuantizationConfig())
    assert result.verdict == "equivalent", result.message


@pytest.mark.parametrize("damage, names", [
    (lambda path: (last_matmul_scale(path), lambda scale: scale * 20), "beyond quantization noise"),
    (lambda path: ("classifier.weight_Transposed_quantized", lambda w: np.concatenate([-w[:, :1], w[:, 1:]], 1)),
     "beyond quantization noise")], ids=["matmul-scale", "classifier-row"])
def test_a_damaged_int8_model_fails_the_gate_naming_what_broke(decisive_int8, tmp_path, damage, names):
    folder, int8, batches = decisive_int8
    name, change = damage(int8)
    damaged = change_initializer(int8, tmp_path / "student-int8.onnx", name, change)
    result = check_parity(damaged, folder, batches, QuantizationConfig())
    assert result.verdict == "broken" and not result.ok and names in result.message, result.message


def test_the_parity_pass_reads_shortest_first_with_each_text_keeping_its_label():
    from workbench.core.sources.split_inputs import Split

    texts = ["a much longer text than the others", "short", "mid length", ""]
    split = Split(texts, np.array([0, 1, 2, 0]), ["a", "b", "c"], 16).shortest_first()
    assert split.texts == ["", "short", "mid length", texts[0]] and split.labels.tolist() == [0, 1, 2, 0]
