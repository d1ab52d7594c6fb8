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


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Batch mean of -sum softmax(z_T / t) * log_softmax(z_S / t)."""
    targets = F.softmax(teacher_logits / temperature, dim=-1)
    return -(targets * F.log_softmax(student_logits / temperature, dim=-1)).sum(-1).mean()


def hard_label_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels)
