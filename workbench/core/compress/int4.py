"""Weight-only int4 with ONNX Runtime's MatMulNBits quantizer: every MatMul with a constant weight becomes
MatMulNBits and every embedding lookup GatherBlockQuantized, 4 bits a weight with one scale per block of
`block_size` weights; activations stay fp32.

Why an extra artifact beside int8 rather than a quantization mode: int4 is weight-only, so it shrinks the
file (past 20x the teacher with vocabulary pruning) but has none of int8's activation quantization, and
users compare the two side by side (benchmark, try-it panel, report). It starts from a fusion that leaves
attention and the embedding layer norm unfused: the fused Attention and EmbedLayerNormalization ops hold
their weights where the int4 quantizer does not reach them (their fp32 Q/K/V and embedding tables made the
int4 file larger than int8's).

The pooler and classifier are Gemm nodes, which the quantizer skips; they are rewritten as MatMul + Add
first (the pooler's fp32 weights were a tenth of the quick-demo int4 file).

accuracy_level 4 lets MatMulNBits compute with int8 activations on CPUs that have the kernels (AVX2, AVX512,
ARM NEON); where they lack, ONNX Runtime falls back to fp32 compute with the same weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from workbench.core.compress.fusion import ExportError, fuse
from workbench.core.quiet import quiet_onnx

ACCURACY_LEVEL = 4


def gemms_as_matmuls(model) -> int:
    """Rewrite each plain Gemm with a constant weight (alpha = beta = 1, A not transposed) as MatMul + Add, in
    place; returns how many."""
    import onnx
    from onnx import numpy_helper

    initializers = {t.name: t for t in model.graph.initializer}
    rewritten = 0
    for node in list(model.graph.node):
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if (node.op_type != "Gemm" or node.input[1] not in initializers or attributes.get("transA", 0)
                or attributes.get("alpha", 1.0) != 1.0 or attributes.get("beta", 1.0) != 1.0):
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]])
        if attributes.get("transB", 0):
            weight = weight.T
        name = node.input[1] + "_matmul"
        model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight), name))
        product = node.output[0] + "_product" if len(node.input) > 2 else node.output[0]
        replacement = [onnx.helper.make_node("MatMul", [node.input[0], name], [product], name=node.name + "_MatMul")]
        if len(node.input) > 2:
            replacement.append(onnx.helper.make_node("Add", [product, node.input[2]], [node.output[0]],
                                                     name=node.name + "_Add"))
        position = list(model.graph.node).index(node)
        model.graph.node.remove(node)
        for offset, new in enumerate(replacement):
            model.graph.node.insert(position + offset, new)
        rewritten += 1
    used = {name for node in model.graph.node for name in node.input}
    for tensor in [t for t in model.graph.initializer if t.name not in used]:
        model.graph.initializer.remove(tensor)  # the transposed Gemm weights
    return rewritten


def quantize_int4(onnx_in: str | Path, onnx_out: str | Path, block_size: int = 32) -> Path:
    """Symmetric blockwise int4 of MatMul weights (blocks along the input axis) and embedding rows."""
    import onnx
    from onnxruntime.quantization import matmul_nbits_quantizer as nbits

    config = nbits.DefaultWeightOnlyQuantConfig(
        block_size=block_size, is_symmetric=True, accuracy_level=ACCURACY_LEVEL,
        op_types_to_quantize=("MatMul", "Gather"), quant_axes=(("MatMul", 0), ("Gather", 1)))
    with quiet_onnx(), np.errstate(invalid="ignore", divide="ignore"):  # all-zero blocks: scale 0, weights 0
        # The quantizer logs every node it visits at INFO and raises the opset to 21 (int4 types) with a
        # warning; the parity check proves the result on real inputs.
        logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.ERROR)
        model = onnx.load(str(onnx_in))
        gemms_as_matmuls(model)
        quantizer = nbits.MatMulNBitsQuantizer(model, algo_config=config)
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
