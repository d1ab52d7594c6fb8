import numpy as np
import pytest

from tests.tiny_onnx import write_int8_onnx
from workbench.core.sources.model_runner import (
    ModelRunError,
    OnnxRunner,
    TorchRunner,
    model_feeds,
    onnx_size_bytes,
)


def test_feeds_are_exactly_the_declared_inputs_with_zero_token_types_when_missing():
    batch = {"input_ids": np.array([[5, 6]]), "attention_mask": np.array([[1, 1]]), "token_type_ids": np.ones((1, 2))}
    assert list(model_feeds(["input_ids", "attention_mask"], batch)) == ["input_ids", "attention_mask"]
    no_types = {k: v for k, v in batch.items() if k != "token_type_ids"}
    feeds = model_feeds(["input_ids", "token_type_ids"], no_types)
    assert feeds["token_type_ids"].shape == (1, 2) and not feeds["token_type_ids"].any()
    with pytest.raises(ModelRunError, match="needs input 'position_ids'.*own tokenizer"):
        model_feeds(["input_ids", "position_ids"], batch)


def test_onnx_and_torch_runners_agree_on_a_batch_without_token_types(tiny_classifier_dir, tmp_path):
    from transformers import AutoTokenizer

    path = write_int8_onnx(tiny_classifier_dir, tmp_path / "student-int8.onnx")
    encoded = AutoTokenizer.from_pretrained(tiny_classifier_dir)(["good movie", "bad"], padding=True,
                                                                  return_tensors="np")
    batch = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}  # as RoBERTa's gives
    onnx, torch_runner = OnnxRunner(path, threads=1), TorchRunner(tiny_classifier_dir)
    assert "token_type_ids" in onnx.input_names
    np.testing.assert_allclose(onnx(batch), torch_runner(batch), atol=0.1)


def test_onnx_size_counts_external_data(tiny_classifier_dir, tmp_path):
    import onnx

    path = write_int8_onnx(tiny_classifier_dir, tmp_path / "inline.onnx")
    inline = path.stat().st_size
    model = onnx.load(str(path))
    external = tmp_path / "external.onnx"
    onnx.save(model, str(external), save_as_external_data=True, location="external.data", size_threshold=0)
    assert external.stat().st_size < inline  # weights moved out of the graph file
    assert onnx_size_bytes(external) == external.stat().st_size + (tmp_path / "external.data").stat().st_size
    assert onnx_size_bytes(path) == inline
