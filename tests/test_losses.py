import math

import pytest
import torch
from torch import nn

from workbench.core.distill.losses import (
    AttentionLossError,
    Projections,
    attention_mse,
    hard_label_cross_entropy,
    hidden_mse,
    soft_cross_entropy,
)
from workbench.core.errors import WorkbenchError


def close(value: torch.Tensor, expected: float) -> None:
    assert value.dim() == 0
    assert value.item() == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_hidden_mse_averages_over_real_tokens_only():
    student = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[1.0, 1.0], [50.0, 50.0], [7.0, 7.0]]])
    teacher = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]], [[0.0, 3.0], [0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    # Real tokens: (1,2)-(0,0), (3,4)-(1,1), (1,1)-(0,3): squares 1+4 + 4+9 + 1+4 = 23 over 3 tokens x 2 dims.
    close(hidden_mse(student, teacher, mask), 23 / 6)


def test_hidden_mse_projects_the_student_to_the_teacher_width():
    projection = nn.Linear(1, 2)
    with torch.no_grad():
        projection.weight.copy_(torch.tensor([[2.0], [-1.0]]))
        projection.bias.copy_(torch.tensor([0.0, 1.0]))
    student = torch.tensor([[[1.0], [2.0], [5.0]]])  # projected: (2, 0), (4, -1), (10, -4)
    teacher = torch.tensor([[[1.0, 1.0], [3.0, 0.0], [0.0, 0.0]]])
    loss = hidden_mse(student, teacher, torch.tensor([[1, 1, 0]]), projection)
    close(loss, (1 + 1 + 1 + 1) / 4)
    loss.backward()
    assert projection.weight.grad is not None and projection.weight.grad.abs().sum() > 0


def reference_attention_mse(student, teacher, mask):
    """Per head: the MSE over every (example, query, key) where both tokens are real; then the head mean."""
    batch, heads, seq, _ = student.shape
    per_head = []
    for h in range(heads):
        total, count = 0.0, 0
        for b in range(batch):
            for i in range(seq):
                for j in range(seq):
                    if mask[b][i] and mask[b][j]:
                        total += (student[b][h][i][j].item() - teacher[b][h][i][j].item()) ** 2
                        count += 1
        per_head.append(total / count)
    return sum(per_head) / heads


def test_attention_mse_hand_computed():
    student = torch.tensor([[[[1.0, 9.0], [9.0, 9.0]], [[0.0, 5.0], [5.0, 5.0]]]])
    teacher = torch.tensor([[[[3.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]]])
    # Only (query 0, key 0) is real: head 0 gives (1-3)^2 = 4, head 1 gives (0-1)^2 = 1.
    close(attention_mse(student, teacher, torch.tensor([[1, 0]])), 2.5)


def test_attention_mse_matches_a_loop_over_real_positions():
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(2, 3, 4, 4, generator=generator)
    teacher = torch.randn(2, 3, 4, 4, generator=generator)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    close(attention_mse(student, teacher, mask), reference_attention_mse(student, teacher, mask))


def test_padding_does_not_change_attention_or_hidden_loss():
    generator = torch.Generator().manual_seed(1)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    scores = [torch.randn(2, 2, 4, 4, generator=generator) for _ in range(2)]
    hidden = [torch.randn(2, 4, 8, generator=generator) for _ in range(2)]
    attention_before = attention_mse(*scores, mask)
    hidden_before = hidden_mse(*hidden, mask)

    # New values wherever a padded token is involved, and three more padded positions on the end.
    padded = mask == 0
    for tensor in scores:
        tensor[padded[:, None, :, None].expand_as(tensor)] = 1e3
        tensor[padded[:, None, None, :].expand_as(tensor)] = -1e3
    for tensor in hidden:
        tensor[padded] = 1e3
    longer_mask = torch.cat([mask, torch.zeros(2, 3, dtype=mask.dtype)], dim=1)
    longer_scores = [nn.functional.pad(t, (0, 3, 0, 3), value=5.0) for t in scores]
    longer_hidden = [nn.functional.pad(t, (0, 0, 0, 3), value=5.0) for t in hidden]
    longer_hidden[0][:, 4:] = -5.0

    for scores_now, hidden_now, mask_now in ((scores, hidden, mask), (longer_scores, longer_hidden, longer_mask)):
        torch.testing.assert_close(attention_mse(*scores_now, mask_now), attention_before)
        torch.testing.assert_close(hidden_mse(*hidden_now, mask_now), hidden_before)


def test_attention_mse_refuses_different_head_counts():
    with pytest.raises(AttentionLossError, match="equal head counts.*student has 2 heads.*teacher 4.*4 heads") as e:
        attention_mse(torch.zeros(1, 2, 3, 3), torch.zeros(1, 4, 3, 3), torch.ones(1, 3))
    assert isinstance(e.value, WorkbenchError)


def test_soft_cross_entropy_hand_computed():
    # softmax((0, 0)) = (1/2, 1/2); log_softmax((0, ln 3)) = (ln 1/4, ln 3/4).
    student, teacher = torch.tensor([[0.0, math.log(3)]]), torch.tensor([[0.0, 0.0]])
    close(soft_cross_entropy(student, teacher, 1.0), -(0.5 * math.log(0.25) + 0.5 * math.log(0.75)))

    # At t = 2, row 1: softmax((0, ln 2)) = (1/3, 2/3) against log_softmax((0, ln 3)); row 2: uniform, ln 2.
    student = torch.tensor([[0.0, 2 * math.log(3)], [1.0, 1.0]])
    teacher = torch.tensor([[0.0, 2 * math.log(2)], [4.0, 4.0]])
    row1 = -(math.log(0.25) / 3 + 2 * math.log(0.75) / 3)
    close(soft_cross_entropy(student, teacher, 2.0), (row1 + math.log(2)) / 2)


def test_hard_label_cross_entropy_hand_computed():
    logits = torch.tensor([[0.0, math.log(3)], [math.log(4), 0.0]])
    # p(label 1) is 3/4 in row 1 and 1/5 in row 2.
    close(hard_label_cross_entropy(logits, torch.tensor([1, 1])), -(math.log(3 / 4) + math.log(1 / 5)) / 2)


def test_projections_are_learned_linear_maps_only_when_widths_differ():
    same = Projections(32, 32)
    assert isinstance(same.embedding, nn.Identity) and isinstance(same.hidden, nn.Identity)
    assert list(same.parameters()) == []

    wider = Projections(16, 32)
    for layer in (wider.embedding, wider.hidden):
        assert isinstance(layer, nn.Linear) and (layer.in_features, layer.out_features) == (16, 32)
    assert wider.embedding is not wider.hidden
    assert len(list(wider.parameters())) == 4


def _relation_by_hand(x: list[list[float]], heads: int, real: int) -> list[list[list[float]]]:
    """softmax over real keys of x_i . x_j / sqrt(d_r) per relation head, for real queries, in plain Python."""
    width = len(x[0]) // heads
    out = []
    for r in range(heads):
        part = [row[r * width:(r + 1) * width] for row in x]
        head = []
        for i in range(real):
            logits = [sum(a * b for a, b in zip(part[i], part[j], strict=True)) / math.sqrt(width) for j in range(real)]
            top = max(logits)
            exps = [math.exp(v - top) for v in logits]
            head.append([e / sum(exps) for e in exps])
        out.append(head)
    return out


def test_relation_loss_matches_a_hand_computation_across_head_counts_and_widths():
    from workbench.core.distill.losses import attention_relations

    torch.manual_seed(0)
    # One example of 3 tokens, the last one padding; student width 4, teacher width 6, 2 relation heads.
    student = {role: torch.randn(1, 3, 4, dtype=torch.float64) for role in ("query", "key", "value")}
    teacher = {role: torch.randn(1, 3, 6, dtype=torch.float64) for role in ("query", "key", "value")}
    mask = torch.tensor([[1, 1, 0]])
    expected = 0.0
    for role in ("query", "key", "value"):
        rs = _relation_by_hand(student[role][0].tolist(), 2, 2)
        rt = _relation_by_hand(teacher[role][0].tolist(), 2, 2)
        kl = [sum(p * math.log(p / q) for p, q in zip(rt[h][i], rs[h][i], strict=True))
              for h in range(2) for i in range(2)]
        expected += sum(kl) / len(kl)  # mean over relation heads and real query positions
    close(attention_relations(student, teacher, mask, heads=2), expected)


def test_relation_loss_is_zero_for_equal_relations_has_finite_gradients_and_refuses_bad_heads():
    from workbench.core.distill.losses import attention_relations, relation_heads

    torch.manual_seed(0)
    x = {role: torch.randn(2, 5, 8, requires_grad=True) for role in ("query", "key", "value")}
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    same = attention_relations(x, {k: v.detach() for k, v in x.items()}, mask, heads=4)
    assert same.item() == pytest.approx(0, abs=1e-6)
    other = {role: torch.randn(2, 5, 12) for role in ("query", "key", "value")}
    attention_relations(x, other, mask, heads=4).backward()
    assert all(torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0 for v in x.values())
    with pytest.raises(AttentionLossError, match="relation_heads"):
        attention_relations(x, other, mask, heads=5)
    assert relation_heads(64, 48, 12) == 8 and relation_heads(384, 384, 12) == 12
