"""A transfer set: more text for task distillation than the labelled training split, labelled by the teacher.

TinyBERT's task distillation learns from the teacher on more text than the labelled set: word-replaced copies
of the training texts (`distillation.transfer.copies`, or the older `distillation.augmentation`) and
unlabelled text (`distillation.transfer.source`). None of these rows has a true label. A copy's original
label is wrong once a word that carries the sentiment was replaced (embedding neighbours of "good" include
"bad"), so the only honest label a transfer row has is the fine-tuned teacher's answer.

How it is labelled, at no extra teacher pass: the distillation set is the training split (its true labels
first, in its order, so its example indices are the split's) followed by the transfer rows, whose label is
the marker TRANSFER_LABEL. Every loss that reads a hard label during distillation (the prediction stage,
the recovery stage, QAT; distill/distillation.py `prediction_losses`) takes `hard_labels(labels, logits)`
with the teacher logits it already computes or reads from the teacher cache for the soft loss: the marked
rows get the teacher's argmax, the labelled rows keep their own. The marker is -100, PyTorch's ignore_index,
so a path that ever forgot to replace it would skip those rows rather than train on a made-up class.

Both task-distillation stages (intermediate and prediction layer, as in the paper) and the stages after them
that distil on the same set (recovery, QAT) train on it; teacher fine-tuning and pruning's importance ranking
read the labelled training split only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from workbench.core.sources.data import LABEL, TEXT

if TYPE_CHECKING:
    from datasets import Dataset

TRANSFER_LABEL = -100  # a transfer row: the teacher labels it (torch's cross_entropy ignores this index)


def hard_labels(labels: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """The batch's hard labels: the true ones, and the teacher's argmax where a row is a transfer row."""
    return torch.where(labels == TRANSFER_LABEL, teacher_logits.argmax(-1).to(labels.device), labels)


def with_transfer_rows(train: Dataset, texts: list[str]) -> Dataset:
    """The distillation set: the training split's rows with their true labels, then `texts` marked as
    transfer rows (labelled by the teacher when a loss reads them)."""
    from datasets import Dataset

    return Dataset.from_dict({TEXT: [*train[TEXT], *texts],
                              LABEL: [*train[LABEL], *[TRANSFER_LABEL] * len(texts)]})
