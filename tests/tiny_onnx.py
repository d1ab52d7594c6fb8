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


def write_decisive_classifier(folder: Path) -> Path:
    """A tiny random BERT classifier whose logits differ from text to text by margins like a trained model's
    (a wider initialisation than the default, whose logits are all nearly equal): damage shows against them."""
    import torch
    from transformers import BertForSequenceClassification

    from tests.tiny import LABELS, tiny_bert_config, tiny_tokenizer

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer(folder)
    config = tiny_bert_config(tokenizer.vocab_size, labels=LABELS)
    config.initializer_range = 0.2
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def change_initializer(source: Path, target: Path, name: str, change) -> Path:
    """A copy of an ONNX model with one initializer (by exact name) passed through `change` (numpy in, out)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    tensor = next(t for t in model.graph.initializer if t.name == name)
    tensor.CopyFrom(numpy_helper.from_array(change(numpy_helper.to_array(tensor).copy()), name))
    onnx.save(model, str(target))
    return target
