import random
from types import SimpleNamespace

import numpy as np
import torch

from tests.tiny import WORDS, tiny_tokenizer
from workbench.core.measure.prediction import predict
from workbench.core.sources.batches import EpochOrder, eval_loader, one_pass_loader


def padded_tokens(order: list[int], lengths: list[int], batch_size: int) -> int:
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def test_order_is_a_permutation_fixed_by_seed_and_epoch():
    lengths = [random.Random(0).randint(3, 64) for _ in range(1000)]
    for grouped in (None, lengths):
        order = EpochOrder(1000, seed=7, lengths=grouped, batch_size=32)
        first = list(order)
        assert sorted(first) == list(range(1000))
        assert list(order) == first
        order.epoch = 1
        assert list(order) != first
        assert list(EpochOrder(1000, seed=8, lengths=grouped, batch_size=32)) != first


def test_grouping_by_length_pads_far_less_than_random_batches():
    rng = random.Random(0)
    lengths = [rng.randint(3, 64) for _ in range(3200)]
    random_batches = padded_tokens(list(EpochOrder(3200, 1)), lengths, 32)
    grouped = padded_tokens(list(EpochOrder(3200, 1, lengths, 32)), lengths, 32)
    assert grouped < 0.65 * random_batches


class _LengthParity(torch.nn.Module):
    """Predicts each text's token count modulo 3: a class that depends on the text alone, not on its batch."""

    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(logits=torch.nn.functional.one_hot(attention_mask.sum(1) % 3, 3).float())


def test_evaluation_reads_shortest_first_and_predictions_come_back_in_the_splits_order(tmp_path):
    from datasets import Dataset

    tokenizer = tiny_tokenizer(tmp_path)
    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(1, 30))) for _ in range(50)]
    dataset = Dataset.from_dict(dict(tokenizer(texts)))
    loader = eval_loader(dataset, tokenizer, batch_size=8)
    read = [int(n) for batch in loader for n in batch["attention_mask"].sum(1)]
    padded = [batch["input_ids"].shape[1] for batch in loader]
    assert sum(padded) < sum(max(len(ids) for ids in dataset["input_ids"][i:i + 8]) for i in range(0, 50, 8))
    expected = np.array([len(ids) % 3 for ids in dataset["input_ids"]])
    assert read == sorted(read) != [len(ids) for ids in dataset["input_ids"]]  # not the split's order
    assert np.array_equal(predict(_LengthParity(), loader, "cpu"), expected)


def test_the_teachers_one_pass_reads_every_example_once_shortest_first(tmp_path):
    from datasets import Dataset
    from transformers import DataCollatorWithPadding

    tokenizer = tiny_tokenizer(tmp_path)
    rng = random.Random(1)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(1, 30))) for _ in range(50)]
    dataset = Dataset.from_dict({**tokenizer(texts), "idx": list(range(50))})
    state = torch.random.get_rng_state()
    batches = list(one_pass_loader(dataset, DataCollatorWithPadding(tokenizer), batch_size=8))
    read = [int(n) for batch in batches for n in batch["attention_mask"].sum(1)]
    assert read == sorted(read) != [len(ids) for ids in dataset["input_ids"]]
    assert sorted(int(i) for batch in batches for i in batch["idx"]) == list(range(50))
    assert torch.equal(torch.random.get_rng_state(), state)  # the job's RNG has not moved
