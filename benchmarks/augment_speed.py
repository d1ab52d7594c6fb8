"""Augmentation speed: the workbench's augmenters against a straightforward per-word implementation.

Both run on the same tweets with the bundled MiniLM teacher and make the same copies (the same `augment`
call); only the way candidates are found differs. The straightforward one handles one word at a time: a
masked-LM forward pass over the whole sentence per word (vocabulary projection at every position), or one
cosine search over the embedding table per word, with nothing remembered between words. The workbench
batches masked sentences of similar length, projects only the masked position, and searches neighbours for
each distinct word once, in chunks. The masked-LM branch uses the teacher's encoder with a new (random)
MLM head: speed does not depend on the head's training. Prints texts/s for both and the ratio; the masked LM
also in bf16 autocast (what a job does where the CPU has native bf16), with the share of candidate words it
has in common with the fp32 ones.

    .venv/bin/python benchmarks/augment_speed.py [--texts 200] [--threads 2]
"""

from __future__ import annotations

import argparse
import csv
import time

import torch
import torch.nn.functional as F
from transformers import AutoModelForMaskedLM, AutoTokenizer

from workbench.core.distill.augment import WORD, MaskedLMAugmenter, NeighbourAugmenter, augment
from workbench.core.recipe import AugmentationConfig
from workbench.core.sources.resources import bundled_teacher_dir, bundled_tweets_csv


class PerWordAugmenter:
    """One word at a time, as a first implementation would do it."""

    def __init__(self, model, tokenizer, reference: NeighbourAugmenter, masked: bool) -> None:
        self.model, self.tokenizer, self.masked = model, tokenizer, masked
        self.vocabulary, self.table = reference.vocabulary, reference.table

    def candidates(self, sentences: list[list[str]], k: int) -> list[list[list[str]]]:
        return [[self._word(words, i, k) if self.vocabulary.replaceable(w) else [] for i, w in enumerate(words)]
                for words in sentences]

    def _word(self, words: list[str], index: int, k: int) -> list[str]:
        pieces = self.vocabulary.pieces(words[index])
        if self.masked and len(pieces) == 1 and pieces[0] != self.tokenizer.unk_token_id:
            return self._masked(words, index, pieces[0], k)
        if not pieces or self.tokenizer.unk_token_id in pieces:
            return []
        query = F.normalize(self.table[pieces].mean(0), dim=0)
        scores = (self.table @ query).masked_fill(~self.vocabulary.allowed, float("-inf"))
        if len(pieces) == 1:
            scores[pieces[0]] = float("-inf")
        return [self.vocabulary.word(i) for i in scores.topk(k).indices.tolist()]

    @torch.inference_mode()
    def _masked(self, words: list[str], index: int, original: int, k: int) -> list[str]:
        masked = [*words[:index], self.tokenizer.mask_token, *words[index + 1:]]
        inputs = self.tokenizer(" ".join(masked), return_tensors="pt", truncation=True, max_length=128)
        position = (inputs["input_ids"][0] == self.tokenizer.mask_token_id).nonzero()[0, 0]
        logits = self.model(**inputs).logits[0, position].masked_fill(~self.vocabulary.allowed, float("-inf"))
        logits[original] = float("-inf")
        return [self.vocabulary.word(i) for i in logits.topk(k).indices.tolist()]


def tweets(count: int) -> list[str]:
    with bundled_tweets_csv().open(encoding="utf-8", errors="replace") as handle:
        return [row["text"] for _, row in zip(range(count), csv.DictReader(handle), strict=False)]


def texts_per_second(augmenter, texts: list[str], cfg: AugmentationConfig) -> float:
    started = time.perf_counter()
    augment(texts, [0] * len(texts), augmenter, cfg, seed=0)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = bundled_teacher_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForMaskedLM.from_pretrained(folder).eval()
    texts, cfg = tweets(args.texts), AugmentationConfig()
    print(f"{len(texts)} tweets, K={cfg.candidates}, {cfg.copies} copies, {args.threads} threads (shared machine)")
    for branch, masked, bf16 in (("neighbours", False, False), ("masked LM", True, False),
                                 ("masked LM, bf16", True, True)):
        neighbours = NeighbourAugmenter(model.get_input_embeddings().weight, tokenizer)
        ours = MaskedLMAugmenter(model, tokenizer, neighbours, bf16=bf16) if masked else neighbours
        baseline = PerWordAugmenter(model, tokenizer, NeighbourAugmenter(neighbours.table, tokenizer), masked)
        fast, slow = texts_per_second(ours, texts, cfg), texts_per_second(baseline, texts, cfg)
        print(f"{branch:<16} workbench {fast:8.1f} texts/s   per-word {slow:8.1f} texts/s   "
              f"ratio {fast / slow:6.1f}x", flush=True)
    fp32 = MaskedLMAugmenter(model, tokenizer, neighbours)
    print(f"bf16 candidates in common with fp32: {common_share(fp32, ours, texts, cfg.candidates):.1%}")


def common_share(one, other, texts: list[str], k: int) -> float:
    """Mean share of a word's candidates that both augmenters offer (order aside)."""
    sentences = [WORD.findall(text) for text in texts]
    shares = [len(set(a) & set(b)) / len(a)
              for first, second in zip(one.candidates(sentences, k), other.candidates(sentences, k), strict=True)
              for a, b in zip(first, second, strict=True) if a]
    return sum(shares) / len(shares)


if __name__ == "__main__":
    main()
