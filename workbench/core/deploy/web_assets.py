"""Where the web demo's files are: the page template and its own modules in resources/web/, and the
JavaScript libraries that `make web-assets` installs there from the npm registry (`npm ci` against
resources/web/package-lock.json, integrity-checked, never committed). The packaged app carries the same files:
packaging/packaging_config.py bundles every path this module names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.core.deploy.errors import DeployError
from workbench.core.sources.resources import resources_dir

TEMPLATE, PAGE = Path("demo.html"), Path("page.mjs")
# The page's runtime by role: ONNX Runtime Web's WebAssembly-only build with its loader inlined (the "bundle"
# build, so it imports nothing else), its single SIMD WebAssembly file, tokenizers.js, and the module that
# turns a text into the student's ids with it.
RUNTIME_FILES = {
    "ort": Path("node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs"),
    "wasm": Path("node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"),
    "tokenizers": Path("node_modules/@huggingface/tokenizers/dist/tokenizers.min.mjs"),
    "encode": Path("encode.mjs"),
}
ASSET_PATHS = (TEMPLATE, PAGE, *RUNTIME_FILES.values())  # everything a deploy reads, relative to assets_dir()


def assets_dir() -> Path:
    return resources_dir() / "web"


def runtime_files() -> dict[str, Path]:
    """The runtime's files by role, or one line saying how to get them where they are missing."""
    files = {role: assets_dir() / path for role, path in RUNTIME_FILES.items()}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise DeployError(f"the web demo's JavaScript is not installed ({missing[0]} is missing); run `make "
                          "web-assets` (needs npm) in the workbench's source folder, then deploy again")
    return files


# The tokenizer.json components tokenizers.js (the version package-lock.json pins) builds: it throws on any
# other when the page loads, so the deploy refuses such a tokenizer instead of writing a page that cannot start.
TOKENIZER_COMPONENTS = {
    "normalizer": {"BertNormalizer", "Precompiled", "Sequence", "Replace", "NFC", "NFD", "NFKC", "NFKD", "Strip",
                   "StripAccents", "Lowercase", "Prepend"},
    "pre_tokenizer": {"BertPreTokenizer", "Sequence", "Whitespace", "WhitespaceSplit", "Metaspace", "ByteLevel",
                      "Split", "Punctuation", "Digits", "Replace", "FixedLength"},
    "model": {"WordPiece", "Unigram", "BPE"},
    "post_processor": {"TemplateProcessing", "ByteLevel", "BertProcessing", "RobertaProcessing", "Sequence"},
    "decoder": {"ByteLevel", "WordPiece", "Metaspace", "BPEDecoder", "CTC", "Sequence", "Replace", "Fuse", "Strip",
                "ByteFallback"},
}
SEQUENCE_PARTS = ("normalizers", "pretokenizers", "processors", "decoders")  # a Sequence component's members


def unsupported_tokenizer_parts(tokenizer: dict[str, Any]) -> list[str]:
    """'Nmt normalizer' for each component of a tokenizer.json that tokenizers.js cannot build."""
    found = []
    for kind, known in TOKENIZER_COMPONENTS.items():
        pending = [tokenizer.get(kind)]
        while pending:
            part = pending.pop()
            if not isinstance(part, dict):
                continue
            if part.get("type") not in known:
                found.append(f"{part.get('type')} {kind.replace('_', '-')}")
            pending.extend(member for key in SEQUENCE_PARTS for member in part.get(key) or [])
    return found
