"""ONNX export, fusion and int8 on tiny models: exact logits at every shape, fused attention, int8 agreement."""

from __future__ import annotations

import collections
import json

import numpy as np
import onnx
import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

from tests.tiny_run import make_tiny_run
from workbench.core.compress.export import (
    ExportError,
    export_onnx,
    export_run,
    fuse,
    quantize_dynamic_int8,
    quantize_static_int8,
)
from workbench.core.recipe import QuantizationConfig
from workbench.core.sources.model_runner import model_feeds, ort_session
from workbench.core.sources.split_inputs import load_split


def random_batch(batch: int, seq_len: int, seed: int) -> dict[str, np.ndarray]:
    """Token ids with right padding of a different length in every row."""
    generator = np.random.default_rng(seed)
    ids = generator.integers(5, 60, size=(batch, seq_len), dtype=np.int64)
    mask = np.ones_like(ids)
    for row in range(batch):
        mask[row, seq_len - 2 * row:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


SHAPES = [(1, 5), (3, 17), (3, 40)]


def onnx_logits(path, batch):
    session = ort_session(path, threads=1)
    return session.run(["logits"], model_feeds([i.name for i in session.get_inputs()], batch))[0]


def torch_logits(folder, batch):
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        return model(**{k: torch.from_numpy(v) for k, v in batch.items()}).logits.numpy()


def op_counts(path) -> collections.Counter:
    return collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)


@pytest.fixture(scope="module")
def exported(tiny_classifier_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    fp32 = export_onnx(tiny_classifier_dir, folder / "fp32.onnx")
    report = fuse(fp32, folder / "fused.onnx", AutoConfig.from_pretrained(tiny_classifier_dir))
    return folder, report


def test_export_has_dynamic_batch_and_sequence_axes(exported):
    graph = onnx.load(str(exported[0] / "fp32.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    assert [o.name for o in graph.output] == ["logits"]
    for tensor in graph.input:
        assert [d.dim_param for d in tensor.type.tensor_type.shape.dim] == ["batch", "sequence"]


@pytest.mark.parametrize("name", ["fp32.onnx", "fused.onnx"])
@pytest.mark.parametrize("batch_size,seq_len", SHAPES)
def test_exported_model_matches_torch_at_every_shape(exported, tiny_classifier_dir, name, batch_size, seq_len):
    batch = random_batch(batch_size, seq_len, seed=seq_len)
    np.testing.assert_allclose(onnx_logits(exported[0] / name, batch), torch_logits(tiny_classifier_dir, batch),
                               atol=1e-4, rtol=0)


def test_fusion_fuses_attention_of_the_eager_export(exported):
    folder, report = exported
    counts = op_counts(folder / "fused.onnx")
    assert counts["Attention"] == 2 and report.fused["Attention"] == 2  # one per layer of the tiny model
    assert counts["EmbedLayerNormalization"] == 1 and counts["Softmax"] == 0
    # Residual + layer norm stays unfused: ONNX Runtime's CPU SkipLayerNormalization kernel is the slower one.
    assert counts["SkipLayerNormalization"] == 0 and counts["LayerNormalization"] == 4
    assert report.attention_fused


def test_dynamic_int8_agrees_with_fp32(exported, tmp_path):
    folder, _ = exported
    int8 = quantize_dynamic_int8(folder / "fused.onnx", tmp_path / "int8.onnx")
    counts = op_counts(int8)
    assert counts["DynamicQuantizeMatMul"] + counts["MatMulInteger"] > 0
    assert int8.stat().st_size < (folder / "fused.onnx").stat().st_size
    batch = random_batch(64, 24, seed=1) | {"attention_mask": np.ones((64, 24), dtype=np.int64)}
    expected, actual = onnx_logits(folder / "fused.onnx", batch), onnx_logits(int8, batch)
    assert np.abs(actual - expected).max() < 0.05
    assert (actual.argmax(-1) == expected.argmax(-1)).mean() >= 0.9


def test_static_int8_calibrates_on_given_batches(exported, tmp_path):
    folder, _ = exported
    calibration = [random_batch(4, 12, seed=s) for s in range(3)]
    int8 = quantize_static_int8(folder / "fp32.onnx", tmp_path / "static.onnx", calibration)
    assert op_counts(int8)["QuantizeLinear"] > 0
    batch = random_batch(3, 17, seed=5)
    assert np.abs(onnx_logits(int8, batch) - onnx_logits(folder / "fp32.onnx", batch)).max() < 0.05
    with pytest.raises(ExportError, match="calibration"):
        quantize_static_int8(folder / "fp32.onnx", tmp_path / "none.onnx", [])


def test_export_run_writes_the_run_artifacts(tiny_csv, tmp_path):
    run = make_tiny_run(tmp_path / "run", tiny_csv)
    summary = export_run(run, dev=load_split(run, "dev"))
    names = {"teacher-fp32.onnx", "teacher-fused.onnx", "teacher-int8.onnx",  # the no-distillation reference
             "student-fp32.onnx", "student-fused.onnx", "student-int8.onnx"}
    assert set(summary.artifacts) == names and all((run / "onnx" / n).is_file() for n in names)
    manifest = json.loads((run / "onnx" / "export.json").read_text())
    assert manifest["fusion"]["fused"]["Attention"] == 1  # the tiny student has one layer
    assert manifest["sizes"]["student-int8.onnx"] < manifest["sizes"]["student-fp32.onnx"]
    assert manifest["sizes"]["teacher-int8.onnx"] < manifest["sizes"]["teacher-fp32.onnx"]


def test_export_of_a_missing_model_is_a_workbench_error(tmp_path):
    with pytest.raises(ExportError, match="cannot load"):
        export_onnx(tmp_path / "nothing", tmp_path / "x.onnx")


def test_static_export_calibrates_on_the_dev_split_and_clears_stale_artifacts(tiny_csv, tmp_path):
    run = make_tiny_run(tmp_path / "run", tiny_csv)
    dev = load_split(run, "dev")
    export_run(run, dev=dev)
    summary = export_run(run, QuantizationConfig(mode="static", fusion=False), teacher=False, dev=dev)
    assert not (run / "onnx" / "student-fused.onnx").exists()  # left from the first export, removed
    assert (run / "onnx" / "teacher-fp32.onnx").exists()  # not re-exported, still valid
    assert summary.quantization == "static int8 per-channel" and summary.fusion is None
    assert op_counts(run / "onnx" / "student-int8.onnx")["QuantizeLinear"] > 0
