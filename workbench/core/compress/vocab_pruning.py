"""Vocabulary pruning: keep only the word-embedding rows of tokens the task's texts use.

For a small student the embedding table is most of its size (30,522 x 384 of MiniLM's 22M parameters).
The kept ids are renumbered 0..n-1 in their original order, the embedding rows are sliced to match, and the
WordPiece tokenizer is rebuilt over the kept tokens. Greedy longest-match WordPiece over a subset of the
vocabulary gives the same pieces for every word whose original pieces were all kept, so texts within the
kept set get exactly the old tokens under new ids; other words are split into kept pieces or become [UNK].
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
    _check_wordpiece(tokenizer)
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
    return VocabularySelection(sorted(used), rows, model.get_input_embeddings().embedding_dim)


def prune_vocabulary(model: PreTrainedModel, tokenizer: Any, selection: VocabularySelection,
                     folder: str | Path) -> Any:
    """Shrink the model's embedding table to the selection (in place), save model and rebuilt tokenizer in
    `folder`, and return the rebuilt tokenizer as loaded from there."""
    _check_wordpiece(tokenizer)
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
    vocab = spec["model"]["vocab"]
    spec["model"]["vocab"] = dict(sorted(((token, new_id[i]) for token, i in vocab.items() if i in new_id),
                                         key=lambda item: item[1]))
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


def _check_wordpiece(tokenizer: Any) -> None:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    kind = type(backend.model).__name__ if backend is not None else "a slow tokenizer"
    if kind != "WordPiece":
        raise VocabularyPruningError(f"vocabulary pruning needs a WordPiece tokenizer (BERT family), not {kind}")
