"""The student: its shape from a preset, its configuration, its initial weights, and what it will cost.

A student is the teacher's configuration with other sizes, so it stays in the teacher's family and keeps
its vocabulary: distillation compares teacher and student token by token, on the same input ids.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from transformers import AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

from workbench.core.errors import ModelSourceError, RecipeError
from workbench.core.recipe import StudentConfig
from workbench.core.sources.families import family_of, standard_config
from workbench.core.sources.layer_spread import spread_layers
from workbench.core.sources.models import (
    count_parameters,
    head_labels,
    load_config,
    pretrained_options,
    resolve_model_source,
)


@dataclass(frozen=True)
class Shape:
    layers: int
    hidden_size: int
    heads: int
    ffn_size: int


# None: the shape is not fixed by the preset. "drop-layers" takes the teacher's width with fewer layers,
# "custom" takes every size from the recipe.
STUDENT_PRESETS: dict[str, Shape | None] = {
    "tinybert-4l-312d": Shape(layers=4, hidden_size=312, heads=12, ffn_size=1200),
    "tinybert-6l-768d": Shape(layers=6, hidden_size=768, heads=12, ffn_size=3072),
    "drop-layers": None,
    "custom": None,
}


def student_shape(cfg: StudentConfig, teacher_config: PretrainedConfig) -> Shape:
    """The preset's shape, with every size the recipe gives explicitly taking precedence."""
    teacher = _shape(teacher_config)
    preset = STUDENT_PRESETS[cfg.preset]
    if preset is None:
        layers = len(cfg.teacher_layers) if cfg.teacher_layers else max(1, teacher.layers // 2)
        preset = replace(teacher, layers=layers)
    shape = Shape(
        layers=cfg.layers or preset.layers,
        hidden_size=cfg.hidden_size or preset.hidden_size,
        heads=cfg.heads or preset.heads,
        ffn_size=cfg.ffn_size or preset.ffn_size,
    )
    if shape.hidden_size % shape.heads:
        raise RecipeError(
            f"student: hidden size {shape.hidden_size} is not a multiple of {shape.heads} heads; "
            "change student.hidden_size or student.heads"
        )
    return shape


def default_teacher_layers(student_layers: int, teacher_layers: int) -> list[int]:
    """Teacher layers (1-based) to copy: the uniform mapping's own (sources/layer_spread.py)."""
    return spread_layers(student_layers, teacher_layers)


def student_config(
    cfg: StudentConfig, teacher_config: PretrainedConfig, label_names: list[str]
) -> PretrainedConfig:
    """A resized copy of the teacher's configuration, or a saved student's, with these labels."""
    if cfg.init == "pretrained":
        config = _pretrained_config(cfg.pretrained, teacher_config, label_names)
    else:
        config = copy.deepcopy(standard_config(teacher_config))
        shape = student_shape(cfg, teacher_config)
        family_of(config).set_shape(config, shape.layers, shape.hidden_size, shape.heads, shape.ffn_size)
    config.id2label = dict(enumerate(label_names))
    config.label2id = {name: i for i, name in enumerate(label_names)}
    config.architectures = [MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(config)].__name__]
    return config


def build_student(
    cfg: StudentConfig, teacher_model: PreTrainedModel, label_names: list[str]
) -> PreTrainedModel:
    """A sequence classifier initialised as the recipe says: random, from teacher layers, or from a folder."""
    config = student_config(cfg, teacher_model.config, label_names)
    if cfg.init == "pretrained":
        folder = resolve_model_source(cfg.pretrained).folder
        return AutoModelForSequenceClassification.from_pretrained(folder, config=config, **fast_attention(config),
                                                                  **pretrained_options())
    student = AutoModelForSequenceClassification.from_config(config, **fast_attention(config))
    if cfg.init == "teacher":
        _copy_teacher_weights(
            student, teacher_model, chosen_teacher_layers(cfg, config, teacher_model.config)
        )
    return student


def check_same_vocabulary(teacher_tokenizer: Any, student_tokenizer: Any) -> None:
    teacher, student = teacher_tokenizer.get_vocab(), student_tokenizer.get_vocab()
    advice = "the student must use the teacher's tokenizer (distillation compares them on the same token ids)"
    if len(teacher) != len(student):
        raise ModelSourceError(
            f"the student's vocabulary has {len(student):,} tokens and the teacher's {len(teacher):,}; "
            f"{advice}"
        )
    differing = [token for token, index in teacher.items() if student.get(token) != index]
    if differing:
        token = min(differing, key=teacher.__getitem__)
        raise ModelSourceError(
            f"the student's vocabulary differs from the teacher's at token {token!r} "
            f"(teacher id {teacher[token]}, student id {student.get(token)}); {advice}"
        )


