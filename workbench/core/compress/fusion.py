"""ONNX Runtime's transformer fusion of an exported BERT-family graph, and the error every ONNX step raises.
Its own module because both the export (compress/export.py) and the int4 quantizer (compress/int4.py) fuse:
neither imports the other's module for it.

Fusion leaves two biased kernels out, measured on onnxruntime 1.32 (AVX2 CPU): SkipLayerNormalization ran 2.3
to 4.4 times slower than Add + LayerNormalization, and BiasGelu 1.3 to 1.6 times slower than Gelu (whose bias
the int8 MatMul before it absorbs). With them the fused int8 student was slower than an unfused one.
Sessions from `ort_session` keep ONNX Runtime from re-fusing skip + layer norm at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.core.errors import WorkbenchError
from workbench.core.quiet import quiet_onnx
from workbench.core.sources.families import family_of
from workbench.core.sources.pruned_models import attention_head_size, attention_heads


class ExportError(WorkbenchError):
    """A model that cannot be exported, fused or quantized."""


@dataclass
class FusionReport:
    path: str
    fused: dict[str, int]  # fused operator type -> node count, only those present
    layers: int

    @property
    def attention_fused(self) -> bool:
        return self.fused.get("Attention", 0) + self.fused.get("MultiHeadAttention", 0) >= self.layers


def fuse(onnx_in: str | Path, onnx_out: str | Path, config, keep_matmuls: bool = False) -> FusionReport:
    """Run ONNX Runtime's BERT optimizer; `config` is the model's transformers config (heads, width). With
    `keep_matmuls` attention and the embedding layer norm stay unfused, so that every weight stays in a plain
    MatMul or Gather, which is what the int4 quantizer reads (compress/int4.py)."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = False  # slow kernels, see above
    options.enable_bias_gelu = False
    if keep_matmuls:
        options.enable_attention = options.enable_embed_layer_norm = False
    with quiet_onnx():
        # A head-pruned model has fewer heads of the original width: the fused Attention must be told so.
        heads = attention_heads(config)
        optimized = optimize_model(str(onnx_in), model_type="bert", num_heads=heads,
                                   hidden_size=heads * attention_head_size(config), optimization_options=options)
        counts = optimized.get_fused_operator_statistics()
    optimized.save_model_to_file(str(onnx_out))
    return FusionReport(str(onnx_out), {op: n for op, n in counts.items() if n}, family_of(config).num_layers(config))
