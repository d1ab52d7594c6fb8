import random

from workbench.core.sources.batches import EpochOrder


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
