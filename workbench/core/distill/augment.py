"""TinyBERT data augmentation: word-replaced copies of every training text.

Each word of a text is replaced, with probability p_t, by one of K candidates (Jiao et al. 2020). A word
that is one token of the teacher's vocabulary gets its candidates from the teacher's masked-LM head (the
word masked in its sentence) when the teacher has one, or from another local masked LM that the recipe
names (`distillation.augmentation.model`, with its own tokenizer: replacements are words, not ids); every
other word gets the words nearest to it in that model's word-embedding table, which stands in for the GloVe
vectors of the paper. Stopwords and punctuation are kept; whole words are found for WordPiece, byte-level
BPE and SentencePiece vocabularies alike (distill/word_vocabulary.py).
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from transformers import AutoModelForMaskedLM, PreTrainedModel

from workbench.core.distill.word_vocabulary import WordVocabulary
from workbench.core.errors import WorkbenchError
from workbench.core.quiet import quiet_libraries
from workbench.core.recipe import AugmentationConfig
from workbench.core.sources.models import pretrained_options

# Words and single punctuation marks, as BERT's basic tokenizer splits them.
WORD = re.compile(r"\w+|[^\w\s]")
_CHUNK = 256  # words scored against the whole vocabulary at once: bounds memory to CHUNK x vocab floats


class Augmenter(Protocol):
    def candidates(self, sentences: list[list[str]], k: int) -> list[list[list[str]]]:
        """Up to k replacements for every word of every sentence (empty where a word is kept)."""
        ...


def make_augmenter(model_folder: Path, tokenizer: Any, masked_lm: str | None = None,
                   trust_remote_code: bool = False, bf16: bool = False) -> Augmenter:
    """The masked-LM augmenter when the folder holds trained MLM head weights, else the neighbour one.

    `masked_lm` (the recipe's augmentation.model) names another local model folder to use instead, which
    must have a trained masked-LM head; its own tokenizer reads the words. `bf16`: the masked LM predicts
    in bf16 autocast (the job's training precision), about 2.5x faster on a CPU with native bf16, with the
    same candidate words to 98.8% (benchmarks/augment_speed.py)."""
    if masked_lm:
        from transformers import AutoTokenizer

        from workbench.core.sources.models import resolve_model_source

        model_folder = resolve_model_source(masked_lm).folder
        tokenizer = AutoTokenizer.from_pretrained(model_folder, **pretrained_options(trust_remote_code))
    # Loading a headless encoder as a masked LM reports missing keys: expected here, and what is checked.
    with quiet_libraries():
        model, info = AutoModelForMaskedLM.from_pretrained(model_folder, output_loading_info=True,
                                                           **pretrained_options(trust_remote_code))
    neighbours = NeighbourAugmenter(model.get_input_embeddings().weight, tokenizer)
    head_is_new = any(not key.startswith(model.base_model_prefix + ".") for key in info["missing_keys"])
    if head_is_new and masked_lm:
        raise AugmentationError(f"augmentation.model {masked_lm}: has no trained masked-LM head; give a "
                                "masked-LM folder (e.g. a BertForMaskedLM) or leave augmentation.model empty")
    return neighbours if head_is_new else MaskedLMAugmenter(model.eval(), tokenizer, neighbours, bf16=bf16)


class AugmentationError(WorkbenchError):
    """An augmentation source that cannot offer replacements."""


class NeighbourAugmenter:
    """Candidates are the vocabulary words most cosine-similar to the mean vector of the word's pieces."""

    def __init__(self, embeddings: torch.Tensor, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.table = F.normalize(embeddings.detach().float(), dim=1)
        self.vocabulary = WordVocabulary(tokenizer, len(self.table))
        self.allowed = self.vocabulary.allowed
        self._memo: dict[tuple[str, int], list[str]] = {}

    def candidates(self, sentences: list[list[str]], k: int) -> list[list[list[str]]]:
        found = self.for_words([w for words in sentences for w in words if self.vocabulary.replaceable(w)], k)
        return [[found.get(w, []) for w in words] for words in sentences]

    def for_words(self, words: list[str], k: int) -> dict[str, list[str]]:
        todo = [w for w in dict.fromkeys(words) if (w, k) not in self._memo]
        for start in range(0, len(todo), _CHUNK):
            self._score([(w, self.vocabulary.pieces(w)) for w in todo[start : start + _CHUNK]], k)
        return {w: self._memo[w, k] for w in words}

    def _score(self, pieces: list[tuple[str, list[int]]], k: int) -> None:
        known = [(w, ids) for w, ids in pieces if ids and self.tokenizer.unk_token_id not in ids]
        self._memo.update({(w, k): [] for w, _ in pieces})
        if not known:
            return
        queries = F.normalize(torch.stack([self.table[ids].mean(0) for _, ids in known]), dim=1)
        scores = (queries @ self.table.T).masked_fill(~self.allowed, float("-inf"))
        for row, (_, ids) in enumerate(known):
            if len(ids) == 1:
                scores[row, ids[0]] = float("-inf")  # the word itself
        top = scores.topk(_top(k, self.allowed), dim=1).indices.tolist()
        for (word, _), ids in zip(known, top, strict=True):
            self._memo[word, k] = [self.vocabulary.word(i) for i in ids]


class MaskedLMAugmenter:
    """Candidates are the teacher's top predictions for the word masked in its sentence."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        neighbours: NeighbourAugmenter,
        batch_size: int = 32,
        max_tokens: int = 128,
        bf16: bool = False,
    ) -> None:
        self.model, self.tokenizer, self.neighbours = model, tokenizer, neighbours
        self.batch_size, self.bf16 = batch_size, bf16
        self.max_tokens = min(max_tokens, model.config.max_position_embeddings)

    def candidates(self, sentences: list[list[str]], k: int) -> list[list[list[str]]]:
        result: list[list[list[str]]] = [[[] for _ in words] for words in sentences]
        masked: list[tuple[int, int, list[int], int]] = []  # sentence, word, input ids, mask position
        others: list[tuple[int, int]] = []
        vocabulary = self.neighbours.vocabulary
        for s, words in enumerate(sentences):
            ids = [vocabulary.pieces(w) for w in words]
            for i, word in enumerate(words):
                if not vocabulary.replaceable(word):
                    continue
                if len(ids[i]) == 1 and ids[i][0] != self.tokenizer.unk_token_id:
                    masked.append((s, i, *self._masked_input(ids, i)))
                else:
                    others.append((s, i))
        found = self.neighbours.for_words([sentences[s][i] for s, i in others], k)
        for s, i in others:
            result[s][i] = found[sentences[s][i]]
        # Similar lengths side by side keep padding, and so wasted compute, small.
        masked.sort(key=lambda job: len(job[2]))
        for start in range(0, len(masked), self.batch_size):
            batch = masked[start : start + self.batch_size]
            originals = [vocabulary.pieces(sentences[s][i])[0] for s, i, _, _ in batch]
            top = self._predict([ids for _, _, ids, _ in batch], [p for *_, p in batch], originals, k)
            for (s, i, _, _), ids in zip(batch, top, strict=True):
                result[s][i] = [vocabulary.word(t) for t in ids]
        return result

    def _masked_input(self, ids: list[list[int]], index: int) -> tuple[list[int], int]:
        before = [t for piece in ids[:index] for t in piece]
        after = [t for piece in ids[index + 1 :] for t in piece]
        budget = self.max_tokens - 3  # [CLS], [MASK], [SEP]
        before = before[max(0, len(before) - budget // 2) :]
        after = after[: budget - len(before)]
        tok = self.tokenizer
        return [tok.cls_token_id, *before, tok.mask_token_id, *after, tok.sep_token_id], len(before) + 1

    @torch.inference_mode()
    def _predict(
        self, inputs: list[list[int]], positions: list[int], originals: list[int], k: int
    ) -> list[list[int]]:
        width = max(map(len, inputs))
        input_ids = torch.tensor([ids + [self.tokenizer.pad_token_id] * (width - len(ids)) for ids in inputs])
        attention_mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in inputs])
        rows = torch.arange(len(inputs))

        def only_masked(module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor]:
            # The vocabulary projection is as costly as a small encoder: run it at the masked position only.
            return (args[0][rows, torch.tensor(positions)].unsqueeze(1),)

        hook = self.model.get_output_embeddings().register_forward_pre_hook(only_masked)
        try:
            with torch.autocast(input_ids.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits[:, 0].float()
        finally:
            hook.remove()
        logits = logits.masked_fill(~self.neighbours.allowed, float("-inf"))
        logits[rows, torch.tensor(originals)] = float("-inf")
        return logits.topk(_top(k, self.neighbours.allowed), dim=1).indices.tolist()


def augment(
    texts: list[str], labels: list[int], augmenter: Augmenter, cfg: AugmentationConfig, seed: int
) -> tuple[list[str], list[int]]:
    """The originals first, then up to cfg.copies distinct word-replaced copies of each, with its label."""
    sentences = [WORD.findall(text) for text in texts]
    candidates = augmenter.candidates(sentences, cfg.candidates)
    rng = random.Random(seed)
    out_texts, out_labels = list(texts), list(labels)
    for words, offers, label in zip(sentences, candidates, labels, strict=True):
        seen = {" ".join(words)}
        for _ in range(cfg.copies):
            new = [
                rng.choice(offered) if rng.random() < cfg.replace_prob and offered else word
                for word, offered in zip(words, offers, strict=True)
            ]
            text = " ".join(new)
            if text not in seen:  # a copy equal to the original or to another copy adds nothing
                seen.add(text)
                out_texts.append(text)
                out_labels.append(label)
    return out_texts, out_labels


def cached_augmentation(
    path: Path, key: dict[str, Any], compute: Callable[[], tuple[list[str], list[int]]]
) -> tuple[list[str], list[int]]:
    """compute()'s texts and labels, reused from the JSONL file at path while its stored key matches."""
    key = json.loads(json.dumps(key, sort_keys=True))  # as it reads back: tuples become lists
    cached = _read_cache(path, key)
    if cached is not None:
        return cached
    texts, labels = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"key": key, "rows": len(texts)}) + "\n")
        for text, label in zip(texts, labels, strict=True):
            handle.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)  # a run killed mid-write leaves the old cache or none, never half of one
    return texts, labels


def _read_cache(path: Path, key: dict[str, Any]) -> tuple[list[str], list[int]] | None:
    try:
        with path.open(encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            if header.get("key") != key:
                return None
            rows = [json.loads(line) for line in handle]
        if len(rows) != header["rows"]:
            return None
        return [row["text"] for row in rows], [row["label"] for row in rows]
    except (OSError, ValueError, LookupError, TypeError, AttributeError):  # missing or malformed: recompute
        return None


def _top(k: int, allowed: torch.Tensor) -> int:
    return min(k, int(allowed.sum()) - 1)  # the word itself is allowed but never offered
