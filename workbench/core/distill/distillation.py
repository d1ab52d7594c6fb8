"""The loss functions of each TinyBERT stage, as functions from a batch to weighted loss components.

Intermediate distillation captures attention scores only for the mapped layers (hooks on the query and
key projections), so both models keep their fast attention kernel and no attention maps are built for
layers nobody maps. The teacher runs under no_grad: it never needs gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from workbench.core.distill.attention_scores import AttentionScoreCapture, ProjectionCapture
from workbench.core.distill.losses import (
    AttentionLossError,
    Projections,
    attention_mse,
    attention_relations,
    hard_label_cross_entropy,
    hidden_mse,
    relation_heads,
    soft_cross_entropy,
)
from workbench.core.distill.mapping import LayerMapping
from workbench.core.distill.teacher_cache import TeacherCache, narrowed, sequence_dims
from workbench.core.distill.transfer import hard_labels
from workbench.core.recipe import LossWeights
from workbench.core.sources.batches import model_inputs, padded_to
from workbench.core.sources.families import ROLES, family_of

Batch = dict[str, torch.Tensor]
# (the trainable module as prepared for the device, possibly DDP-wrapped, or its bf16 forward (distill/precision.py);
# a batch) -> weighted loss components
LossFunction = Callable[[nn.Module, Batch], dict[str, torch.Tensor]]
TEACHER_BUCKET = 16  # tokens: the teacher reads an example padded to its length rounded up to a multiple of this


class StudentWithProjections(nn.Module):
    """The trainable part of distillation: the student and the learned maps W_e, W_h into teacher width."""

    def __init__(self, student: nn.Module, teacher_width: int) -> None:
        super().__init__()
        self.student, self.teacher_width = student, teacher_width
        self.projections = Projections(self.student_width(), teacher_width)
        self._projected_from = self.student_width()

    def student_width(self) -> int:
        return family_of(self.student.config).hidden_size(self.student.config)

    def match_width(self) -> None:
        """After width pruning, maps from the student's new width, so that forward runs. The recovery stage
        distils predictions only and never trains them; a resumed run builds the same from the saved model."""
        if self.student_width() != self._projected_from:
            device = next(self.student.parameters()).device
            self.projections = Projections(self.student_width(), self.teacher_width).to(device)
            self._projected_from = self.student_width()

    def forward(self, **batch: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Logits plus every hidden state mapped into teacher width (index 0: embeddings), as a plain dict.

        The projections run inside forward so that a DDP-wrapped module sees (and syncs) their gradients;
        a plain dict because DDP rebuilds model-output classes without extra fields.
        """
        outputs = self.student(**batch, output_hidden_states=True)
        hidden = outputs.hidden_states
        projected = [self.projections.embedding(hidden[0])] + [self.projections.hidden(h) for h in hidden[1:]]
        return {"logits": outputs.logits, "projected": projected}


def check_attention_compatible(teacher_config, student_config, weights: LossWeights, attention_on: bool,
                               attention_loss: str = "scores") -> None:
    teacher_heads = family_of(teacher_config).num_heads(teacher_config)
    student_heads = family_of(student_config).num_heads(student_config)
    if attention_on and weights.attention > 0 and attention_loss == "scores" and teacher_heads != student_heads:
        raise AttentionLossError(
            f"attention loss needs equal head counts, but the teacher has {teacher_heads} heads and the student "
            f"{student_heads}; set distillation.attention_loss: relation (MiniLM's relations work across head "
            f"counts), mapping.attention: false (hidden states only) or give the student {teacher_heads} heads"
        )


