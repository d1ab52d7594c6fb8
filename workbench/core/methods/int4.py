"""Weight-only int4: a MatMulNBits student beside the int8 one (compress/int4.py, written by the export)."""

from __future__ import annotations

from workbench.core.methods.method import CompressionMethod, FormRow, description
from workbench.core.recipe import QuantizationConfig


def applies(quantization: QuantizationConfig) -> bool:
    return quantization.enabled and quantization.int4


INT4 = CompressionMethod(
    name="int4", section="quantization", stage="export",
    keys=("int4", "int4_block_size", "int4_min_agreement", "int4_max_logit_delta"), applies=applies,
    files=("int4_student_path",),
    form=(FormRow("quantization.int4", "Also write a weight-only int4 student", "check"),
          FormRow("quantization.int4_block_size", "int4 block size", "spin",
                  tip=description(QuantizationConfig, "int4_block_size"))))
