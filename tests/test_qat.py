"""Quantization-aware distillation: fake-quant on the encoder's linear layers, a stage that trains through it."""

import copy

import pytest
import torch
from transformers import BertForSequenceClassification

from tests.tiny import LABELS, save_tiny_bert, tiny_bert_config
from workbench.core.compress.qat import fake_quantized, int8_accuracy_drop, qat_stage
from workbench.core.distill.training_loop import StageRunner
from workbench.core.events import JobControl, StageFinished
from workbench.core.recipe import DistillationConfig, QuantizationConfig, TrainingConfig
from workbench.core.sources.split_inputs import Split


@pytest.fixture()
def model():
    torch.manual_seed(0)
    return BertForSequenceClassification(tiny_bert_config(100, labels=LABELS)).eval()


def _batch():
    ids = torch.randint(5, 100, (6, 10), generator=torch.Generator().manual_seed(1))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": torch.arange(6) % 3}


def _logits(model, batch):
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def test_fake_quant_perturbs_like_int8_and_leaves_no_trace(model):
    batch, plain = _batch(), _logits(model, _batch())
    keys = set(model.state_dict())
    with fake_quantized(model) as wrapped:
        assert wrapped == 12  # Q, K, V, attention output, FFN in, FFN out in 2 layers
        quantized = _logits(model, batch)
        assert set(model.state_dict()) == keys  # checkpoints and save_pretrained see the plain model
        loss = model(**batch).loss
        loss.backward()
        assert model.bert.encoder.layer[0].intermediate.dense.weight.grad.abs().sum() > 0  # straight through
    assert not torch.equal(quantized, plain)
    torch.testing.assert_close(quantized, plain, atol=0.05, rtol=0)
    torch.testing.assert_close(_logits(model, batch), plain)


def test_the_qat_stage_trains_the_student_through_the_fake_quant(model, tmp_path):
    from accelerate import Accelerator

    teacher = copy.deepcopy(model)
    student = copy.deepcopy(model)
    batch = _batch()
    loader = torch.utils.data.DataLoader([{k: v[i] for k, v in batch.items()} for i in range(6)], batch_size=3)
    loader.sampler.epoch = 0  # the loop sets the epoch of its EpochOrder sampler
    quantization = QuantizationConfig(max_accuracy_drop=0.01, qat_epochs=1, qat_lr=1e-3)
    before = student.bert.encoder.layer[0].output.dense.weight.detach().clone()
    runner = StageRunner(Accelerator(cpu=True), None, tmp_path, JobControl(), TrainingConfig(log_every=1), dict)
    with fake_quantized(student):
        events = list(runner.run_stage(qat_stage(student, teacher, loader, quantization, DistillationConfig())))
    assert isinstance(events[-1], StageFinished)
    assert not torch.equal(student.bert.encoder.layer[0].output.dense.weight, before)
    assert {"prediction"} == set(next(e for e in events if type(e).__name__ == "Step").losses) - {"total"}


def test_int8_accuracy_drop_scores_fp32_and_int8_on_the_dev_split(tmp_path):
    folder = save_tiny_bert(tmp_path / "model", with_head=True)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = BertForSequenceClassification.from_pretrained(folder).eval()
    dev = Split(["good movie", "bad day", "the car", "i love it"] * 4, torch.tensor([2, 0, 1, 2] * 4).numpy(),
                LABELS, 16)
    fp32, int8 = int8_accuracy_drop(model, tokenizer, dev, QuantizationConfig(), threads=1)
    assert 0 <= fp32 <= 1 and 0 <= int8 <= 1
    assert (fp32 * 16) == int(fp32 * 16)  # an accuracy over the 16 dev texts
