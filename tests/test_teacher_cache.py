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


def _example_targets(batch: dict[str, torch.Tensor], shift: float = 0.0) -> dict[str, torch.Tensor]:
    """Targets that depend on each example's index only, padded to the batch's length (as the teacher's)."""
    ids, seq = batch["idx"], batch["attention_mask"].shape[1]
    base = ids.float().view(-1, 1, 1) / 7 + shift
    return {"hidden1": base + torch.arange(seq * 4).view(1, seq, 4) / 3,
            "scores1": base.unsqueeze(1) + torch.ones(len(ids), 2, seq, seq) / 3,
            "logits": base.view(-1, 1) + torch.arange(3) / 3}


BATCHES = [_batch([0, 1], [5, 3], 5), _batch([2, 3], [4, 4], 4)]


def _counting(calls: list, shift: float = 0.0):
    return lambda batch: calls.append(batch["idx"].tolist()) or _example_targets(batch, shift)


def test_a_kept_store_spares_the_next_fill_every_batch_but_the_checked_first(tmp_path):
    from workbench.core.distill.target_store import TargetStore

    first_calls, calls = [], []
    TeacherCache(2**20, TargetStore(tmp_path)).fill(BATCHES, NAMES, _counting(first_calls))
    assert len(first_calls) == 2 and {p.name for p in tmp_path.iterdir()} == {f"{n}.safetensors" for n in NAMES}
    cache = TeacherCache(2**20, TargetStore(tmp_path))
    cache.fill(BATCHES, NAMES, _counting(calls))
    assert calls == [[0, 1]] and cache.read_from_store == NAMES  # the check, then nothing
    served = cache.targets(torch.tensor([2, 3]), torch.tensor([4, 4]), 4, NAMES, _never)
    fresh = _example_targets(BATCHES[1])
    assert all(torch.equal(served[name], fresh[name]) for name in NAMES)


def test_a_store_another_teacher_wrote_is_never_trained_on(tmp_path):
    from workbench.core.distill.target_store import TargetStore

    TeacherCache(2**20, TargetStore(tmp_path)).fill(BATCHES, NAMES, _counting([], shift=1e-6))
    calls = []
    cache = TeacherCache(2**20, TargetStore(tmp_path))
    cache.fill(BATCHES, NAMES, _counting(calls))
    assert cache.read_from_store == set() and len(calls) == 3  # the check, then the whole pass
    served = cache.targets(torch.tensor([2, 3]), torch.tensor([4, 4]), 4, NAMES, _never)
    assert torch.equal(served["hidden1"], _example_targets(BATCHES[1])["hidden1"])


def test_damaged_or_foreign_store_files_are_ignored(tmp_path):
    from workbench.core.distill.checkpoints import write_safetensors
    from workbench.core.distill.target_store import TargetStore

    TeacherCache(2**20, TargetStore(tmp_path)).fill(BATCHES, NAMES, _counting([]))
    (tmp_path / "hidden1.safetensors").write_bytes(b"\x00" * 40)  # torn
    write_safetensors(tmp_path / "scores1.safetensors", {f"{i:08d}": torch.ones(3) for i in range(4)})  # flat
    write_safetensors(tmp_path / "logits.safetensors", {f"{i:08d}": torch.ones(3) for i in range(5)})  # 5 examples
    cache = TeacherCache(2**20, TargetStore(tmp_path))
    cache.fill(BATCHES, NAMES, _counting([]))
    assert cache.read_from_store == set()
    assert TargetStore(tmp_path).load("../escape", {0: 1}, (0,)) is None and not TargetStore(tmp_path).save("../x", {})


def test_a_full_disk_keeps_nothing_and_loses_nothing(tmp_path, monkeypatch):
    from pathlib import Path

    from workbench.core.distill.target_store import TargetStore

    real_open = Path.open

    def full(self, mode="r", *args, **kwargs):
        if "w" in mode:
            raise OSError(28, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", full)
    cache = TeacherCache(2**20, TargetStore(tmp_path))
    cache.fill(BATCHES, NAMES, _counting([]))
    assert not list(tmp_path.iterdir())
    served = cache.targets(torch.tensor([0, 1]), torch.tensor([5, 3]), 5, NAMES, _never)
    assert torch.equal(served["logits"], _example_targets(BATCHES[0])["logits"])


def test_later_stages_on_the_same_cache_write_nothing_the_store_already_holds(tmp_path):
    from workbench.core.distill.target_store import TargetStore

    class Counting(TargetStore):
        saved: list[str] = []

        def save(self, name, targets):
            self.saved.append(name)
            return super().save(name, targets)

    store = Counting(tmp_path)
    cache = TeacherCache(2**20, store)
    cache.fill(BATCHES, {"hidden1", "scores1"}, _counting([]))  # stage 1 also holds the logits it computed
    cache.fill(BATCHES, {"logits"}, _counting([]))  # stage 2 keeps them
    cache.fill(BATCHES, {"logits"}, _counting([]))  # recovery: nothing new
    assert store.saved == ["hidden1", "scores1", "logits"]


def test_past_the_budget_logits_are_still_kept_so_logit_stages_never_run_the_teacher_again():
    # Room for one example's hidden states, scores and logits to the byte: none left for a second's logits.
    one = sum(v[0].numel() * v.element_size() for v in _targets(5).values())
    cache = TeacherCache(budget_bytes=one)
    cache.targets(torch.tensor([7, 9]), torch.tensor([5, 5]), 5, NAMES, lambda: _targets(5))
    assert not cache._holds([9], NAMES)  # example 9's hidden states and scores did not fit
    logits = cache.targets(torch.tensor([7, 9]), torch.tensor([5, 5]), 5, {"logits"}, _never)
    assert torch.equal(logits["logits"], _targets(5)["logits"])


def test_a_logits_fill_past_the_budget_covers_every_batch_so_its_stage_never_runs_the_teacher():
    # The budget is spent by one example's hidden states and scores: a later logits-only fill (the prediction
    # stage after the intermediate one on a full corpus) must still compute every batch's logits in its pass.
    one = sum(v[0].numel() * v.element_size() for v in _targets(5).values())
    cache = TeacherCache(budget_bytes=one)
    cache.fill([_batch([7, 9], [5, 5], 5)], NAMES, lambda batch: _targets(5))
    batches = [_batch([1, 2], [5, 5], 5), _batch([3, 4], [5, 5], 5)]
    calls = []
    cache.fill(batches, {"logits"}, lambda batch: calls.append(batch) or {"logits": _targets(5)["logits"]})
    assert len(calls) == 2
    for ids in ([1, 2], [3, 4]):
        logits = cache.targets(torch.tensor(ids), torch.tensor([5, 5]), 5, {"logits"}, _never)
        assert torch.equal(logits["logits"], _targets(5)["logits"])


def test_a_fill_runs_the_teacher_on_the_examples_that_lack_targets_only():
    cache = TeacherCache(2**20)
    cache.fill([_batch([0, 1], [5, 3], 5)], NAMES, _counting([]))  # examples 0 and 1 hold their logits now
    calls = []
    cache.fill([_batch([1, 2, 0, 3], [3, 4, 5, 2], 5)], {"logits"}, _counting(calls))
    assert calls == [[2, 3]]
    logits = cache.targets(torch.tensor([3, 2]), torch.tensor([2, 4]), 5, {"logits"}, _never)
    assert torch.equal(logits["logits"], _example_targets(_batch([3, 2], [2, 4], 5))["logits"])
