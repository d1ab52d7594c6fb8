"""A tiny int8 ONNX student, written where the export step will write it (RUN/onnx/student-int8.onnx).

Made here with the plain TorchScript exporter and ONNX Runtime's dynamic quantizer so that inference and
try-it tests do not depend on the export module's choices.
"""

from __future__ import annotations

import warnings
from pathlib import Path

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def write_int8_onnx(model_folder: Path, out_path: Path) -> Path:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(model_folder, attn_implementation="eager").eval()
    batch = AutoTokenizer.from_pretrained(model_folder)(["good movie", "bad"], padding=True, return_tensors="pt")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fp32 = out_path.with_name("tiny-fp32.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(batch[name] for name in INPUTS), str(fp32), input_names=INPUTS,
                          output_names=["logits"], dynamic_axes={n: {0: "batch", 1: "seq"} for n in INPUTS},
                          dynamo=False, opset_version=17)
        quantize_dynamic(str(fp32), str(out_path), weight_type=QuantType.QInt8)
    fp32.unlink()
    return out_path
