"""Tiny random models and tokenizers for fast unit tests (hidden 32, 2 layers)."""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "good great love happy fine nice bad awful hate sad poor terrible the a an is was it this that "
    "movie film car cars flight service food day time not very really so and or but i you we they"
).split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LABELS = ["negative", "neutral", "positive"]


def write_vocab(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'@#")
    vocab = SPECIAL + WORDS + letters + [f"##{c}" for c in letters]
    path = folder / "vocab.txt"
    path.write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    return path


def tiny_tokenizer(folder: Path):
    from transformers import BertTokenizerFast

    write_vocab(folder)
    return BertTokenizerFast.from_pretrained(folder)


def tiny_bert_config(vocab_size: int, layers: int = 2, hidden: int = 32, heads: int = 4, labels=None):
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=2 * hidden, max_position_embeddings=128,
    )
    if labels:
        config.id2label = dict(enumerate(labels))
        config.label2id = {name: i for i, name in enumerate(labels)}
        config.architectures = ["BertForSequenceClassification"]
    return config


def save_tiny_bert(folder: Path, with_head: bool = False, layers: int = 2, seed: int = 0) -> Path:
    """A saved tiny BERT (base encoder, or with a 3-label classification head) and its tokenizer."""
    import torch
    from transformers import BertForSequenceClassification, BertModel

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer(folder)
    config = tiny_bert_config(tokenizer.vocab_size, layers=layers, labels=LABELS if with_head else None)
    model = BertForSequenceClassification(config) if with_head else BertModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_tiny_csv(path: Path, rows: int = 120, seed: int = 0) -> Path:
    """A small labelled CSV whose words carry the label, so that a tiny model can learn it."""
    import csv
    import random

    rng = random.Random(seed)
    cues = {"negative": ["bad", "awful", "hate", "sad"], "neutral": ["the", "car", "day", "time"],
            "positive": ["good", "great", "love", "happy"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentiment", "text"])
        for i in range(rows):
            label = LABELS[i % 3]
            words = rng.choices(cues[label], k=3) + rng.choices(WORDS, k=3)
            rng.shuffle(words)
            writer.writerow([label, " ".join(words) + f" {i}"])
    return path


def tiny_recipe(teacher: Path, data: Path, runs: Path, **training):
    """The smoke preset pointed at tiny fixtures: every stage runs, in seconds."""
    from workbench.core.recipe import Recipe
    from workbench.core.sources.resources import preset_path

    recipe = Recipe.load(preset_path("smoke"))
    recipe.teacher.source = str(teacher)
    recipe.data.source = str(data)
    recipe.data.train_size, recipe.data.dev_size, recipe.data.test_size = 60, 24, 24
    recipe.student.teacher_layers = [2]
    recipe.output_dir = str(runs)
    recipe.quantization.enabled = False  # export has its own tests; the job tests that want it turn it on
    for key, value in training.items():
        setattr(recipe.training, key, value)
    return recipe
