"""Weight-only int4 with ONNX Runtime's MatMulNBits quantizer: every MatMul with a constant weight becomes
MatMulNBits and every embedding lookup GatherBlockQuantized, 4 bits a weight with one scale per block of
`block_size` weights; activations stay fp32.

Why an extra artifact beside int8 rather than a quantization mode: int4 is weight-only, so it shrinks the
file (past 20x the teacher with vocabulary pruning) but has none of int8's activation quantization, and
users compare the two side by side (benchmark, try-it panel, report). It starts from a fusion that leaves
attention and the embedding layer norm unfused: the fused Attention and EmbedLayerNormalization ops hold
their weights where the int4 quantizer does not reach them (their fp32 Q/K/V and embedding tables made the
int4 file larger than int8's).

accuracy_level 4 lets MatMulNBits compute with int8 activations on CPUs that have the kernels (AVX2, AVX512,
ARM NEON); where they lack, ONNX Runtime falls back to fp32 compute with the same weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from workbench.core.compress.export import ExportError, fuse, quiet_logs

ACCURACY_LEVEL = 4


def quantize_int4(onnx_in: str | Path, onnx_out: str | Path, block_size: int = 32) -> Path:
    """Symmetric blockwise int4 of MatMul weights (blocks along the input axis) and embedding rows."""
    from onnxruntime.quantization import matmul_nbits_quantizer as nbits

    config = nbits.DefaultWeightOnlyQuantConfig(
        block_size=block_size, is_symmetric=True, accuracy_level=ACCURACY_LEVEL,
        op_types_to_quantize=("MatMul", "Gather"), quant_axes=(("MatMul", 0), ("Gather", 1)))
    with quiet_logs(), np.errstate(invalid="ignore", divide="ignore"):  # all-zero blocks: scale 0, weights 0
        # The quantizer logs every node it visits at INFO and raises the opset to 21 (int4 types) with a
        # warning; the parity check proves the result on real inputs.
        logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.ERROR)
        quantizer = nbits.MatMulNBitsQuantizer(str(onnx_in), algo_config=config)
        quantizer.process()
        quantizer.model.save_model_to_file(str(onnx_out), use_external_data_format=False)
    return Path(onnx_out)


def write_int4(fp32_path: Path, out_path: Path, model_config, block_size: int) -> Path:
    """RUN/onnx/student-int4.onnx from the student's fp32 export; `model_config` is its transformers config."""
    if block_size < 16 or block_size & (block_size - 1):
        raise ExportError(f"int4 block size {block_size} is not a power of two of at least 16")
    base = out_path.with_name(out_path.stem + "-base.onnx")
    try:
        fuse(fp32_path, base, model_config, keep_matmuls=True)
        return quantize_int4(base, out_path, block_size)
    finally:
        base.unlink(missing_ok=True)
