import json

import pytest
import torch
from transformers import BertForMaskedLM

from tests.tiny import WORDS, tiny_bert_config, tiny_tokenizer
from workbench.core.distill.augment import (
    MaskedLMAugmenter,
    NeighbourAugmenter,
    augment,
    cached_augmentation,
    make_augmenter,
)
from workbench.core.recipe import AugmentationConfig


class Always:
    """Offers one fixed replacement for every alphabetic word."""

    def candidates(self, sentences, k):
        return [[["zzz"] if w.isalpha() else [] for w in words] for words in sentences]


def _texts(n=20, length=100):
    return [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(length)) + " !" for i in range(n)]


def test_augment_is_deterministic_and_replaces_about_p_t_of_the_words():
    texts, labels = _texts(), [i % 3 for i in range(20)]
    cfg = AugmentationConfig(copies=5, replace_prob=0.3)
    out_texts, out_labels = augment(texts, labels, Always(), cfg, seed=1)
    assert out_texts[:20] == texts and out_labels[:20] == labels
    assert len(out_texts) == 20 * 6 and out_labels[20:25] == [0] * 5
    copies = [text.split() for text in out_texts[20:]]
    rate = sum(w == "zzz" for words in copies for w in words[:-1]) / sum(len(words) - 1 for words in copies)
    assert rate == pytest.approx(0.3, abs=0.03)
    assert all(words[-1] == "!" for words in copies)  # punctuation is never replaced
    assert augment(texts, labels, Always(), cfg, seed=1) == (out_texts, out_labels)
    assert augment(texts, labels, Always(), cfg, seed=2)[0] != out_texts


def test_copies_equal_to_the_original_are_dropped():
    texts, labels = _texts(3, 10), [0, 1, 2]
    assert augment(texts, labels, Always(), AugmentationConfig(copies=4, replace_prob=0.0), seed=0) == (
        texts,
        labels,
    )


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return tiny_tokenizer(tmp_path_factory.mktemp("tok"))


def test_neighbours_are_the_closest_whole_words(tokenizer):
    torch.manual_seed(0)
    table = torch.randn(tokenizer.vocab_size, 16)
    good, great, nice = tokenizer.convert_tokens_to_ids(["good", "great", "nice"])
    table[great] = 2 * table[good] + 0.01 * torch.randn(16)
    table[nice] = table[good] + 0.3 * torch.randn(16)
    augmenter = NeighbourAugmenter(table, tokenizer)
    [[for_good, for_mark, for_long]] = augmenter.candidates([["good", "!", "zebra"]], k=3)
    assert for_good[:2] == ["great", "nice"] and len(for_good) == 3
    assert for_mark == []
    assert len(for_long) == 3 and all(w.isalpha() and w not in tokenizer.all_special_tokens for w in for_long)


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory, tokenizer):
    """A tiny BERT with a masked-LM head that strongly prefers 'great', then 'love'."""
    folder = tmp_path_factory.mktemp("tiny-mlm")
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny_bert_config(tokenizer.vocab_size))
    with torch.no_grad():
        preferred = tokenizer.convert_tokens_to_ids(["great", "love"])
        model.cls.predictions.bias[preferred] = torch.tensor([100.0, 90.0])
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_masked_lm_head_is_used_when_the_teacher_has_one(mlm_dir, tokenizer):
    augmenter = make_augmenter(mlm_dir, tokenizer)
    assert isinstance(augmenter, MaskedLMAugmenter)
    [[bad, great, zebra]] = augmenter.candidates([["bad", "great", "zebra"]], k=2)
    assert bad == ["great", "love"]
    assert great[0] == "love"  # the word itself is never offered
    assert zebra == augmenter.neighbours.for_words(["zebra"], 2)["zebra"]  # several pieces: neighbours


def test_masked_lm_candidates_match_the_full_model_on_padded_batches(mlm_dir, tokenizer):
    augmenter = make_augmenter(mlm_dir, tokenizer)
    with torch.no_grad():
        augmenter.model.cls.predictions.bias.zero_()
    sentences = [["the", "film", "was", "bad"], ["i", "love", "it"]]
    found = augmenter.candidates(sentences, k=3)
    for words, options in zip(sentences, found, strict=True):
        for i, (word, candidates) in enumerate(zip(words, options, strict=True)):
            if word in ("the", "was", "i", "it"):  # stopwords are kept as they are
                assert candidates == []
                continue
            ids = [tokenizer.cls_token_id, *tokenizer.convert_tokens_to_ids(words), tokenizer.sep_token_id]
            ids[i + 1] = tokenizer.mask_token_id
            with torch.no_grad():
                logits = augmenter.model(input_ids=torch.tensor([ids])).logits[0, i + 1]
            logits[~augmenter.neighbours.allowed] = float("-inf")
            logits[tokenizer.convert_tokens_to_ids(word)] = float("-inf")
            assert candidates == tokenizer.convert_ids_to_tokens(logits.topk(3).indices.tolist())