def describe_student(
    config: PretrainedConfig, teacher_config: PretrainedConfig, seq_len: int = 64
) -> dict[str, int | float]:
    """Size and expected speed of a student, from its configuration alone (no weights are allocated)."""
    shape = _shape(config)
    parameters = count_parameters(config)
    return {
        "layers": shape.layers,
        "hidden_size": shape.hidden_size,
        "heads": shape.heads,
        "ffn_size": shape.ffn_size,
        "parameters": parameters,
        "fp32_mib": parameters * 4 / 2**20,
        "speedup": _encoder_flops(_shape(teacher_config), seq_len) / _encoder_flops(shape, seq_len),
    }


def _encoder_flops(shape: Shape, seq_len: int) -> int:
    # Multiply-adds per token: Q, K, V and output projections, the two FFN matrices, and the scores and
    # weighted sum over seq_len positions. Embedding lookups and the head are negligible next to these.
    h = shape.hidden_size
    return shape.layers * (4 * h * h + 2 * h * shape.ffn_size + 2 * seq_len * h)


def _pretrained_config(
    spec: str, teacher_config: PretrainedConfig, label_names: list[str]
) -> PretrainedConfig:
    config = load_config(resolve_model_source(spec))
    saved = head_labels(config)
    if saved and saved != list(label_names):
        raise ModelSourceError(
            f"{spec}: its head predicts {saved} but the data has {list(label_names)}; "
            "give a student trained on these labels, in this order, "
            "or set student.init to 'teacher' or 'random'"
        )
    if config.vocab_size != teacher_config.vocab_size:
        raise ModelSourceError(
            f"{spec}: its vocabulary has {config.vocab_size:,} tokens and the teacher's "
            f"{teacher_config.vocab_size:,}; the student must use the teacher's tokenizer"
        )
    return config


def chosen_teacher_layers(
    cfg: StudentConfig, config: PretrainedConfig, teacher_config: PretrainedConfig
) -> list[int]:
    student, teacher = _shape(config), _shape(teacher_config)
    for name, theirs, ours in (
        ("hidden size", teacher.hidden_size, student.hidden_size),
        ("head count", teacher.heads, student.heads),
        ("FFN size", teacher.ffn_size, student.ffn_size),
    ):
        if theirs != ours:
            raise RecipeError(
                f"student.init 'teacher' copies teacher layers, but the {name} differs (student {ours}, "
                f"teacher {theirs}); set student.init to 'random' or give the student the teacher's {name}"
            )
    if cfg.teacher_layers is None:
        if student.layers > teacher.layers:
            raise RecipeError(
                f"student.init 'teacher': the student has {student.layers} layers but the teacher only "
                f"{teacher.layers}; use fewer student layers or set student.init to 'random'"
            )
        return default_teacher_layers(student.layers, teacher.layers)
    if len(cfg.teacher_layers) != student.layers:
        raise RecipeError(
            f"student.teacher_layers lists {len(cfg.teacher_layers)} layers for a student with "
            f"{student.layers}; list one teacher layer per student layer"
        )
    if max(cfg.teacher_layers) > teacher.layers:
        raise RecipeError(
            f"student.teacher_layers names layer {max(cfg.teacher_layers)} but the teacher has "
            f"{teacher.layers} (layers count from 1 to {teacher.layers})"
        )
    return list(cfg.teacher_layers)


def _copy_teacher_weights(
    student: PreTrainedModel, teacher: PreTrainedModel, teacher_layers: list[int]
) -> None:
    family = family_of(teacher.config)
    family.embeddings(student).load_state_dict(family.embeddings(teacher).state_dict())
    for ours, theirs in zip(family.after_layers(student), family.after_layers(teacher), strict=True):
        ours.load_state_dict(theirs.state_dict())
    all_teacher_layers = family.layers(teacher)
    for layer, index in zip(family.layers(student), teacher_layers, strict=True):
        # ModernBERT's first layer has no attention norm (the embeddings end in one): a teacher layer copied
        # there leaves its norm behind, every other weight matches.
        missing, unexpected = layer.load_state_dict(all_teacher_layers[index - 1].state_dict(), strict=False)
        if any(not key.startswith("attn_norm.") for key in [*missing, *unexpected]):
            raise ModelSourceError(f"teacher layer {index} does not fit a student layer: missing {missing}")


def fast_attention(config: PretrainedConfig) -> dict[str, str]:
    # Asking for SDPA on an architecture without it is an error in transformers, not a fallback.
    # A model's own class (trust_remote_code) extends its family's: that one says.
    supported = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(standard_config(config))]._supports_sdpa
    return {"attn_implementation": "sdpa"} if supported else {}


def _shape(config: PretrainedConfig) -> Shape:
    family = family_of(config)
    return Shape(family.num_layers(config), family.hidden_size(config), family.config_heads(config),
                 family.ffn_size(config))
