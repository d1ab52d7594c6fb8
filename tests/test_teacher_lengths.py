"""The teacher reads each example at a padded length that depends on the example alone (distill/distillation.py):
its targets are the same in any batch, and short texts are not padded to max_length."""

import torch
from torch import nn

from workbench.core.distill.distillation import TEACHER_BUCKET, TeacherStudentLoss, teacher_lengths


class SpyTeacher(nn.Module):
    """Logits and a 'hidden' target that depend on the padded width (as a real model's last bits do)."""

    def __init__(self) -> None:
        super().__init__()
        self.widths: list[int] = []

    def targets(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        ids, width = inputs["input_ids"].float(), inputs["input_ids"].shape[1]
        self.widths.append(width)
        hidden = ids.unsqueeze(-1).expand(-1, -1, 2) + width / 1000
        return {"hidden1": hidden, "logits": hidden.sum(1) + width / 1000}


def _batch(lengths: list[int]) -> dict[str, torch.Tensor]:
    width = max(lengths)
    ids = torch.tensor([[5 + i] * n + [0] * (width - n) for i, n in enumerate(lengths)])
    return {"input_ids": ids, "attention_mask": (ids != 0).long(), "idx": torch.arange(len(lengths))}


def _loss(teacher: SpyTeacher) -> TeacherStudentLoss:
    return TeacherStudentLoss(teacher.targets, {"hidden1", "logits"}, lambda *_: {}, None, 64, 0)


def test_each_example_is_read_at_its_own_length_rounded_up_not_at_max_length():
    assert teacher_lengths(torch.tensor([1, 16, 17, 40, 70]), 64).tolist() == [16, 16, 32, 48, 64]
    teacher = SpyTeacher()
    _loss(teacher)._targets(_batch([3, 20]))
    assert sorted(teacher.widths) == [TEACHER_BUCKET, 2 * TEACHER_BUCKET]  # with max_length alone: [64]


def test_an_examples_targets_do_not_depend_on_the_batch_it_is_in():
    teacher = SpyTeacher()
    alone = _loss(teacher)._targets({k: v[1:] for k, v in _batch([30, 5]).items()})
    mixed = _loss(teacher)._targets(_batch([30, 5]))
    assert torch.equal(mixed["logits"][1], alone["logits"][0])
    assert torch.equal(mixed["hidden1"][1, :5], alone["hidden1"][0, :5])
    assert mixed["hidden1"].shape[1] == 30  # the batch's own width, as the student reads it


class LinearTeacher(nn.Module):
    """A matrix product, which bf16 autocast computes in bf16."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(1, 3)

    def targets(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"logits": self.linear(inputs["input_ids"].float().sum(1, keepdim=True) / 7)}


def test_a_bf16_job_computes_the_teachers_targets_in_bf16_and_hands_them_on_in_fp32():
    teacher, batch = LinearTeacher(), _batch([3, 20])
    fp32 = TeacherStudentLoss(teacher.targets, {"logits"}, lambda *_: {}, None, 64, 0)._targets(batch)["logits"]
    bf16 = TeacherStudentLoss(teacher.targets, {"logits"}, lambda *_: {}, None, 64, 0, bf16=True)._targets(batch)
    assert bf16["logits"].dtype == torch.float32
    assert not torch.equal(bf16["logits"], fp32) and torch.allclose(bf16["logits"], fp32, rtol=2e-2, atol=2e-2)
