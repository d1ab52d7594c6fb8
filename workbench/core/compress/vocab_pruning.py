"""Vocabulary pruning: keep only the word-embedding rows of tokens the task's texts use.

For a small student the embedding table is most of its size (30,522 x 384 of MiniLM's 22M parameters).
The kept ids are renumbered 0..n-1 in their original order, the embedding rows are sliced to match, and the
tokenizer is rebuilt over the kept tokens, so that texts within the kept set get exactly the old tokens
under new ids:
- WordPiece (BERT, ELECTRA, DistilBERT): greedy longest match over a subset of the vocabulary gives the same
  pieces for every word whose pieces were all kept; other words split into kept pieces or become [UNK].
- BPE (RoBERTa, ModernBERT): every kept token keeps the tokens it is merged from (recursively) and every
  single character (for byte-level BPE the 256 bytes, so no text ever becomes unknown); a merge stays when
  its parts and its result stay. The merges a kept text uses all stay, and a dropped merge never applied
  to it, so it is merged exactly as before.
- Unigram (SentencePiece: XLM-R, CamemBERT, DeBERTa-v3): the best segmentation of a kept text used only
  kept pieces, so it stays the best among the kept ones.
The result is a plain Hugging Face folder (config.vocab_size changes), loadable with no code of ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoTokenizer, PreTrainedModel

from workbench.core.errors import WorkbenchError

# BERT vocabularies reserve slots such as [unused17]; they are never worth a margin slot.
_RESERVED = re.compile(r"^\[unused\d+\]$")
_TOKEN_ID_FIELDS = ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id")


class VocabularyPruningError(WorkbenchError):
    """A model or tokenizer whose vocabulary cannot be pruned."""


@dataclass(frozen=True)
class VocabularySelection:
    kept_ids: list[int]  # ascending ids in the original vocabulary; new id = position in this list
    vocab_before: int  # rows of the original embedding table
    embedding_dim: int

    @property
    def vocab_after(self) -> int:
        return len(self.kept_ids)

    @property
    def parameters_saved(self) -> int:
        return (self.vocab_before - self.vocab_after) * self.embedding_dim

    def to_dict(self) -> dict[str, Any]:
        return {"vocab_before": self.vocab_before, "vocab_after": self.vocab_after,
                "parameters_saved": self.parameters_saved, "fp32_bytes_saved": 4 * self.parameters_saved}


def select_vocabulary(
    model: PreTrainedModel, tokenizer: Any, texts: Iterable[str], margin: int = 0
) -> VocabularySelection:
    """The ids the texts use, the special tokens, and `margin` more of the most frequent other tokens.

    BERT's WordPiece vocabularies list single characters first and then words by corpus frequency, so the
    margin is the lowest ids not yet kept (skipping [unusedN] slots): the larger it is, the more unseen words
    fall apart into kept pieces instead of becoming [UNK].
    """
    kind = tokenizer_kind(tokenizer)
    rows = model.get_input_embeddings().num_embeddings
    used = {i for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"] for i in ids}
    used |= set(tokenizer.all_special_ids)
    if max(used) >= rows:
        raise VocabularyPruningError(
            f"the tokenizer produces id {max(used)} but the model's embedding table has {rows} rows; "
            "use the model's own tokenizer"
        )
    if margin:
        vocabulary = tokenizer.convert_ids_to_tokens(range(len(tokenizer)))
        extra = [i for i, token in enumerate(vocabulary) if i not in used and not _RESERVED.match(token)]
        used.update(extra[:margin])
    if kind == "BPE":
        used |= _bpe_closure(json.loads(tokenizer.backend_tokenizer.to_str())["model"], used)
    elif kind == "Unigram":
        used.add(json.loads(tokenizer.backend_tokenizer.to_str())["model"]["unk_id"])
    return VocabularySelection(sorted(used), rows, model.get_input_embeddings().embedding_dim)


def prune_vocabulary(model: PreTrainedModel, tokenizer: Any, selection: VocabularySelection,
                     folder: str | Path) -> Any:
    """Shrink the model's embedding table to the selection (in place), save model and rebuilt tokenizer in
    `folder`, and return the rebuilt tokenizer as loaded from there."""
    tokenizer_kind(tokenizer)
    if model.get_output_embeddings() is not None:
        raise VocabularyPruningError(
            f"{type(model).__name__} predicts tokens (an LM head); prune the vocabulary of a classifier only"
        )
    new_id = {old: new for new, old in enumerate(selection.kept_ids)}
    old = model.get_input_embeddings()
    embedding = nn.Embedding(len(new_id), old.embedding_dim, padding_idx=new_id.get(old.padding_idx),
                             device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        embedding.weight.copy_(old.weight[torch.tensor(selection.kept_ids, device=old.weight.device)])
    embedding.weight.requires_grad_(old.weight.requires_grad)
    model.set_input_embeddings(embedding)
    model.config.vocab_size = len(new_id)
    for field in _TOKEN_ID_FIELDS:
        if getattr(model.config, field, None) is not None:
            setattr(model.config, field, new_id.get(getattr(model.config, field)))  # None: that token was dropped
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # The saved tokenizer_config.json keeps the class and its settings; only the vocabulary file changes.
    (folder / "tokenizer.json").write_text(_pruned_tokenizer_json(tokenizer, new_id), encoding="utf-8")
    return AutoTokenizer.from_pretrained(folder, trust_remote_code=False)


def _pruned_tokenizer_json(tokenizer: Any, new_id: dict[int, int]) -> str:
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    if model["type"] == "Unigram":  # a list whose positions are the ids
        model["vocab"] = [entry for i, entry in enumerate(model["vocab"]) if i in new_id]
        model["unk_id"] = new_id[model["unk_id"]] if model.get("unk_id") is not None else None
    else:
        vocab = model["vocab"]
        model["vocab"] = dict(sorted(((token, new_id[i]) for token, i in vocab.items() if i in new_id),
                                     key=lambda item: item[1]))
    if model["type"] == "BPE":
        model["merges"] = [merge for merge in model["merges"]
                           if all(part in model["vocab"] for part in (*_pair(merge), "".join(_pair(merge))))]
    spec["added_tokens"] = [{**token, "id": new_id[token["id"]]} for token in spec["added_tokens"]
                            if token["id"] in new_id]
    if spec.get("padding"):
        spec["padding"]["pad_id"] = new_id[spec["padding"]["pad_id"]]
    _renumber_post_processor(spec.get("post_processor"), new_id)
    return json.dumps(spec, ensure_ascii=False)


def _renumber_post_processor(processor: dict[str, Any] | None, new_id: dict[int, int]) -> None:
    """The [CLS] / [SEP] ids that the post-processor inserts around each text."""
    if not processor:
        return
    kind = processor["type"]
    if kind == "TemplateProcessing":
        for special in processor["special_tokens"].values():
            special["ids"] = [new_id[i] for i in special["ids"]]
    elif kind == "BertProcessing":
        for name in ("cls", "sep"):
            processor[name][1] = new_id[processor[name][1]]
    elif kind == "Sequence":
        for inner in processor["processors"]:
            _renumber_post_processor(inner, new_id)


TOKENIZER_KINDS = ("WordPiece", "BPE", "Unigram")


def tokenizer_kind(tokenizer: Any) -> str:
    """The tokenizer's model type (WordPiece, BPE, Unigram), or an error when its vocabulary cannot be pruned."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    kind = type(backend.model).__name__ if backend is not None else "a slow tokenizer"
    if kind not in TOKENIZER_KINDS:
        raise VocabularyPruningError(
            f"vocabulary pruning supports {', '.join(TOKENIZER_KINDS)} tokenizers, not {kind}; "
            "set pruning.vocabulary: false")
    return kind


def _pair(merge: str | list[str]) -> tuple[str, str]:
    left, right = merge.split(" ", 1) if isinstance(merge, str) else merge  # older tokenizer.json: "a b"
    return left, right


def _bpe_closure(model: dict[str, Any], kept: set[int]) -> set[int]:
    """The ids of every single character and of every token the kept ones are merged from, recursively."""
    vocab = model["vocab"]
    parts: dict[str, list[str]] = {}  # every pair a token can be merged from (more than one may be listed)
    for merge in model["merges"]:
        left, right = _pair(merge)
        parts.setdefault(left + right, []).extend((left, right))
    tokens = {token for token, i in vocab.items() if i in kept}
    todo = list(tokens)
    while todo:
        for part in parts.get(todo.pop(), ()):
            if part not in tokens:
                tokens.add(part)
                todo.append(part)
    characters = {token for token in vocab if len(token) == 1}
    return {vocab[token] for token in tokens | characters if token in vocab}
