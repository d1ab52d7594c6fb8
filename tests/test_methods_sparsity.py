"""Unstructured sparsity as a registered method: the pruning stage zeroes, training keeps the zeros, and the
card, the window and the report say what it did."""

import pytest
import torch
from transformers import BertForSequenceClassification

from tests.tiny import tiny_bert_config
from workbench.core.methods import registry
from workbench.core.recipe import PruningConfig
from workbench.core.run_folder import RunFolder, write_json


def test_sparsity_zeroes_in_the_pruning_stage_and_training_keeps_the_zeros():
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_bert_config(100))
    reports = registry.prune_as_recipe(model, PruningConfig(enabled=True, unstructured_sparsity=0.5))
    assert list(reports) == ["sparsity_path"] and reports["sparsity_path"]["sparsity"] == pytest.approx(0.5, abs=1e-3)
    weight = model.bert.encoder.layer[0].attention.self.query.weight
    with registry.while_training(model):
        model(input_ids=torch.randint(0, 100, (2, 8))).logits.sum().backward()
    assert bool((weight.grad[weight == 0] == 0).all()) and bool((weight.grad[weight != 0] != 0).any())


def test_sparsity_is_described_on_the_card_in_the_estimate_the_form_and_the_report(tmp_path):
    pruning = PruningConfig(enabled=True, unstructured_sparsity=0.3, unstructured_scope="global")
    run = RunFolder(tmp_path)
    assert registry.pruning_sentence(pruning, run) == ("30% of encoder weights zeroed (over all matrices); then 1 "
                                                       "recovery epoch(s)")
    assert registry.pruning_estimate(pruning, 4, 64).startswith("30% of encoder weights zeroed (same file size")
    keys = [row.key for row in registry.form_rows("pruning")]
    # In the registry's order: structured pruning's rows, hidden width's, then sparsity's, then vocabulary's.
    assert keys.index("pruning.threshold_units") + 1 == keys.index("pruning.hidden_ratio")
    assert keys.index("pruning.hidden_ratio") + 1 == keys.index("pruning.unstructured_sparsity")
    assert keys.index("pruning.unstructured_scope") + 1 == keys.index("pruning.vocabulary")
    assert registry.report_sections(run) == []
    write_json(run.sparsity_path, {"requested": 0.3, "scope": "global", "sparsity": 0.3, "weights": 100, "zeros": 30,
                                   "matrices": {}})
    assert "<h3>Unstructured sparsity</h3>" in dict(registry.report_sections(run))["Pruning"]
