"""TinyBERT distillation losses (Jiao et al. 2020, section 3.1), each a scalar tensor.

`mask` is the tokenizer's attention mask (batch, seq): 1 for real tokens, 0 for padding. Padding is left
out of every intermediate loss, so the batch's padded length does not change the loss value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.errors import WorkbenchError


class AttentionLossError(WorkbenchError):
    """Teacher and student attention maps that cannot be compared."""


class Projections(nn.Module):
    """The learned maps from student width to teacher width: W_e for embeddings, one shared W_h for layers."""

    def __init__(self, student_width: int, teacher_width: int) -> None:
        super().__init__()
        self.embedding = _projection(student_width, teacher_width)
        self.hidden = _projection(student_width, teacher_width)


def _projection(student_width: int, teacher_width: int) -> nn.Module:
    return nn.Identity() if student_width == teacher_width else nn.Linear(student_width, teacher_width)


def hidden_mse(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, projection: nn.Module | None = None
) -> torch.Tensor:
    """MSE(H_S W, H_T) over real tokens: student (B, T, Ds), teacher (B, T, Dt)."""
    if projection is not None:
        student = projection(student)
    weights = mask.to(student.dtype).unsqueeze(-1)
    squared = (student - teacher).pow(2) * weights
    return squared.sum() / (weights.sum() * teacher.shape[-1]).clamp_min(1)


def attention_mse(student_scores: torch.Tensor, teacher_scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over heads of the MSE of pre-softmax scores (B, H, T, T) where query and key are both real."""
    student_heads, teacher_heads = student_scores.shape[1], teacher_scores.shape[1]
    if student_heads != teacher_heads:
        raise AttentionLossError(
            f"attention loss needs equal head counts, but the student has {student_heads} heads and the "
            f"teacher {teacher_heads}; switch the attention loss off or pick a student with {teacher_heads} heads"
        )
    real = mask.to(student_scores.dtype)
    pairs = (real[:, :, None] * real[:, None, :]).unsqueeze(1)  # (B, 1, T, T)
    # Every head has the same positions, so the mean of per-head MSEs is the mean over all kept entries.
    squared = (student_scores - teacher_scores).pow(2) * pairs
    return squared.sum() / (pairs.sum() * student_heads).clamp_min(1)


def relation_heads(teacher_width: int, student_width: int, student_heads: int) -> int:
    """Default relation head count: the student's own heads when both widths divide by it, else the largest
    count below that which divides both (a 16 x 64 teacher and a 12 x 32 student relate in 8 heads)."""
    return max(r for r in range(1, student_heads + 1) if teacher_width % r == 0 and student_width % r == 0)


def attention_relations(student: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor], mask: torch.Tensor,
                        heads: int) -> torch.Tensor:
    """MiniLM-v2's self-attention relation loss (Wang et al. 2021): L_QQ + L_KK + L_VV, each the KL divergence
    from the teacher's to the student's relation softmax(X_r X_r^T / sqrt(d_r)) per relation head r.

    `student` / `teacher` map "query", "key" and "value" to one layer's projections (B, T, width); both
    widths are split into the same number of relation heads, so head counts and widths may differ."""
    return sum(relation_kl(student[role], teacher[role], mask, heads) for role in ("query", "key", "value"))


def relation_kl(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, heads: int) -> torch.Tensor:
    """KL(R_T || R_S) summed over keys, averaged over relation heads and real query positions."""
    for name, width in (("student", student.shape[-1]), ("teacher", teacher.shape[-1])):
        if width % heads:
            raise AttentionLossError(f"relation loss: the {name}'s width {width} does not split into {heads} "
                                     "relation heads; set distillation.relation_heads to a divisor of both widths")
    keys = mask.bool()[:, None, None, :]  # (B, 1, 1, T)
    log_student, log_teacher = _relation_log_probs(student, keys, heads), _relation_log_probs(teacher, keys, heads)
    terms = torch.where(keys, log_teacher.exp() * (log_teacher - log_student), 0.0).sum(-1)  # (B, R, T)
    queries = mask.to(terms.dtype)[:, None, :]
    return (terms * queries).sum() / (queries.sum() * heads).clamp_min(1)


def _relation_log_probs(projection: torch.Tensor, keys: torch.Tensor, heads: int) -> torch.Tensor:
    batch, seq, width = projection.shape
    x = projection.view(batch, seq, heads, width // heads).transpose(1, 2)  # (B, R, T, d_r)
    relations = torch.matmul(x, x.transpose(-1, -2)) * (width // heads) ** -0.5
    # A finite fill: -inf would give NaN gradients through the masked entries that `where` discards.
    relations = relations.masked_fill(~keys, torch.finfo(relations.dtype).min)
    return F.log_softmax(relations.float(), dim=-1)


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Batch mean of -sum softmax(z_T / t) * log_softmax(z_S / t)."""
    targets = F.softmax(teacher_logits / temperature, dim=-1)
    return -(targets * F.log_softmax(student_logits / temperature, dim=-1)).sum(-1).mean()


def hard_label_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels)
