"""The recipe: one validated description of a compression job, saved and loaded as YAML.

The window edits a recipe and the command line reads one; both run the same object. Unknown keys and
bad values fail at load time with the dotted field path and the allowed values.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator, model_validator

from workbench.core.errors import RecipeError, short_repr
from workbench.core.recipe_compression import PruningConfig, QuantizationConfig
from workbench.core.recipe_search import SearchConfig
from workbench.core.recipe_section import LearningRate, Section, SplitSize, StageConfig
from workbench.core.safe_yaml import parse_yaml, read_recipe_text

BUNDLED_TEACHER = "bundled:all-MiniLM-L6-v2"
BUNDLED_TWEETS = "bundled:tweets"
MAX_NAME_LENGTH = 100  # the run folder's name adds a time stamp; most file systems allow 255 bytes


def _folder_name(name: str) -> str:
    """A recipe's name names its run folders inside output_dir: one plain folder name, never a path."""
    if not name.strip() or name.strip(".") == "" or any(c in name for c in "/\\\0"):
        raise ValueError("the name names the run folders inside output_dir: give a plain name without "
                         "/, \\ or .., e.g. 'my-sentiment'")
    if len(name.encode()) > MAX_NAME_LENGTH:
        raise ValueError(f"the name is longer than {MAX_NAME_LENGTH} bytes; give a shorter one")
    return name


FolderName = Annotated[str, AfterValidator(_folder_name)]


