"""Quantization-aware distillation: when post-training int8 loses more than the guard's tolerance on the dev
split, the student trains through int8 fake-quant (compress/qat.py; its own stage, stages/quantization_aware.py,
asks `applies`). Its report part sits in the guard's section (int8_guard.py): it runs only under that
tolerance."""

from __future__ import annotations

import html
from typing import Any

from workbench.core.methods.method import CompressionMethod, FormRow, description
from workbench.core.recipe import QuantizationConfig


def applies(quantization: QuantizationConfig) -> bool:
    return quantization.enabled and bool(quantization.qat_epochs)


def qat_part(qat: dict[str, Any] | None) -> str:
    """What the post-training int8 measurement decided, and what the QAT stage won back on the dev split."""
    if not qat:
        return ""
    before = (f"Post-training int8 on the dev split: fp32 {qat['dev_fp32_accuracy']:.1%}, int8 "
              f"{qat['dev_int8_accuracy']:.1%} (tolerance {qat['max_accuracy_drop']:.1%}).")
    if not qat["run"]:
        return f"<h3>Quantization-aware distillation</h3><p>{html.escape(before)} Within it: QAT did not run.</p>"
    after = (f" After QAT: fp32 {qat['dev_fp32_accuracy_after']:.1%}, int8 {qat['dev_int8_accuracy_after']:.1%} "
             f"({(qat['dev_int8_accuracy_after'] - qat['dev_int8_accuracy']) * 100:+.1f} points for int8).")
    return f"<h3>Quantization-aware distillation</h3><p>{html.escape(before + after)}</p>"


QUANTIZATION_AWARE = CompressionMethod(
    name="quantization-aware distillation", section="quantization", stage="qat", keys=("qat_epochs", "qat_lr"),
    applies=applies, files=("qat_path",),
    form=(FormRow("quantization.qat_epochs", "QAT epochs", "line", tip=description(QuantizationConfig, "qat_epochs")),
          FormRow("quantization.qat_lr", "QAT learning rate", "line")))