def test_neighbours_are_used_without_a_masked_lm_head(tiny_base_dir, tokenizer):
    augmenter = make_augmenter(tiny_base_dir, tokenizer)
    assert isinstance(augmenter, NeighbourAugmenter)
    texts, labels = ["the movie was good", "i hate this car !"], [2, 0]
    cfg = AugmentationConfig(copies=3, replace_prob=0.5, candidates=4)
    out = augment(texts, labels, augmenter, cfg, seed=0)
    assert len(out[0]) > 2 and out == augment(texts, labels, augmenter, cfg, seed=0)


def test_cache_is_reused_while_the_key_matches(tmp_path):
    path = tmp_path / "cache" / "augmented.jsonl"
    key = {
        "source": "abc123",
        "cfg": AugmentationConfig().model_dump(),
        "seed": 42,
        "teacher": ("bundled", 1),
    }
    calls = []

    def compute():
        calls.append(1)
        return ["a text", "un été"], [0, 2]

    assert cached_augmentation(path, key, compute) == (["a text", "un été"], [0, 2])
    assert cached_augmentation(path, dict(key), compute) == (["a text", "un été"], [0, 2])
    assert len(calls) == 1 and not path.with_name(path.name + ".tmp").exists()
    cached_augmentation(path, {**key, "seed": 43}, compute)
    assert len(calls) == 2
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["key"]["seed"] == 43
    path.write_text(path.read_text(encoding="utf-8")[:-5], encoding="utf-8")  # a damaged cache
    cached_augmentation(path, {**key, "seed": 43}, compute)
    assert len(calls) == 3


@pytest.mark.parametrize("model_type", ["roberta", "xlm-roberta", "modernbert", "bert"])
def test_neighbours_offer_whole_words_for_bpe_sentencepiece_and_wordpiece_vocabularies(model_type, tmp_path):
    from tests.tiny_families import CASES, family_tokenizer

    tokenizer = family_tokenizer(CASES[model_type], tmp_path)
    torch.manual_seed(0)
    augmenter = NeighbourAugmenter(torch.randn(len(tokenizer), 16), tokenizer)
    assert augmenter.allowed.sum() >= 5  # an isalpha test on raw tokens leaves none for BPE and SentencePiece
    [[movie, the, mark]] = augmenter.candidates([["movie", "the", "!"]], k=3)
    assert len(movie) == 3 and all(w.isalpha() and w != "movie" for w in movie)
    assert all(len(augmenter.vocabulary.pieces(w)) == 1 for w in movie)  # whole words, not word pieces
    assert the == [] and mark == []  # stopwords and punctuation are kept
    texts = augment(["the movie was good"], [1], augmenter, AugmentationConfig(copies=3, replace_prob=1.0), 0)[0]
    assert len(texts) > 1 and all(text.split()[0] == "the" for text in texts)
    assert all(w.isalpha() for text in texts for w in text.split())  # no "Ġ" or "▁" markers leak into text


def test_augmentation_model_names_a_masked_lm_for_a_teacher_without_one(tiny_base_dir, mlm_dir, tokenizer):
    from workbench.core.distill.augment import AugmentationError

    augmenter = make_augmenter(tiny_base_dir, tokenizer, masked_lm=str(mlm_dir))
    assert isinstance(augmenter, MaskedLMAugmenter)
    assert augmenter.candidates([["bad"]], k=2) == [[["great", "love"]]]
    with pytest.raises(AugmentationError, match="no trained masked-LM head"):
        make_augmenter(mlm_dir, tokenizer, masked_lm=str(tiny_base_dir))


def test_the_masked_lm_predicts_in_bf16_when_asked(mlm_dir, tokenizer):
    seen = set()
    for bf16 in (True, False):
        augmenter = make_augmenter(mlm_dir, tokenizer, bf16=bf16)
        layer = augmenter.model.bert.encoder.layer[0].intermediate.dense
        handle = layer.register_forward_hook(lambda module, args, output: seen.add((bf16, output.dtype)))
        [[bad, _]] = augmenter.candidates([["bad", "great"]], k=2)
        handle.remove()
        assert len(bad) == 2 and "bad" not in bad
    assert seen == {(True, torch.bfloat16), (False, torch.float32)}
