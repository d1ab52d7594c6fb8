"""The recipe's compression sections: pruning (structured, unstructured, vocabulary) with its recovery stage,
and quantization (int8, guarded, int4, QAT). Their own module so that recipe.py stays one screenful per
concern; the Recipe holds them as `recipe.pruning` and `recipe.quantization`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from workbench.core.recipe_section import LearningRate, Section, StageConfig


class RecoveryConfig(StageConfig):
    """The distillation stage that recovers accuracy after pruning; no lr: the prediction stage's."""

    lr: LearningRate | None = None


class PruningConfig(Section):
    enabled: bool = False
    # gradient: |dL/d gate| on dev batches; l1 / l2: weight norms ('magnitude' is the older name of l2).
    importance: Literal["gradient", "l1", "l2", "magnitude"] = "gradient"
    heads_ratio: float = Field(default=0.0, ge=0, lt=1)
    ffn_ratio: float = Field(default=0.0, ge=0, lt=1)
    threshold: float | None = Field(default=None, gt=0, lt=1, description="instead of ratios: remove every unit "
                                    "whose importance divided by its layer's highest is below this")
    threshold_units: Literal["both", "heads", "ffn"] = "both"
    hidden_ratio: float = Field(default=0.0, ge=0, lt=1, description="share of hidden channels removed, rounded "
                                "so every kept head keeps its size (the heads shrink with the width)")
    unstructured_sparsity: float = Field(default=0.0, ge=0, lt=1, description="share of encoder weights zeroed")
    unstructured_scope: Literal["layer", "global"] = "layer"  # the share per weight matrix or over all of them
    vocabulary: bool = False
    vocabulary_margin: int = Field(default=0, ge=0)
    recovery: RecoveryConfig = RecoveryConfig()

    @model_validator(mode="before")
    @classmethod
    def _recovery_epochs_of_older_recipes(cls, data: Any) -> Any:
        """Recipes (and run folders) from before the recovery stage had its own section wrote
        `recovery_epochs: N`; they keep loading."""
        if isinstance(data, dict) and "recovery_epochs" in data and "recovery" not in data:
            data = {**data, "recovery": {"epochs": data["recovery_epochs"]}}
            del data["recovery_epochs"]
        return data

    @model_validator(mode="after")
    def _threshold_or_ratios(self) -> PruningConfig:
        if self.threshold is not None and (self.heads_ratio or self.ffn_ratio):
            raise ValueError("give either threshold or heads_ratio / ffn_ratio, not both")
        # Width pruning sets the head count from the kept width itself (compress/width.py).
        if self.hidden_ratio and (self.heads_ratio or (self.threshold is not None and self.threshold_units != "ffn")):
            raise ValueError("hidden_ratio removes heads with the width: set heads_ratio to 0 (or threshold_units: "
                             "ffn)")
        return self

    @property
    def structured(self) -> bool:  # heads or FFN neurons are removed, by ratio or by threshold
        return bool(self.heads_ratio or self.ffn_ratio or self.threshold is not None)


class QuantizationConfig(Section):
    enabled: bool = True
    mode: Literal["dynamic", "static"] = "dynamic"
    fusion: bool = True
    per_channel: bool = True  # per-tensor int8 fails parity on the quick-demo student (0.974 agreement)
    calibration_batches: int = Field(default=8, ge=1)
    # The parity gate (compress/parity.py): these bound the 95th percentile of |Δlogit| (the max is reported, no
    # longer judged) and label agreement over examples with a clear margin; older recipes keep their meaning.
    max_logit_delta: float = Field(default=0.5, gt=0, description="bound on the 95th percentile of |Δlogit| "
                                   "against PyTorch on the dev split")
    min_agreement: float = Field(default=0.98, ge=0, le=1, description="label agreement with PyTorch over dev "
                                 "examples whose margin exceeds the numeric noise")
    max_accuracy_drop: float | None = Field(default=None, ge=0, lt=1, description="dev accuracy int8 may lose "
                                            "against fp32; the most sensitive layers stay fp32 until it holds and "
                                            "int8 is not significantly worse there (the parity gate's test)")
    int4: bool = Field(default=False, description="also write a weight-only int4 student (MatMulNBits)")
    # Quick-demo student: block 32 gave 4.70 MiB (test accuracy 0.755), 64 4.24 MiB (0.759), 128 4.01 (0.754).
    int4_block_size: int = Field(default=64, ge=16, le=256, description="weights sharing one int4 scale")
    # int4 rounds weights 8x coarser than int8, so its parity bound is its own (quick-demo student: agreement
    # 0.970, max |Δlogit| 1.14, test accuracy equal to fp32); a broken export still fails it (near-chance labels).
    int4_min_agreement: float = Field(default=0.95, ge=0, le=1)
    int4_max_logit_delta: float = Field(default=1.5, gt=0)
    qat_epochs: float = Field(default=0.0, ge=0, le=100, description="quantization-aware distillation when int8 "
                              "loses more than max_accuracy_drop; 0 = off")
    qat_lr: LearningRate = 1e-5
    reference_models: bool = Field(default=True, description="also export the teacher (ONNX fp32, fused int8: the "
                                   "reference a sceptical user compares with) and benchmark every model at batch 1 "
                                   "and 32; a search trial turns this off, its study measures the references once")

    @model_validator(mode="after")
    def _consistent(self) -> QuantizationConfig:
        if self.int4_block_size & (self.int4_block_size - 1):
            raise ValueError(f"int4_block_size {self.int4_block_size} is not a power of two (16, 32, ... 256)")
        if self.qat_epochs and self.max_accuracy_drop is None:
            raise ValueError("qat_epochs runs only when int8 loses more than max_accuracy_drop: set that too")
        return self
