"""Accuracy-guarded int8: a MatMul made deliberately sensitive stays fp32 and the tolerance is met."""

import json

import numpy as np
import onnx
import pytest
import torch
from transformers import AutoConfig, BertForSequenceClassification

from tests.tiny import LABELS, tiny_bert_config, tiny_tokenizer
from tests.tiny_run import make_tiny_run
from workbench.core.compress.export import (
    export_onnx,
    export_run,
    fuse,
    quantize_dynamic_int8,
    quantize_static_int8,
)
from workbench.core.compress.int8_guard import (
    NodeSensitivity,
    dev_logits,
    exclusion_order,
    guard_int8,
    quantizable_nodes,
)
from workbench.core.paired import paired_difference
from workbench.core.recipe import QuantizationConfig
from workbench.core.run_folder import RunFolder
from workbench.core.sources.split_inputs import load_split

SENSITIVE = "/bert/encoder/layer.0/output/dense/MatMul"


def _batches(count: int = 4, size: int = 24, vocab: int = 100):
    generator = np.random.default_rng(0)
    batches = []
    for _ in range(count):
        ids = generator.integers(5, vocab, (size, 12), dtype=np.int64)
        mask = np.ones_like(ids)
        mask[: size // 2, 8:] = 0
        batches.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    return batches


@pytest.fixture(scope="module")
def sensitive_model(tmp_path_factory):
    """A tiny classifier whose first FFN output projection has one huge outlier weight: per-tensor int8 then
    rounds every other weight of that matrix to zero, while the outlier's input stays small in fp32. FFN and
    classifier weights are scaled up from the tiny init so that the FFN matters and predictions vary."""
    folder = tmp_path_factory.mktemp("sensitive")
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer(folder)
    model = BertForSequenceClassification(tiny_bert_config(tokenizer.vocab_size, labels=LABELS)).eval()
    with torch.no_grad():
        for layer in model.bert.encoder.layer:
            layer.output.dense.weight.normal_(0, 0.3)
        model.classifier.weight.normal_(0, 1.0)
        model.bert.encoder.layer[0].output.dense.weight[0, 0] = 500.0
        model.bert.encoder.layer[0].intermediate.dense.weight[0] = 0.0  # its input neuron: GELU(bias) ~ 0
        model.bert.encoder.layer[0].intermediate.dense.bias[0] = -6.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    fp32 = export_onnx(folder, folder / "fp32.onnx")
    fused = fuse(fp32, folder / "fused.onnx", AutoConfig.from_pretrained(folder))
    return folder, fp32, folder / "fused.onnx", fused


def test_the_guard_keeps_the_sensitive_matmul_in_fp32_and_meets_the_tolerance(sensitive_model, tmp_path):
    _, _, fused, _ = sensitive_model
    dev = _batches()
    labels = dev_logits(fused, dev, 1).argmax(-1)  # fp32's own answers: fp32 scores 1.0

    def quantize(out, exclude, only):
        return quantize_dynamic_int8(fused, out, per_channel=False, exclude=exclude, only=only)

    report = guard_int8(fused, tmp_path / "guarded.onnx", quantize, dev, labels, max_drop=0.02, mode="dynamic",
                        threads=1)
    assert report.fp32_accuracy == 1.0
    assert report.fp32_accuracy - report.int8_accuracy > 0.02  # plain int8 misses the tolerance
    assert report.met and report.guarded_drop <= 0.02
    assert report.kept_fp32[0] == SENSITIVE and report.nodes[0].node == SENSITIVE
    assert report.nodes[0].accuracy_recovered > 0
    graph = onnx.load(str(tmp_path / "guarded.onnx")).graph
    still_float = [n for n in graph.node if n.name == SENSITIVE]
    assert still_float and still_float[0].op_type == "MatMul"
    assert any(n.op_type in ("MatMulInteger", "QAttention", "DynamicQuantizeMatMul") for n in graph.node)
    guarded_accuracy = float((dev_logits(tmp_path / "guarded.onnx", dev, 1).argmax(-1) == labels).mean())
    assert guarded_accuracy == pytest.approx(report.guarded_accuracy)


def test_the_guard_works_for_static_int8(sensitive_model, tmp_path):
    _, fp32, _, _ = sensitive_model
    dev = _batches()
    labels = dev_logits(fp32, dev, 1).argmax(-1)

    def quantize(out, exclude, only):
        return quantize_static_int8(fp32, out, dev[:2], per_channel=False, exclude=exclude, only=only)

    report = guard_int8(fp32, tmp_path / "guarded.onnx", quantize, dev, labels, max_drop=0.02, mode="static",
                        threads=1)
    assert report.fp32_accuracy - report.int8_accuracy > 0.02
    assert report.met and report.guarded_drop <= 0.02 and report.kept_fp32 == [SENSITIVE]


def test_a_drop_within_the_tolerance_that_the_parity_gate_would_call_real_is_not_accepted(sensitive_model, tmp_path):
    _, _, fused, _ = sensitive_model
    dev = _batches(count=8)
    labels = dev_logits(fused, dev, 1).argmax(-1)

    def quantize(out, exclude, only):
        return quantize_dynamic_int8(fused, out, per_channel=False, exclude=exclude, only=only)

    plain = dev_logits(quantize(tmp_path / "plain.onnx", (), None), dev, 1).argmax(-1) == labels
    assert paired_difference(np.ones_like(plain), plain).significantly_worse  # plain int8: a real loss
    report = guard_int8(fused, tmp_path / "guarded.onnx", quantize, dev, labels, max_drop=0.9, mode="dynamic",
                        threads=1)  # a tolerance every outcome here meets
    assert report.met and report.kept_fp32[0] == SENSITIVE
    guarded = dev_logits(tmp_path / "guarded.onnx", dev, 1).argmax(-1) == labels
    assert not paired_difference(np.ones_like(guarded), guarded).significantly_worse


def test_a_small_node_almost_as_sensitive_as_the_embedding_is_kept_fp32_before_it():
    # The pruned 3-layer student's figures: the embedding moved the logits most, 40 times the bytes of a FFN matrix.
    embedding = NodeSensitivity("EmbedLayerNormalization_0", "EmbedLayerNormalization", 6.5e-4, 0.795, 23_000_000)
    ffn = NodeSensitivity("/bert/encoder/layer.0/intermediate/dense/MatMul", "MatMul", 5.7e-4, 0.791, 589_824)
    outlier = NodeSensitivity(SENSITIVE, "MatMul", 1.0, 0.5, 589_824)
    assert exclusion_order([embedding, ffn, outlier]) == [outlier, ffn, embedding]


def test_nothing_stays_fp32_when_int8_is_within_the_tolerance(sensitive_model, tmp_path):
    _, _, fused, _ = sensitive_model
    dev = _batches(count=1)
    labels = dev_logits(fused, dev, 1).argmax(-1)
    report = guard_int8(fused, tmp_path / "g.onnx", lambda out, exclude, only: quantize_dynamic_int8(
        fused, out, True, exclude, only), dev, labels, max_drop=0.5, mode="dynamic", threads=1)
    assert report.met and report.kept_fp32 == [] and report.nodes == []
    assert any(name == SENSITIVE for name, _, _ in quantizable_nodes(fused))


def test_export_run_writes_the_guard_report(tmp_path, tiny_csv):
    run = make_tiny_run(tmp_path / "run", tiny_csv)
    dev = load_split(run, "dev")
    export_run(run, QuantizationConfig(max_accuracy_drop=0.0), teacher=False, dev=dev)
    guard_path = RunFolder(run).int8_guard_path
    report = json.loads(guard_path.read_text())
    assert report["met"] and report["guarded_drop"] <= 0.0 and report["split"] == "dev"
    export_run(run, QuantizationConfig(), teacher=False, dev=dev)
    assert not guard_path.exists()  # a stale guard report would describe another model
