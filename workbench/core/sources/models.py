"""Model sources: the bundled teacher, a local Hugging Face folder, or a hub id.

Every source resolves to a local folder first (a hub id through the Hugging Face cache), so that
everything downstream loads models and tokenizers one way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import ModelSourceError, WorkbenchError, short_repr
from workbench.core.sources.resources import bundled_teacher_dir

BUNDLED_MODELS = {"all-MiniLM-L6-v2": bundled_teacher_dir}
SAFE_WEIGHTS = "*.safetensors"
# Pickle formats: loading one can run code, so the workbench never loads them (see `_check_weights`).
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle")
# Files whose `auto_map` makes transformers import Python code that ships with the model.
CODE_MAP_FILES = ("config.json", "tokenizer_config.json", "preprocessor_config.json")
MAX_CONFIG_BYTES = 10_000_000
# A folder without one of these has no tokenizer (transformers would build an empty one from the config).
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model")
HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    spec: str
    kind: str  # "bundled" | "local" | "hub"
    folder: Path
    trust_remote_code: bool = False  # the recipe's teacher.trust_remote_code: the model's own code may run


def resolve_model_source(spec: str, trust_remote_code: bool = False) -> ModelSource:
    """Turn what the user wrote into a checked local model folder, or explain why that is impossible."""
    spec = spec.strip()
    if spec.startswith("bundled:"):
        kind, folder = "bundled", _bundled_folder(spec)
    elif (path := Path(spec).expanduser()).exists():
        kind, folder = "local", path
    elif spec.startswith((".", "/", "~")) or spec.count("/") > 1 or not _HUB_ID.match(spec):
        raise ModelSourceError(f"{spec}: no such model folder (and not a Hugging Face hub id)")
    else:
        kind, folder = "hub", _download_from_hub(spec)
    return ModelSource(spec, kind, check_model_folder(folder, trust_remote_code), trust_remote_code)


def pretrained_options(trust_remote_code: bool = False) -> dict[str, bool]:
    """What every model `from_pretrained` of the workbench passes: safetensors only, no model code unless
    the recipe opted in (an explicit False also keeps transformers from asking on the terminal)."""
    return {"use_safetensors": True, "trust_remote_code": trust_remote_code}


def folder_trust(folder: str | Path) -> bool:
    """Whether a model folder the workbench wrote may run the code it ships: only one inside a run whose recipe
    opted in (teacher.trust_remote_code), such as that run's fine-tuned teacher with its own model class."""
    from workbench.core.run_folder import find_run_folder

    run = find_run_folder(Path(folder))
    try:
        return run is not None and run.recipe().teacher.trust_remote_code
    except WorkbenchError:
        return False


def _bundled_folder(spec: str) -> Path:
    name = spec.removeprefix("bundled:")
    if name not in BUNDLED_MODELS:
        raise ModelSourceError(f"{spec}: unknown bundled model; bundled: {', '.join(BUNDLED_MODELS)}")
    return BUNDLED_MODELS[name]()


def check_model_folder(folder: Path, trust_remote_code: bool = False) -> Path:
    """A folder that loads without running anything from it: a JSON config, no custom code unless trusted,
    safetensors weights whose header reads."""
    if not folder.is_dir():
        raise ModelSourceError(f"{folder}: is a file, not a model folder (give the folder holding config.json)")
    if not (folder / "config.json").is_file():
        raise ModelSourceError(
            f"{folder}: holds no model (no config.json); give a Hugging Face model folder or a hub id"
        )
    for name in CODE_MAP_FILES:
        settings = _json_object(folder / name) if (folder / name).is_file() else {}
        if "auto_map" in settings and not trust_remote_code:
            raise ModelSourceError(
                f"{folder}: {name} asks to run the model's own Python code (auto_map "
                f"{short_repr(settings['auto_map'])}); the workbench runs no code from model folders unless the "
                "recipe sets teacher.trust_remote_code: true (only for a model whose code you have read)"
            )
    _check_weights(folder)
    return folder


def _json_object(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ModelSourceError(f"{path}: {path.stat().st_size:,} bytes is too large for a model configuration")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ModelSourceError(f"{path}: is not a readable JSON file ({_first_line(error)})") from None
    if not isinstance(data, dict):
        raise ModelSourceError(f"{path}: is JSON but not an object of settings (got {short_repr(data)})")
    return data


def _check_weights(folder: Path) -> None:
    from safetensors import safe_open

    safe = weight_files(folder)
    pickles = sorted(p.name for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern) if p.is_file())
    if not safe and pickles:
        raise ModelSourceError(
            f"{folder}: its only weights are pickle files ({', '.join(pickles[:3])}), which can run code when "
            "loaded, so the workbench does not open them; convert them to safetensors where you trust the "
            "file (e.g. transformers' `AutoModel.from_pretrained(DIR).save_pretrained(NEW_DIR)` writes "
            "model.safetensors) or download the model's safetensors version"
        )
    if not safe:
        raise ModelSourceError(f"{folder}: has config.json but no weights (no model.safetensors)")
    for path in safe:
        try:
            with safe_open(str(path), framework="pt"):
                pass  # reads and checks the header only
        except Exception as error:  # safetensors raises its own error types for every kind of damage
            raise ModelSourceError(
                f"{path}: is not a readable safetensors file ({_first_line(error)}); the download or copy "
                "is damaged, fetch the model again"
            ) from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:160]


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
    """The weights the workbench loads: safetensors files, sharded or not."""
    return sorted(p for p in folder.glob(SAFE_WEIGHTS) if p.is_file())


def folder_size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in weight_files(folder))


def load_config(source: ModelSource):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source.folder, trust_remote_code=source.trust_remote_code)
    except (ValueError, OSError, TypeError, KeyError, AttributeError) as error:
        raise ModelSourceError(
            f"{source.spec}: config.json is not a model configuration transformers knows ({_first_line(error)})"
        ) from None


def load_tokenizer(source: ModelSource):
    from transformers import AutoTokenizer

    if not has_tokenizer(source.folder):
        raise ModelSourceError(f"{source.spec}: has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...); "
                               "save the tokenizer with the model (tokenizer.save_pretrained(FOLDER))")
    try:
        return AutoTokenizer.from_pretrained(source.folder, trust_remote_code=source.trust_remote_code)
    except Exception as error:  # tokenizers and transformers raise many types for damaged tokenizer files
        raise ModelSourceError(f"{source.spec}: has no usable tokenizer ({_first_line(error)})") from None


def has_tokenizer(folder: Path) -> bool:
    return any((folder / name).is_file() for name in TOKENIZER_FILES)


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


def summarize_model(spec: str, trust_remote_code: bool = False) -> ModelSummary:
    from workbench.core.sources.families import family_of
    from workbench.core.sources.family_support import support_text

    source = resolve_model_source(spec, trust_remote_code)
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
