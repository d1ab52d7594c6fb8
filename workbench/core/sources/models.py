"""Model sources: the bundled teacher, a local Hugging Face folder, or a hub id.

Every source resolves to a local folder first (a hub id through the Hugging Face cache), so that
everything downstream loads models and tokenizers one way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.errors import ModelSourceError
from workbench.core.sources.resources import bundled_teacher_dir

BUNDLED_MODELS = {"all-MiniLM-L6-v2": bundled_teacher_dir}
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth")
HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    spec: str
    kind: str  # "bundled" | "local" | "hub"
    folder: Path


def resolve_model_source(spec: str) -> ModelSource:
    """Turn what the user wrote into a local model folder, or explain why that is impossible."""
    spec = spec.strip()
    if spec.startswith("bundled:"):
        return ModelSource(spec, "bundled", _check_model_folder(_bundled_folder(spec)))
    path = Path(spec).expanduser()
    if path.exists():
        return ModelSource(spec, "local", _check_model_folder(path))
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1 or not _HUB_ID.match(spec):
        raise ModelSourceError(f"{spec}: no such model folder (and not a Hugging Face hub id)")
    return ModelSource(spec, "hub", _check_model_folder(_download_from_hub(spec)))


def _bundled_folder(spec: str) -> Path:
    name = spec.removeprefix("bundled:")
    if name not in BUNDLED_MODELS:
        raise ModelSourceError(f"{spec}: unknown bundled model; bundled: {', '.join(BUNDLED_MODELS)}")
    return BUNDLED_MODELS[name]()


def _check_model_folder(folder: Path) -> Path:
    if not folder.is_dir():
        raise ModelSourceError(f"{folder}: is a file, not a model folder (give the folder holding config.json)")
    if not (folder / "config.json").is_file():
        raise ModelSourceError(
            f"{folder}: holds no model (no config.json); give a Hugging Face model folder or a hub id"
        )
    if not weight_files(folder):
        raise ModelSourceError(f"{folder}: has config.json but no weights (model.safetensors or pytorch_model.bin)")
    return folder


def _download_from_hub(model_id: str) -> Path:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(model_id, allow_patterns=HUB_PATTERNS))
    except RepositoryNotFoundError:
        raise ModelSourceError(f"{model_id}: no such model on the Hugging Face hub (check the id)") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
        reason = "offline mode is on (HF_HUB_OFFLINE=1)" if constants.HF_HUB_OFFLINE else "the hub is unreachable"
        raise ModelSourceError(
            f"{model_id}: cannot fetch it from the Hugging Face hub: {reason} and it is not in the local cache; "
            f"download it where there is network or give a local model folder ({type(error).__name__})"
        ) from None


def weight_files(folder: Path) -> list[Path]:
    return sorted({p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern) if p.is_file()})


def folder_size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in weight_files(folder))


def load_config(source: ModelSource):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source.folder)
    except (ValueError, OSError) as error:
        raise ModelSourceError(
            f"{source.spec}: config.json is not a model configuration transformers knows ({error})"
        ) from None


def load_tokenizer(source: ModelSource):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source.folder)
    except (ValueError, OSError) as error:
        raise ModelSourceError(f"{source.spec}: has no usable tokenizer ({str(error).splitlines()[0]})") from None


def has_classification_head(config) -> bool:
    return any(arch.endswith("ForSequenceClassification") for arch in (config.architectures or []))


def head_labels(config) -> list[str]:
    """The labels of the classification head, in id order; empty when there is no head."""
    if not has_classification_head(config):
        return []
    return [str(config.id2label[i]) for i in sorted(int(k) for k in config.id2label)]


def count_parameters(config) -> int:
    """Parameters of the architecture the config describes, counted without loading weights."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    auto = AutoModelForSequenceClassification if has_classification_head(config) else AutoModel
    with torch.device("meta"):
        model = auto.from_config(config)
    return sum(p.numel() for p in model.parameters())


@dataclass
class ModelSummary:
    source: str
    folder: str
    architecture: str
    model_type: str
    layers: int
    hidden_size: int
    heads: int
    ffn_size: int
    vocab_size: int
    parameters: int
    size_bytes: int
    labels: list[str] = field(default_factory=list)
    family: str = ""
    support: dict[str, str] = field(default_factory=dict)  # step -> "yes" / "no: why" (family_support)

    @property
    def has_head(self) -> bool:
        return bool(self.labels)

    def lines(self) -> list[str]:
        head = f"yes, {len(self.labels)} labels: {', '.join(self.labels)}" if self.labels else "no (fine-tuned first)"
        return [
            f"model          {self.source}",
            f"folder         {self.folder}",
            f"architecture   {self.architecture} ({self.model_type})",
            f"layers         {self.layers}",
            f"hidden size    {self.hidden_size}",
            f"heads          {self.heads}",
            f"FFN size       {self.ffn_size}",
            f"vocabulary     {self.vocab_size:,}",
            f"parameters     {self.parameters:,} ({self.parameters / 1e6:.1f}M)",
            f"size on disk   {self.size_bytes / 2**20:.1f} MiB",
            f"task head      {head}",
            f"family         {self.family}",
            *(f"  {step:<24} {text}" for step, text in self.support.items()),
        ]


def summarize_model(spec: str) -> ModelSummary:
    from workbench.core.sources.families import family_of
    from workbench.core.sources.family_support import support_text

    source = resolve_model_source(spec)
    config = load_config(source)
    family = family_of(config)
    return ModelSummary(
        source=spec,
        folder=str(source.folder),
        architecture=(config.architectures or [type(config).__name__])[0],
        model_type=config.model_type,
        layers=family.num_layers(config),
        hidden_size=family.hidden_size(config),
        heads=family.num_heads(config),
        ffn_size=family.ffn_size(config),
        vocab_size=config.vocab_size,
        parameters=count_parameters(config),
        size_bytes=folder_size_bytes(source.folder),
        labels=head_labels(config),
        family=family.name,
        support=support_text(config),
    )
