"""Quantization-aware distillation: a short stage that trains the student through int8 fake-quantization
(torch.ao) against the teacher's soft labels, when post-training int8 loses more than
`quantization.max_accuracy_drop` on the dev split.

The fake-quant mimics what the export then does for real: int8 weights with one symmetric scale per output
channel (or per tensor) and activations quantized per batch to uint8 with the batch's own range, as dynamic
int8 does at run time. It replaces the forward of each encoder linear layer on the instance and keeps its
quantizers outside the module, so the state dict (checkpoints, save_pretrained) is the plain model's and the
float weights it learns are what the exporter quantizes.

The job calls `int8_accuracy_drop` to decide, then runs `qat_stage(...)` inside `fake_quantized(model)`.
"""

from __future__ import annotations

import contextlib
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.ao.quantization import FakeQuantize, MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver
from torch.nn import functional as F

from workbench.core.compress.sparsity import encoder_linears
from workbench.core.distill.distillation import prediction_losses
from workbench.core.distill.training_loop import Stage
from workbench.core.recipe import DistillationConfig, QuantizationConfig, StageConfig
from workbench.core.sources.split_inputs import Split, encode_batches

QAT = "qat"


def _weight_quantizer(per_channel: bool) -> FakeQuantize:
    # averaging_constant 1: the range is always the current weights' (what the exporter will see).
    if per_channel:
        return FakeQuantize(observer=MovingAveragePerChannelMinMaxObserver, averaging_constant=1.0, ch_axis=0,
                            dtype=torch.qint8, qscheme=torch.per_channel_symmetric, quant_min=-127, quant_max=127)
    return FakeQuantize(observer=MovingAverageMinMaxObserver, averaging_constant=1.0, dtype=torch.qint8,
                        qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127)


def _activation_quantizer() -> FakeQuantize:
    # Each batch's own range, as dynamic int8 computes it at run time.
    return FakeQuantize(observer=MovingAverageMinMaxObserver, averaging_constant=1.0, dtype=torch.quint8,
                        qscheme=torch.per_tensor_affine, quant_min=0, quant_max=255)


def _fake_quant_forward(weight_fq: FakeQuantize, input_fq: FakeQuantize):
    def forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        return F.linear(input_fq(x), weight_fq(self.weight), self.bias)

    return forward


@contextlib.contextmanager
def fake_quantized(model: nn.Module, per_channel: bool = True) -> Iterator[int]:
    """Inside: the encoder's linear layers compute with fake-quantized weights and inputs (gradients pass
    straight through). Yields how many layers it wraps; on exit the plain forwards are back."""
    linears = list(encoder_linears(model).values())
    device = next(model.parameters()).device
    for linear in linears:
        weight_fq, input_fq = _weight_quantizer(per_channel).to(device), _activation_quantizer().to(device)
        linear.forward = types.MethodType(_fake_quant_forward(weight_fq, input_fq), linear)
    try:
        yield len(linears)
    finally:
        for linear in linears:
            del linear.forward  # the instance attribute goes; nn.Linear.forward is found again


def qat_stage(trainable: nn.Module, teacher: nn.Module, loader, quantization: QuantizationConfig,
              distillation: DistillationConfig, evaluate=None, cache=None,
              teacher_length: int | None = None, bf16: bool = False) -> Stage:
    """The QAT stage for the job's StageRunner: prediction-layer distillation on the teacher's soft labels
    only (no hard labels: the target is the teacher's answer, which int8 should keep), best dev accuracy kept,
    measured through the fake-quant."""
    soft_only = distillation.weights.model_copy(update={"prediction": 1.0, "hard_label": 0.0})
    losses = prediction_losses(teacher, soft_only, distillation.temperature, cache, teacher_length, bf16)
    return Stage(QAT, trainable, losses, loader, StageConfig(epochs=quantization.qat_epochs, lr=quantization.qat_lr),
                 evaluate, keep_best=True)


def qat_decision(model: nn.Module, tokenizer, dev: Split, quantization: QuantizationConfig,
                 threads: int = 2) -> dict[str, float | bool] | None:
    """Whether the QAT stage runs, and the post-training int8 measurement that decided it (None: QAT is off
    in the recipe, nothing measured)."""
    if not (quantization.enabled and quantization.qat_epochs and quantization.max_accuracy_drop is not None):
        return None
    fp32, int8 = int8_accuracy_drop(model, tokenizer, dev, quantization, threads)
    return {"dev_fp32_accuracy": fp32, "dev_int8_accuracy": int8, "max_accuracy_drop": quantization.max_accuracy_drop,
            "run": fp32 - int8 > quantization.max_accuracy_drop}


def int8_accuracy_drop(model: nn.Module, tokenizer, dev: Split, quantization: QuantizationConfig,
                       threads: int = 2) -> tuple[float, float]:
    """Dev accuracy of the model in fp32 ONNX and after post-training int8 as the export would make it
    (fusion, mode, per-channel), without the guard: (fp32, int8)."""
    from transformers import AutoConfig

    from workbench.core.compress.export import export_onnx, fuse, quantize_dynamic_int8, quantize_static_int8
    from workbench.core.compress.int8_guard import accuracy, dev_logits

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model.save_pretrained(folder / "model")
        tokenizer.save_pretrained(folder / "model")
        fp32 = export_onnx(folder / "model", folder / "fp32.onnx")
        batches = encode_batches(dev.texts, tokenizer, dev.max_length, 64)
        if quantization.mode == "static":
            calibration = batches[: max(1, quantization.calibration_batches // 2)]
            int8 = quantize_static_int8(fp32, folder / "int8.onnx", calibration, quantization.per_channel)
        else:
            base = fp32
            if quantization.fusion:
                base = Path(fuse(fp32, folder / "fused.onnx", AutoConfig.from_pretrained(folder / "model")).path)
            int8 = quantize_dynamic_int8(base, folder / "int8.onnx", quantization.per_channel)
        labels = np.asarray(dev.labels)
        return (accuracy(dev_logits(fp32, batches, threads), labels),
                accuracy(dev_logits(int8, batches, threads), labels))
