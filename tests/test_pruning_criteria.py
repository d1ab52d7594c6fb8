"""Pruning criteria: L1 against L2 importance, threshold pruning, unstructured sparsity through export."""

import copy

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from tests.tiny import LABELS, tiny_bert_config
from workbench.core.compress.export import export_onnx
from workbench.core.compress.importance import compute_importance
from workbench.core.compress.pruning import normalised, prune
from workbench.core.compress.sparsity import encoder_linears, keep_zeros, sparsify
from workbench.core.recipe import Recipe
from workbench.core.sources.pruned_models import load_pruned

HIDDEN, FFN = 32, 64


@pytest.fixture()
def model():
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    return BertForSequenceClassification(tiny_bert_config(100, labels=LABELS)).eval()


def _inputs():
    ids = torch.randint(5, 100, (3, 10), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def _logits(model):
    with torch.no_grad():
        return model(**_inputs()).logits


def test_l1_and_l2_disagree_on_spread_against_concentrated_weights(model):
    """Neuron 0 spreads its weight thinly (L1 3.2, L2 0.57), neuron 1 puts it in one weight (L1 = L2 = 1): L1
    ranks neuron 1 lowest, L2 neuron 0; every other neuron is strong under both."""
    ffn_in = model.bert.encoder.layer[0].intermediate.dense.weight
    ffn_out = model.bert.encoder.layer[0].output.dense.weight
    with torch.no_grad():
        ffn_in.fill_(1.0)
        ffn_in[0] = 0.1
        ffn_in[1] = 0.0
        ffn_in[1, 0] = 1.0
        ffn_out.fill_(1.0)
    l1, l2 = compute_importance(model, "l1"), compute_importance(model, "l2")
    assert l1.neurons[0].argmin() == 1 and l2.neurons[0].argmin() == 0
    _, report_l1 = prune(copy.deepcopy(model), 0.0, 1 / FFN, "l1")
    _, report_l2 = prune(copy.deepcopy(model), 0.0, 1 / FFN, "l2")
    assert report_l1.removed_neurons[0] == [1] and report_l2.removed_neurons[0] == [0]
    # 'magnitude' (older recipes) is L2.
    torch.testing.assert_close(compute_importance(model, "magnitude").neurons[0], l2.neurons[0])


def test_threshold_removes_exactly_the_units_below_it_and_the_model_reloads(model, tmp_path):
    scores = compute_importance(model, "l2")
    threshold = 0.8
    below = [set(torch.nonzero(normalised(s) < threshold).flatten().tolist()) for s in scores.neurons]
    assert len(below[0]) != len(below[1]) and all(0 < len(b) < FFN for b in below)  # the layers differ
    pruned, report = prune(copy.deepcopy(model), 0.0, 0.0, "l2", threshold=threshold, threshold_units="ffn")
    assert [set(r) for r in report.removed_neurons] == below
    assert report.ffn_per_layer == [FFN - len(b) for b in below] and report.removed_heads == [[], []]
    assert report.criterion == "threshold"
    pruned.save_pretrained(tmp_path)
    reloaded = load_pruned(tmp_path)
    assert [layer.intermediate.dense.out_features for layer in reloaded.bert.encoder.layer] == report.ffn_per_layer
    torch.testing.assert_close(_logits(reloaded), _logits(pruned))
    # Unequal layers export as they are: the ONNX graph computes what the pruned model computes.
    from workbench.core.sources.model_runner import model_feeds, ort_session

    session = ort_session(export_onnx(tmp_path, tmp_path / "pruned.onnx"), 1)
    inputs = {name: value.numpy() for name, value in _inputs().items()}
    onnx_logits = session.run(["logits"], model_feeds([i.name for i in session.get_inputs()], inputs))[0]
    np.testing.assert_allclose(onnx_logits, _logits(pruned).numpy(), atol=1e-5)


def test_threshold_takes_the_same_heads_from_every_layer_all_below_it(model):
    threshold = 0.9
    scores = compute_importance(model, "l1")
    below = [int((normalised(s) < threshold).sum()) for s in scores.heads]
    _, report = prune(copy.deepcopy(model), 0.0, 0.0, "l1", threshold=threshold, threshold_units="heads")
    assert report.heads_below_threshold == below and min(below) > 0
    assert [len(r) for r in report.removed_heads] == [min(below)] * 2
    for layer_scores, removed in zip(scores.heads, report.removed_heads, strict=True):
        assert all(normalised(layer_scores)[h] < threshold for h in removed)
    assert report.removed_neurons == [[], []]


def test_threshold_and_ratios_exclude_each_other_in_a_recipe():
    with pytest.raises(Exception, match="either threshold or"):
        Recipe.from_dict({"pruning": {"threshold": 0.2, "ffn_ratio": 0.5}})
    with pytest.raises(Exception, match="did you mean 'unstructured_sparsity'"):
        Recipe.from_dict({"pruning": {"unstructured_sparsty": 0.5}})


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_unstructured_sparsity_reaches_the_ratio_and_survives_onnx_export(model, scope, tmp_path):
    report = sparsify(model, 0.6, scope)
    assert report.sparsity == pytest.approx(0.6, abs=1e-3)
    if scope == "layer":
        assert all(share == pytest.approx(0.6, abs=1e-2) for share in report.matrices.values())
    else:  # one threshold for all weights: matrices end with different shares
        assert len({round(share, 2) for share in report.matrices.values()}) > 1
    folder = tmp_path / "student"
    model.save_pretrained(folder)
    onnx_path = export_onnx(folder, tmp_path / "sparse.onnx")
    weights = {id(linear.weight) for linear in encoder_linears(model).values()}
    encoder_elements = sum(linear.weight.numel() for linear in encoder_linears(model).values())
    assert len(weights) == 12
    initializers = [numpy_helper.to_array(t) for t in onnx.load(str(onnx_path)).graph.initializer]
    zeros = sum(int((array == 0).sum()) for array in initializers if array.ndim == 2)
    assert zeros >= 0.6 * encoder_elements - 1


def test_recovery_training_keeps_the_zeros(model):
    sparsify(model, 0.5)
    handles = keep_zeros(model)
    zero_before = {name: linear.weight == 0 for name, linear in encoder_linears(model).items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    model.train()
    for _ in range(3):
        loss = model(**_inputs(), labels=torch.tensor([0, 1, 2])).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, linear in encoder_linears(model).items():
        assert bool((linear.weight[zero_before[name]] == 0).all()), name
        assert bool((linear.weight[~zero_before[name]] != 0).all())
    for handle in handles:
        handle.remove()
    assert np.isfinite(_logits(model).numpy()).all()


def test_the_pruning_step_follows_the_recipe_section(model, tmp_path):
    from workbench.core.methods import registry
    from workbench.core.recipe import PruningConfig
    from workbench.core.run_folder import RunFolder

    def prune_as_recipe(model, config):  # the reports by the name of the file each is written to
        return {getattr(RunFolder(tmp_path), key).name: report
                for key, report in registry.prune_as_recipe(model, config).items()}

    config = PruningConfig(enabled=True, importance="l2", threshold=0.8, threshold_units="ffn",
                           unstructured_sparsity=0.3, unstructured_scope="global")
    assert registry.prunes_weights(config) and not registry.prunes_weights(PruningConfig(enabled=True, vocabulary=True))
    reports = prune_as_recipe(model, config)
    assert reports["pruning.json"]["criterion"] == "threshold"
    assert reports["sparsity.json"]["sparsity"] == pytest.approx(0.3, abs=1e-3)
    assert set(prune_as_recipe(model, PruningConfig(enabled=True, unstructured_sparsity=0.5))) == {"sparsity.json"}