class DataConfig(Section):
    source: str = BUNDLED_TWEETS
    text_column: str = "text"
    label_column: str = "sentiment"
    label_names: list[str] | None = Field(
        default=None, description="the classes' names: either the label column's own values (which classes, in "
        "which order), or one display name per class found, in class order (e.g. rotten, fresh for 0, 1)")
    train_size: SplitSize = 0.8
    dev_size: SplitSize = 0.1
    test_size: SplitSize = 0.1
    seed: int = Field(default=42, ge=0, le=2**32 - 1, description="numpy takes seeds in 0 .. 2**32 - 1")
    max_length: int = Field(default=64, ge=8, le=512)

    @field_validator("label_names")
    @classmethod
    def _names_are_distinct(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return None
        names = [name.strip() for name in names]
        if len(names) < 2 or not all(names):
            raise ValueError("give a non-empty name for each of at least two classes")
        if len(set(names)) != len(names):
            raise ValueError("a class is named twice")
        return names

    @model_validator(mode="after")
    def _fractions_leave_room(self) -> DataConfig:
        fractions = [s for s in (self.train_size, self.dev_size, self.test_size) if s < 1]
        if sum(fractions) > 1 + 1e-9:
            raise ValueError("train_size + dev_size + test_size given as fractions add up to more than 1")
        for size in (self.train_size, self.dev_size, self.test_size):
            if size >= 1 and size != int(size):
                raise ValueError(f"split size {size} is neither a fraction below 1 nor a whole row count")
        return self


class TeacherConfig(Section):
    source: str = BUNDLED_TEACHER
    reuse: bool = Field(default=True, description="reuse a teacher fine-tuned earlier on the same split and settings")
    cache_dir: str | None = Field(default=None, description="where fine-tuned teachers are kept; default: "
                                  "OUTPUT_DIR/.teacher-cache")
    # Models whose config names custom code (`auto_map`) run that code when loaded: only on this opt-in.
    trust_remote_code: bool = False


StudentPreset = Literal["tinybert-4l-312d", "tinybert-6l-768d", "drop-layers", "custom"]
StudentInit = Literal["random", "teacher", "pretrained"]


class StudentConfig(Section):
    preset: StudentPreset = "drop-layers"
    layers: int | None = Field(default=None, ge=1, le=48)
    hidden_size: int | None = Field(default=None, ge=8, le=4096)
    heads: int | None = Field(default=None, ge=1, le=64)
    ffn_size: int | None = Field(default=None, ge=8, le=16384)
    init: StudentInit = "teacher"
    teacher_layers: list[Annotated[int, Field(ge=1)]] | None = None
    pretrained: str | None = None

    @model_validator(mode="after")
    def _shape_is_complete(self) -> StudentConfig:
        if self.preset == "custom":
            missing = [f for f in ("layers", "hidden_size", "heads", "ffn_size") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"preset 'custom' needs {', '.join(missing)}")
            if self.hidden_size % self.heads:
                raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of heads {self.heads}")
        if self.init == "pretrained" and not self.pretrained:
            raise ValueError("init 'pretrained' needs 'pretrained': the folder of a saved student")
        if self.teacher_layers is not None and len(set(self.teacher_layers)) != len(self.teacher_layers):
            raise ValueError("teacher_layers lists a layer twice")
        return self


class MappingConfig(Section):
    mode: Literal["uniform", "last", "custom"] = "uniform"
    # Custom mode: the teacher layer each student layer learns from, in student order; 0 = embeddings.
    layers: list[Annotated[int, Field(ge=0)]] | None = None
    hidden: bool = True
    attention: bool = True
    # Per-pair switches: student layers (1-based) whose hidden-state / attention loss is left out. Checked
    # against the student's layer count when the mapping is built (workbench.core.distill.mapping), where it is known.
    no_hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    no_attention: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _custom_has_layers(self) -> MappingConfig:
        if self.mode == "custom" and not self.layers:
            raise ValueError("mode 'custom' needs 'layers': one teacher layer per student layer")
        return self


class LossWeights(Section):
    embedding: float = Field(default=1.0, ge=0)
    hidden: float = Field(default=1.0, ge=0)
    attention: float = Field(default=1.0, ge=0)
    prediction: float = Field(default=1.0, ge=0)
    hard_label: float = Field(default=0.0, ge=0)


class AugmentationConfig(Section):
    enabled: bool = False
    copies: int = Field(default=20, ge=1, le=100, description="N_a: augmented copies per example")
    replace_prob: float = Field(default=0.4, ge=0, le=1, description="p_t: chance to replace a word")
    candidates: int = Field(default=15, ge=1, le=100, description="K: candidate replacements per word")
    model: str | None = Field(default=None, description="a local masked-LM folder to draw candidates from "
                              "(default: the teacher's own MLM head, else its embedding neighbours)")


class TransferConfig(Section):
    """A transfer set: more text for task distillation, every row labelled by the fine-tuned teacher
    (distill/transfer.py). Off by default: the distillation data is the training split."""

    copies: int = Field(default=0, ge=0, le=100, description="word-replaced copies of each training text "
                        "(augmentation's replace_prob, candidates and model), labelled by the teacher; 0 = none")
    source: str | None = Field(default=None, description="unlabelled text labelled by the teacher: a text "
                               "file (one text a line) or a dataset with a text column")
    text_column: str = "text"
    max_rows: int | None = Field(default=None, ge=1, description="the most rows read from source")


class GeneralDistillationConfig(StageConfig):
    """A training stage like the others (epochs, lr, warm-up, max_steps) over unlabelled text."""

    enabled: bool = False
    source: str | None = None
    text_column: str = "text"
    lr: LearningRate = 1e-4
    max_rows: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _enabled_has_source(self) -> GeneralDistillationConfig:
        if self.enabled and not self.source:
            raise ValueError("general distillation needs 'source': a text file or a dataset with a text column")
        return self


class DistillationConfig(Section):
    teacher_finetune: StageConfig = StageConfig(epochs=2.0, lr=5e-5)
    general: GeneralDistillationConfig = GeneralDistillationConfig()
    intermediate: StageConfig = StageConfig(epochs=3.0, lr=5e-5)
    prediction: StageConfig = StageConfig(epochs=3.0, lr=3e-5)
    weights: LossWeights = LossWeights()
    temperature: float = Field(default=1.0, gt=0, le=100)
    # scores: TinyBERT's MSE of pre-softmax scores (equal head counts); relation: MiniLM's Q-Q, K-K, V-V
    # relations (any head counts, any family).
    attention_loss: Literal["scores", "relation"] = "scores"
    relation_heads: int | None = Field(default=None, ge=1, le=256, description="relation heads; default: the "
                                       "student's head count, or the largest divisor of both widths below it")
    augmentation: AugmentationConfig = AugmentationConfig()
    transfer: TransferConfig = TransferConfig()
    teacher_cache_mb: int = Field(default=2048, ge=0, description="memory budget for cached teacher outputs")

    @model_validator(mode="after")
    def _one_kind_of_copies(self) -> DistillationConfig:
        if self.augmentation.enabled and self.transfer.copies:
            raise ValueError("augmentation.enabled and transfer.copies both add word-replaced copies: give one")
        return self


class TrainingConfig(Section):
    batch_size: int = Field(default=32, ge=1, le=4096)
    eval_batch_size: int = Field(default=64, ge=1, le=4096)
    seed: int = Field(default=42, ge=0, le=2**32 - 1, description="numpy takes seeds in 0 .. 2**32 - 1")
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # auto: bf16 autocast where the hardware has native bf16, else fp32 (distill/precision.py)
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"
    checkpoint_every: int = Field(default=200, ge=1, description="steps between checkpoints")
    log_every: int = Field(default=10, ge=1, description="steps between logged loss values")
    threads: int | None = Field(default=None, ge=1, le=256)
    group_by_length: bool = Field(default=True, description="batch texts of similar length: less padding")
    max_grad_norm: float | None = Field(default=1.0, gt=0, description="gradient clipping; null: none")
    weight_decay: float = Field(default=0.01, ge=0, lt=1, description="AdamW's, on weight matrices only")


class Recipe(Section):
    name: FolderName = "untitled"
    description: str = ""
    data: DataConfig = DataConfig()
    teacher: TeacherConfig = TeacherConfig()
    student: StudentConfig = StudentConfig()
    mapping: MappingConfig = MappingConfig()
    distillation: DistillationConfig = DistillationConfig()
    pruning: PruningConfig = PruningConfig()
    quantization: QuantizationConfig = QuantizationConfig()
    training: TrainingConfig = TrainingConfig()
    search: SearchConfig = SearchConfig()
    output_dir: str = "runs"

    def code_warning(self) -> str | None:
        """What a recipe that runs a model's own code says before anything loads: the command line prints it,
        the window asks to confirm it."""
        if not self.teacher.trust_remote_code:
            return None
        return (f"this recipe runs the model's own Python code from {self.teacher.source} "
                "(teacher.trust_remote_code: true), with all your permissions; run it only for a model whose code "
                "you have read")

    def teacher_cache_dir(self) -> Path:
        """Where fine-tuned teachers are kept: the recipe's own folder, or one beside its runs."""
        return Path(self.teacher.cache_dir or Path(self.output_dir) / ".teacher-cache")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_yaml(), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: Any, origin: str = "recipe") -> Recipe:
        if not isinstance(data, dict):
            raise RecipeError(
                f"{origin}: a recipe is a mapping of sections (data, teacher, ...), got {short_repr(data)}")
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise RecipeError(describe_validation_error(error, origin)) from None

    def with_overrides(self, assignments: list[str]) -> Recipe:
        """A copy with `section.key=value` assignments applied (values parsed as YAML, so `1e-4`, `true` and
        `[2, 4]` work), validated like a recipe file."""
        data = self.model_dump(mode="json")
        for assignment in assignments:
            path, sep, text = assignment.partition("=")
            if not sep or not path.strip():
                raise RecipeError(f"--set {assignment!r}: write it as section.key=value, e.g. training.seed=7")
            *sections, key = path.strip().split(".")
            target = data
            for section in sections:
                target = target.setdefault(section, {})
                if not isinstance(target, dict):
                    raise RecipeError(f"--set {assignment!r}: '{section}' is a value, not a section")
            target[key] = parse_yaml(text, f"--set {path.strip()}") if text.strip() else None
        return Recipe.from_dict(data, origin="--set")

    @classmethod
    def load(cls, path: str | Path) -> Recipe:
        """The recipe in a YAML file: the one loader of the command line, the job and the window."""
        path = Path(path)
        data = parse_yaml(read_recipe_text(path), str(path))
        return cls.from_dict(data if data is not None else {}, origin=str(path))


