import shutil

import numpy as np
import pytest

from tests.tiny import tiny_recipe
from tests.tiny_onnx import write_int8_onnx
from workbench.core.errors import WorkbenchError
from workbench.core.measure.inference import (
    NOT_EXPORTED,
    STUDENT,
    STUDENT_INT8,
    TEACHER,
    TorchPredictor,
    compare,
    median_latency_ms,
    run_predictors,
)

TEXTS = ["good great movie", "awful sad day", "the car"]


@pytest.fixture
def run_dir(tiny_classifier_dir, tiny_base_dir, tiny_csv, tmp_path):
    """A finished-looking run folder: recipe, fine-tuned teacher and student (both the tiny classifier)."""
    run = tmp_path / "run"
    run.mkdir()
    tiny_recipe(tiny_base_dir, tiny_csv, tmp_path).save(run / "recipe.yaml")
    shutil.copytree(tiny_classifier_dir, run / "teacher")
    shutil.copytree(tiny_classifier_dir, run / "student")
    return run


def test_torch_predictor_gives_probabilities_per_text(tiny_classifier_dir):
    predictor = TorchPredictor("m", tiny_classifier_dir)
    probabilities = predictor.predict(TEXTS)
    assert probabilities.shape == (3, 3)
    assert np.allclose(probabilities.sum(axis=1), 1)
    assert predictor.labels == ["negative", "neutral", "positive"] and predictor.size_bytes > 0
    assert median_latency_ms(predictor, TEXTS, repeats=3) > 0


def test_int8_column_says_not_exported_until_the_onnx_exists(run_dir):
    predictors = run_predictors(run_dir)
    assert list(predictors) == [TEACHER, STUDENT, STUDENT_INT8]
    assert predictors[STUDENT_INT8] == NOT_EXPORTED
    results = compare(predictors, TEXTS, repeats=1)
    assert results[2].missing == NOT_EXPORTED and results[2].probabilities is None
    assert results[0].predicted == results[1].predicted  # the same weights


def test_int8_onnx_student_is_run_when_exported(run_dir):
    write_int8_onnx(run_dir / "student", run_dir / "onnx" / "student-int8.onnx")
    results = {r.name: r for r in compare(run_predictors(run_dir), TEXTS, repeats=2)}
    int8 = results[STUDENT_INT8]
    assert int8.missing is None and np.allclose(int8.probabilities.sum(axis=1), 1)
    assert np.abs(int8.probabilities - results[STUDENT].probabilities).max() < 0.05
    assert 0 < int8.size_bytes and int8.latency_ms > 0


def test_no_text_is_an_error(run_dir):
    with pytest.raises(WorkbenchError, match="at least one text"):
        compare(run_predictors(run_dir), [])


def test_accuracies_come_from_the_run_records(run_dir):
    import json

    from workbench.core.measure.inference import recorded_accuracies

    assert recorded_accuracies(run_dir) == {TEACHER: None, STUDENT: None, STUDENT_INT8: None}
    (run_dir / "evaluation.json").write_text(json.dumps({"teacher": {"accuracy": 0.9}, "student": {"accuracy": 0.8}}))
    (run_dir / "bench.json").write_text(json.dumps({"models": {"student-onnx-int8": {"test": {"accuracy": 0.79}}}}))
    assert recorded_accuracies(run_dir) == {TEACHER: 0.9, STUDENT: 0.8, STUDENT_INT8: 0.79}


def test_int8_accuracy_comes_from_the_evaluation_written_after_export(run_dir):
    import json

    from workbench.core.measure.inference import recorded_accuracies

    evaluation = {"teacher": {"accuracy": 0.9}, "student": {"accuracy": 0.8},
                  "student_int8": {"accuracy": 0.78, "macro_f1": 0.7}}
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation))
    assert recorded_accuracies(run_dir)[STUDENT_INT8] == 0.78  # no benchmark needed
    (run_dir / "bench.json").write_text(json.dumps({"models": {"student-onnx-int8": {"test": {"accuracy": 0.5}}}}))
    assert recorded_accuracies(run_dir)[STUDENT_INT8] == 0.78  # the job's own record wins
