"""The parity check passes exported models and fails loudly on a corrupted one."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from tests.tiny_run import make_tiny_run
from workbench.core.compress.export import export_run
from workbench.core.compress.parity import check_parity, check_run, compare
from workbench.core.recipe import QuantizationConfig
from workbench.core.sources.split_inputs import encode_batches, load_split, load_tokenizer_from


@pytest.fixture(scope="module")
def exported_run(tiny_csv, tmp_path_factory):
    run = make_tiny_run(tmp_path_factory.mktemp("runs") / "run", tiny_csv)
    export_run(run)
    return run


def test_exported_artifacts_pass_and_parity_json_is_written(exported_run):
    results = check_run(exported_run)
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
    result = check_parity(corrupted, exported_run / "student", batches, QuantizationConfig())
    assert not result.ok
    assert result.max_logit_delta > QuantizationConfig().max_logit_delta
    assert "DISAGREES" in result.message and "max |Δlogit|" in result.message


def test_compare_names_both_failures_and_rejects_mismatched_shapes():
    config = QuantizationConfig(max_logit_delta=0.1, min_agreement=0.9)
    expected = np.array([[1.0, 0.0], [0.0, 1.0]])
    result = compare("m.onnx", "student", expected, expected[:, ::-1], config)
    assert not result.ok and result.agreement == 0 and "label agreement 0.0000 < 0.9" in result.message
    assert not compare("m.onnx", "student", expected, expected[:1], config).ok
    assert compare("m.onnx", "student", expected, expected + 0.05, config).ok


def test_int4_is_held_to_its_own_bound_and_everything_else_to_int8s():
    config = QuantizationConfig(max_logit_delta=0.5, int4_max_logit_delta=1.5)
    expected = np.array([[2.0, 0.0], [0.0, 2.0]])
    off_by_one = expected + np.array([[1.0, 0.0], [0.0, 0.0]])  # same labels, one logit 1.0 away
    assert compare("student-int4.onnx", "student", expected, off_by_one, config).ok
    assert not compare("student-int8.onnx", "student", expected, off_by_one, config).ok
    assert not compare("student-int4.onnx", "student", expected, expected[:, ::-1], config).ok  # labels swapped