def describe_validation_error(error: ValidationError, origin: str) -> str:
    """One line per problem: the dotted field path, what is wrong and what is allowed."""
    lines = [f"{origin}: {error.error_count()} problem(s) in the recipe"]
    for path, item in field_errors(error):
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(item["loc"][:-1])
            guess = difflib.get_close_matches(str(item["loc"][-1]), allowed, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            lines.append(f"  {path}: unknown key{hint}; allowed keys: {', '.join(allowed)}")
        else:
            where = path or "recipe"
            lines.append(f"  {where}: {item['msg']} (got {short_repr(item.get('input'))})")
    if len(lines) == 2:  # one problem: one line
        return f"{origin}: {lines[1].strip()}"
    return "\n".join(lines)


def field_messages(error: ValidationError) -> dict[str, str]:
    """Dotted path -> the message the window shows at that field (section-level validators report the
    section's path; several problems of one field are joined)."""
    messages: dict[str, str] = {}
    for path, item in field_errors(error):
        message = str(item["msg"]).removeprefix("Value error, ")
        if not isinstance(item.get("input"), dict):  # a whole section as "got …" says nothing at a field
            message += f" (got {item.get('input')!r:.40})"
        messages[path] = f"{messages[path]}; {message}" if path in messages else message
    return messages


def field_errors(error: ValidationError) -> list[tuple[str, dict[str, Any]]]:
    """Each problem beside its field's dotted path ("" for the whole recipe): the one reading of pydantic's
    error locations, for the command line's lines and the window's field messages."""
    return [(".".join(str(part) for part in item["loc"]), item) for item in error.errors(include_url=False)]


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = Recipe
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
