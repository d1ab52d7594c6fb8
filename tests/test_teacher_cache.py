import torch

from workbench.core.distill.teacher_cache import TeacherCache


def _targets(seq: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    # Values fp16 cannot hold exactly: a rounding cache would change them.
    return {"hidden1": torch.randn(2, seq, 4) / 3, "scores1": torch.randn(2, 2, seq, seq) / 3,
            "logits": torch.randn(2, 3) / 3}


def test_teacher_cache_gives_identical_unrounded_targets_on_a_miss_and_a_hit():
    cache = TeacherCache(2**20)
    ids, lengths = torch.tensor([7, 9]), torch.tensor([5, 3])
    computed = _targets(5)
    miss = cache.targets(ids, lengths, 5, lambda: computed)
    hit = cache.targets(ids, lengths, 5, lambda: (_ for _ in ()).throw(AssertionError("recomputed")))
    assert (cache.misses, cache.hits) == (1, 1)
    for name, value in computed.items():
        assert torch.equal(miss[name], hit[name]) and miss[name].dtype == value.dtype
    # Real positions are the teacher's own values, bit for bit; padding beyond each length reads as zero.
    assert torch.equal(hit["hidden1"][1, :3], computed["hidden1"][1, :3]) and not hit["hidden1"][1, 3:].any()
    assert torch.equal(hit["scores1"][0], computed["scores1"][0]) and torch.equal(hit["logits"], computed["logits"])


def test_teacher_cache_over_budget_returns_what_the_teacher_computed():
    cache = TeacherCache(budget_bytes=1)
    computed = _targets(4)
    assert cache.targets(torch.tensor([1, 2]), torch.tensor([4, 4]), 4, lambda: computed) is computed