def finetune_losses() -> LossFunction:
    def losses(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        return {"hard_label": hard_label_cross_entropy(model(**model_inputs(batch)).logits, batch["labels"])}

    return losses


class TeacherStudentLoss:
    """A distillation loss whose teacher targets (`names`) may come from a `TeacherCache`.

    The teacher's outputs depend on the padded length in the last bits, so the teacher reads each example
    padded to a length that depends on the example alone: its own length rounded up to a multiple of
    TEACHER_BUCKET, at most `teacher_length` (the recipe's max_length). An example's targets are then the same
    whichever batch it is in, and a job with the cache trains on exactly the targets of one without it.
    Padding every example to max_length did the same at twice the cost on tweets (33 tokens on average, 64
    read). `prepare(batches)` fills the cache before the stage's first step, in one pass over its training
    set, so that the first epoch costs like the later ones.
    """

    def __init__(self, teacher_targets: Callable[[Batch], Batch], names: set[str],
                 compare: Callable[[nn.Module, Batch, Batch], dict[str, torch.Tensor]],
                 cache: TeacherCache | None, teacher_length: int | None, pad_id: int | None,
                 bf16: bool = False) -> None:
        self._teacher_targets, self.names, self._compare, self.cache = teacher_targets, names, compare, cache
        self.teacher_length, self.pad_id, self.bf16 = teacher_length, pad_id or 0, bf16

    def __call__(self, trainable: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        return self._compare(trainable, batch, self._targets(batch))

    def prepare(self, batches: Callable[[], Iterable[Batch]], between_batches: Callable[[], None]) -> None:
        if self.cache is not None:
            self.cache.fill(batches(), self.names, self._teacher, between_batches)

    def _teacher(self, batch: Batch) -> Batch:
        inputs = model_inputs(batch)
        if not self.teacher_length:
            return self._run_teacher(inputs)
        lengths = teacher_lengths(inputs["attention_mask"].sum(1), self.teacher_length)
        width = max(int(lengths.max()), inputs["attention_mask"].shape[1])
        targets: Batch = {}
        for length in lengths.unique().tolist():  # one teacher pass per padded length in the batch
            rows = torch.nonzero(lengths == length).flatten()
            part = {name: value[rows][:, :length] for name, value in inputs.items()}
            for name, value in self._run_teacher(padded_to(part, length, self.pad_id)).items():
                if name not in targets:
                    targets[name] = value.new_zeros(len(lengths), *_widened(value.shape[1:], sequence_dims(name),
                                                                            width))
                targets[name][(rows, *(slice(0, size) for size in value.shape[1:]))] = value
        return targets

    def _run_teacher(self, inputs: Batch) -> Batch:
        """The teacher's targets. A job training in bf16 computes them in bf16 autocast too, handed on in fp32 like
        the student's outputs: its matrix products run twice as fast, and they are a third of a full corpus's
        intermediate stage."""
        if not self.bf16:
            return self._teacher_targets(inputs)
        with torch.autocast(inputs["input_ids"].device.type, dtype=torch.bfloat16):
            targets = self._teacher_targets(inputs)
        return {name: value.float() for name, value in targets.items()}

    def _targets(self, batch: Batch) -> Batch:
        mask = batch["attention_mask"]
        compute = lambda: narrowed(self._teacher(batch), mask.shape[1])  # noqa: E731
        if self.cache is None:
            return compute()
        targets = self.cache.targets(batch["idx"], mask.sum(1), mask.shape[1], self.names, compute)
        return {name: value.to(mask.device) for name, value in targets.items()}


def teacher_lengths(lengths: torch.Tensor, most: int) -> torch.Tensor:
    """The length the teacher reads each example at: its own, rounded up to a multiple of TEACHER_BUCKET, at most
    `most`."""
    return torch.clamp((lengths + TEACHER_BUCKET - 1) // TEACHER_BUCKET * TEACHER_BUCKET, max=most)


def _widened(shape: torch.Size, dims: tuple[int, ...], width: int) -> list[int]:
    return [width if dim in dims else size for dim, size in enumerate(shape)]


def intermediate_losses(teacher: nn.Module, student: StudentWithProjections, mapping: LayerMapping,
                        weights: LossWeights, hidden_on: bool, attention_on: bool,
                        cache: TeacherCache | None = None, attention_loss: str = "scores",
                        heads: int | None = None, teacher_length: int | None = None,
                        bf16: bool = False) -> TeacherStudentLoss:
    """Embedding + hidden + attention losses; the capture hooks sit on the unwrapped student's layers.

    `attention_loss` "scores" is TinyBERT's MSE of pre-softmax scores, "relation" MiniLM's Q-Q, K-K, V-V
    relation KL in `heads` relation heads (default: see losses.relation_heads)."""
    # Pairs switched off one by one (mapping.no_hidden / no_attention) are neither captured nor summed.
    hidden_pairs = mapping.hidden_pairs() if hidden_on and weights.hidden > 0 else []
    attention_pairs = mapping.attention_pairs() if attention_on and weights.attention > 0 else []
    teacher_hidden = sorted({0} | {n for _, n in hidden_pairs})
    teacher_layers = sorted({n - 1 for _, n in attention_pairs})
    student_layers = sorted({m - 1 for m, _ in attention_pairs})
    relation = attention_loss == "relation"
    if relation:
        teacher_capture = ProjectionCapture(teacher, family_of(teacher.config), teacher_layers)
        student_capture = ProjectionCapture(student.student, family_of(student.student.config), student_layers)
        heads = heads or _default_relation_heads(teacher, student.student)
    else:
        teacher_capture = AttentionScoreCapture(teacher, family_of(teacher.config), teacher_layers)
        student_capture = AttentionScoreCapture(student.student, family_of(student.student.config), student_layers)

    def teacher_targets(inputs: Batch) -> Batch:
        with teacher_capture, torch.no_grad():
            outputs = teacher(**inputs, output_hidden_states=True)
            targets = {f"hidden{n}": outputs.hidden_states[n] for n in teacher_hidden}
            if "logits" in outputs:  # free with this pass: cached, they spare the prediction stages a teacher pass
                targets["logits"] = outputs.logits
            for _, n in attention_pairs:
                if relation:
                    targets |= {f"projection{n}_{role}": teacher_capture.projections[n - 1][role] for role in ROLES}
                else:
                    targets[f"scores{n}"] = teacher_capture.scores[n - 1]
        teacher_capture.clear()
        return targets

    def attention_term(captured: dict, m: int, n: int, targets: Batch, mask: torch.Tensor) -> torch.Tensor:
        if relation:
            teacher_projections = {role: targets[f"projection{n}_{role}"] for role in ROLES}
            return attention_relations(captured[m - 1], teacher_projections, mask, heads)
        return attention_mse(captured[m - 1], targets[f"scores{n}"], mask)

    def compare(trainable: nn.Module, batch: Batch, targets: Batch) -> dict[str, torch.Tensor]:
        inputs, mask = model_inputs(batch), batch["attention_mask"]
        with student_capture:
            student_hidden = trainable(**inputs)["projected"]
            captured = dict(student_capture.projections if relation else student_capture.scores)
        student_capture.clear()
        components: dict[str, torch.Tensor] = {}
        if weights.embedding > 0:
            components["embedding"] = weights.embedding * hidden_mse(student_hidden[0], targets["hidden0"], mask)
        if hidden_pairs:
            components["hidden"] = weights.hidden * sum(
                hidden_mse(student_hidden[m], targets[f"hidden{n}"], mask) for m, n in hidden_pairs)
        if attention_pairs:
            components["attention"] = weights.attention * sum(
                attention_term(captured, m, n, targets, mask) for m, n in attention_pairs)
        return components

    attention_names = ({f"projection{n}_{role}" for _, n in attention_pairs for role in ROLES} if relation
                       else {f"scores{n}" for _, n in attention_pairs})
    names = {f"hidden{n}" for n in teacher_hidden} | attention_names
    return TeacherStudentLoss(teacher_targets, names, compare, cache, teacher_length, teacher.config.pad_token_id,
                              bf16)


def _default_relation_heads(teacher: nn.Module, student: nn.Module) -> int:
    widths = [family_of(model.config).attention_width(family_of(model.config).layers(model)[0])
              for model in (teacher, student)]
    return relation_heads(*widths, family_of(student.config).num_heads(student.config))


def prediction_losses(teacher: nn.Module, weights: LossWeights, temperature: float,
                      cache: TeacherCache | None = None, teacher_length: int | None = None,
                      bf16: bool = False) -> TeacherStudentLoss:
    def teacher_logits(inputs: Batch) -> Batch:
        with torch.no_grad():
            return {"logits": teacher(**inputs).logits}

    def compare(trainable: nn.Module, batch: Batch, targets: Batch) -> dict[str, torch.Tensor]:
        student_logits = trainable(**model_inputs(batch))["logits"]
        components = {}
        if weights.prediction > 0:
            components["prediction"] = weights.prediction * soft_cross_entropy(
                student_logits, targets["logits"], temperature)
        if weights.hard_label > 0:
            # Transfer rows have no true label: the teacher's, from the logits the soft loss reads anyway.
            labels = hard_labels(batch["labels"], targets["logits"])
            components["hard_label"] = weights.hard_label * hard_label_cross_entropy(student_logits, labels)
        return components

    return TeacherStudentLoss(teacher_logits, {"logits"}, compare, cache, teacher_length,
                              teacher.config.pad_token_id, bf16)
