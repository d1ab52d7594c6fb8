import torch

from workbench.core.distill.teacher_cache import TeacherCache

NAMES = {"hidden1", "scores1", "logits"}


def _targets(seq: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    # Values fp16 cannot hold exactly: a rounding cache would change them.
    return {"hidden1": torch.randn(2, seq, 4) / 3, "scores1": torch.randn(2, 2, seq, seq) / 3,
            "logits": torch.randn(2, 3) / 3}


def _never():
    raise AssertionError("recomputed")


def _batch(ids: list[int], lengths: list[int], seq: int) -> dict[str, torch.Tensor]:
    mask = torch.tensor([[1] * n + [0] * (seq - n) for n in lengths])
    return {"idx": torch.tensor(ids), "attention_mask": mask}


def test_teacher_cache_gives_identical_unrounded_targets_on_a_miss_and_a_hit():
    cache = TeacherCache(2**20)
    ids, lengths = torch.tensor([7, 9]), torch.tensor([5, 3])
    computed = _targets(5)
    miss = cache.targets(ids, lengths, 5, NAMES, lambda: computed)
    hit = cache.targets(ids, lengths, 5, NAMES, _never)
    assert (cache.misses, cache.hits) == (1, 1)
    for name, value in computed.items():
        assert torch.equal(miss[name], hit[name]) and miss[name].dtype == value.dtype
    # Real positions are the teacher's own values, bit for bit; padding beyond each length reads as zero.
    assert torch.equal(hit["hidden1"][1, :3], computed["hidden1"][1, :3]) and not hit["hidden1"][1, 3:].any()
    assert torch.equal(hit["scores1"][0], computed["scores1"][0]) and torch.equal(hit["logits"], computed["logits"])


def test_teacher_cache_over_budget_returns_what_the_teacher_computed():
    cache = TeacherCache(budget_bytes=1)
    computed = _targets(4)
    assert cache.targets(torch.tensor([1, 2]), torch.tensor([4, 4]), 4, NAMES, lambda: computed) is computed


def test_a_filled_cache_serves_batches_of_other_compositions_and_padding_without_the_teacher():
    cache = TeacherCache(2**20)
    computed = _targets(5)
    cache.fill([_batch([7, 9], [5, 3], 5)], NAMES, lambda batch: computed)
    # Example 9 alone, padded to 4 this time: its own values, then zeros.
    alone = cache.targets(torch.tensor([9]), torch.tensor([3]), 4, NAMES, _never)
    assert torch.equal(alone["hidden1"][0, :3], computed["hidden1"][1, :3]) and not alone["hidden1"][0, 3:].any()
    assert torch.equal(alone["scores1"][0, :, :3, :3], computed["scores1"][1, :, :3, :3])


def test_a_later_stage_reads_the_logits_an_earlier_stage_stored_with_its_hidden_states():
    cache = TeacherCache(2**20)
    cache.fill([_batch([7, 9], [5, 3], 5)], NAMES, lambda batch: _targets(5))
    cache.fill([_batch([7, 9], [5, 3], 5)], {"logits"}, lambda batch: _never())  # nothing left to compute
    logits = cache.targets(torch.tensor([7, 9]), torch.tensor([5, 3]), 5, {"logits"}, _never)
    assert set(logits) == {"logits"} and torch.equal(logits["logits"], _targets(5)["logits"])


def test_fill_stops_at_the_budget_and_the_rest_is_computed_per_batch():
    cache = TeacherCache(budget_bytes=(5 * 4 + 2 * 25 + 3) * 4)  # one example's targets of length 5
    batches = [_batch([1, 2], [5, 5], 5), _batch([3, 4], [5, 5], 5)]
    calls = []
    cache.fill(batches, NAMES, lambda batch: calls.append(batch) or _targets(5))
    assert len(calls) == 1  # the budget ran out inside the first batch: no pass over the second
    computed = _targets(5)
    assert cache.targets(torch.tensor([1, 2]), torch.tensor([5, 5]), 5, NAMES, lambda: computed) is computed
