"""The job's compression steps beyond plain int8: threshold pruning with unstructured sparsity kept through
recovery, the QAT stage when int8 loses too much, int4 scored on the test split."""

import json
import sys
from pathlib import Path

import pytest
import torch

from tests.tiny_job import run_to_end
from workbench.core.compress.sparsity import measure_sparsity
from workbench.core.events import Finished, StageStarted
from workbench.core.run_folder import RunFolder
from workbench.core.sources import data
from workbench.core.sources.pruned_models import load_pruned
from workbench.core.stages import quantization_aware


@pytest.fixture
def compressing(recipe):
    recipe.pruning.enabled = True
    recipe.pruning.importance = "l2"
    recipe.pruning.threshold, recipe.pruning.threshold_units = 0.7, "ffn"
    recipe.pruning.unstructured_sparsity = 0.4
    recipe.pruning.recovery.epochs = 1.0
    recipe.quantization.enabled = True
    recipe.quantization.int4, recipe.quantization.int4_block_size = True, 16
    recipe.quantization.max_accuracy_drop, recipe.quantization.qat_epochs = 0.0, 1.0
    return recipe


def test_pruning_sparsity_qat_and_int4_run_as_the_recipe_asks(compressing, monkeypatch):
    decisions = []

    def always_qat(*args, **kwargs):  # a tiny model's int8 may lose nothing; the stage must still be exercised
        decisions.append(True)
        return {"dev_fp32_accuracy": 0.5, "dev_int8_accuracy": 0.4, "max_accuracy_drop": 0.0, "run": True}

    monkeypatch.setattr(quantization_aware, "qat_decision", always_qat)
    events = run_to_end(compressing)
    assert isinstance(events[-1], Finished) and events[-1].status == "finished", events[-1]
    stages = [e.stage for e in events if isinstance(e, StageStarted)]
    assert stages[-2:] == ["recovery", "qat"] and decisions == [True]
    assert {"student_int4_accuracy", "student_int8_accuracy"} <= set(events[-1].summary)
    run = Path(events[-1].run_dir)
    pruning, sparsity = (json.loads((run / name).read_text()) for name in ("pruning.json", "sparsity.json"))
    assert pruning["criterion"] == "threshold" and sparsity["sparsity"] == pytest.approx(0.4, abs=1e-3)
    student = load_pruned(run / "student")
    assert student.bert.encoder.layer[0].intermediate.dense.out_features == pruning["ffn_per_layer"][0]
    # Recovery and QAT trained the student, yet the zeroed weights stayed zero.
    assert measure_sparsity(student).sparsity >= 0.4 - 1e-3
    qat = json.loads((run / "qat.json").read_text())
    assert {"dev_int8_accuracy_after", "dev_fp32_accuracy_after"} <= set(qat)
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert 0 <= evaluation["student_int4"]["accuracy"] <= 1
    parity = {r["artifact"]: r for r in json.loads((run / "onnx" / "parity.json").read_text())["results"]}
    assert "student-int4.onnx" in parity and "student-int8.onnx" in parity
    assert RunFolder(run).int8_guard_path.is_file()
    assert torch.isfinite(torch.tensor(evaluation["student"]["accuracy"]))


@pytest.mark.parametrize("reference_models", [True, False])
def test_reference_models_off_skips_the_teachers_export_and_the_benchmark(recipe, reference_models):
    recipe.quantization.enabled, recipe.quantization.reference_models = True, reference_models
    events = run_to_end(recipe)
    assert isinstance(events[-1], Finished) and events[-1].status == "finished"
    run = RunFolder.open(events[-1].run_dir)
    assert run.onnx_path("student-int8.onnx").is_file()  # the student is exported, checked and scored either way
    assert "student_int8" in json.loads(run.evaluation_path.read_text())
    assert run.onnx_path("teacher-int8.onnx").is_file() == reference_models
    assert run.bench_path.is_file() == reference_models


def test_a_job_reads_its_data_once_static_calibration_and_the_int8_guard_included(recipe, monkeypatch):
    """Export, static int8's calibration, the accuracy guard and parity take the split the job holds: none of
    them reads the data source again."""
    real, reads = data.load_task_data, []

    def counting(config):
        reads.append(config)
        return real(config)

    for module in [m for name, m in sys.modules.items() if name.startswith("workbench.")]:
        if getattr(module, "load_task_data", None) is real:  # also where it was imported by name
            monkeypatch.setattr(module, "load_task_data", counting)
    quantization = recipe.quantization
    quantization.enabled, quantization.mode, quantization.max_accuracy_drop = True, "static", 0.0
    events = run_to_end(recipe)
    assert isinstance(events[-1], Finished) and events[-1].status == "finished", events[-1]
    run = RunFolder.open(events[-1].run_dir)
    assert run.int8_guard_path.is_file() and run.parity_path.is_file() and run.bench_path.is_file()
    assert len(reads) == 1
