import copy

import pytest
import torch
from torch.nn import functional as F
from transformers import BertForSequenceClassification, BertModel

from tests.tiny import LABELS, tiny_bert_config
from workbench.core.compress.pruning import PruningError, compute_importance, prune
from workbench.core.sources.pruned_models import attention_heads, load_pruned

HEAD_SIZE = 8  # tiny config: hidden 32, 4 heads, FFN 64, 2 layers


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return BertForSequenceClassification(tiny_bert_config(100, labels=LABELS)).eval()


@pytest.fixture(scope="module")
def batches():
    generator = torch.Generator().manual_seed(1)
    result = []
    for _ in range(3):
        ids = torch.randint(5, 100, (6, 12), generator=generator)
        mask = torch.ones_like(ids)
        mask[0, 8:] = 0  # padding must not break the gates or the pruned attention
        result.append({"input_ids": ids, "attention_mask": mask, "labels": torch.arange(6) % 3})
    return result


def _logits(model, batch):
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def _cripple_head(model, layer, head, scale=0.0):
    """Scale the value projection of one head: at 0 the head writes nothing into the residual stream."""
    value = model.bert.encoder.layer[layer].attention.self.value
    rows = slice(head * HEAD_SIZE, (head + 1) * HEAD_SIZE)
    with torch.no_grad():
        value.weight[rows] *= scale
        value.bias[rows] *= scale


@pytest.mark.parametrize("importance", ["gradient", "magnitude"])
def test_pruning_shrinks_every_layer_alike_and_keeps_outputs_finite(model, batches, importance):
    pruned, report = prune(copy.deepcopy(model), heads_ratio=0.5, ffn_ratio=0.25, importance=importance,
                           batches=batches)
    for layer in pruned.bert.encoder.layer:
        attention = layer.attention
        assert [attention.self.query.out_features, attention.self.key.out_features,
                attention.self.value.out_features, attention.output.dense.in_features] == [2 * HEAD_SIZE] * 4
        assert (layer.intermediate.dense.out_features, layer.output.dense.in_features) == (48, 48)
    assert attention_heads(pruned.config) == 2 and pruned.config.intermediate_size == 48
    assert pruned.config.num_attention_heads == 4  # kept so that the head size stays hidden / heads
    assert (report.heads_before, report.heads_after, report.ffn_before, report.ffn_after) == (4, 2, 64, 48)
    assert [len(heads) for heads in report.removed_heads] == [2, 2]
    assert [len(neurons) for neurons in report.removed_neurons] == [16, 16]
    assert report.parameters_after < report.parameters_before
    for batch in batches:
        logits = _logits(pruned, batch)
        assert logits.shape == (6, 3) and torch.isfinite(logits).all()


def test_pruning_removes_exactly_the_reported_units(model, batches):
    """The pruned model computes what the original computes with the removed heads and neurons silenced."""
    pruned, report = prune(copy.deepcopy(model), 0.5, 0.5, "magnitude")
    silenced = copy.deepcopy(model)
    for layer, heads, neurons in zip(silenced.bert.encoder.layer, report.removed_heads, report.removed_neurons,
                                     strict=True):
        with torch.no_grad():
            for head in heads:
                columns = slice(head * HEAD_SIZE, (head + 1) * HEAD_SIZE)
                layer.attention.output.dense.weight[:, columns] = 0
            layer.output.dense.weight[:, neurons] = 0
    for batch in batches:
        torch.testing.assert_close(_logits(pruned, batch), _logits(silenced, batch), atol=1e-6, rtol=1e-5)


def test_pruned_model_saves_and_loads_with_the_same_logits(model, batches, tmp_path):
    pruned, _ = prune(copy.deepcopy(model), 0.25, 0.5, "gradient", batches)
    pruned.save_pretrained(tmp_path)
    loaded = load_pruned(tmp_path)
    assert attention_heads(loaded.config) == 3
    assert loaded.bert.encoder.layer[1].attention.self.value.out_features == 3 * HEAD_SIZE
    for batch in batches:
        torch.testing.assert_close(_logits(loaded, batch), _logits(pruned, batch))


def test_ffn_only_pruning_is_a_plain_config(model, batches, tmp_path):
    pruned, _ = prune(copy.deepcopy(model), 0.0, 0.5, "magnitude")
    assert not hasattr(pruned.config, "workbench_pruning")
    pruned.save_pretrained(tmp_path)
    loaded = BertForSequenceClassification.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(_logits(loaded, batches[0]), _logits(pruned, batches[0]))


def test_gradient_importance_ranks_a_silenced_head_and_neuron_lowest(model, batches):
    crippled = copy.deepcopy(model)
    _cripple_head(crippled, layer=0, head=2)
    _cripple_head(crippled, layer=1, head=1)
    with torch.no_grad():
        crippled.bert.encoder.layer[0].output.dense.weight[:, 5] = 0
    scores = compute_importance(crippled, "gradient", batches)
    assert scores.heads[0].argmin() == 2 and scores.heads[1].argmin() == 1
    assert scores.neurons[0][5] == 0 and (scores.neurons[0] > 0).sum() == 63
    _, report = prune(crippled, 0.25, 1 / 64, "gradient", batches)
    assert report.removed_heads == [[2], [1]]
    assert report.removed_neurons[0] == [5]


def test_gradient_importance_is_the_mean_absolute_gradient_of_each_examples_loss(model, batches):
    """Michel et al.: E_x |dL(x)/d xi_h|. Scaling a head's values by (1 + e) is a gate of 1 + e on its output,
    so central differences in float64 give each example's derivative independently of the hooks."""
    double = copy.deepcopy(model).double()
    batch = {name: value[:4] for name, value in batches[0].items()}
    scores = compute_importance(double, "gradient", [batch])

    def losses(scale):
        scaled = copy.deepcopy(double)
        _cripple_head(scaled, layer=1, head=2, scale=scale)
        return F.cross_entropy(_logits(scaled, batch), batch["labels"], reduction="none")

    step = 1e-4
    derivatives = (losses(1 + step) - losses(1 - step)) / (2 * step)
    assert (derivatives > 0).any() and (derivatives < 0).any()  # signs differ: abs must come per example
    torch.testing.assert_close(scores.heads[1][2].double(), derivatives.abs().mean(), rtol=1e-3, atol=0)


def test_magnitude_importance_ranks_a_weak_head_and_neuron_lowest(model):
    weak = copy.deepcopy(model)
    _cripple_head(weak, layer=0, head=3, scale=0.01)
    _cripple_head(weak, layer=1, head=0, scale=0.01)
    with torch.no_grad():
        weak.bert.encoder.layer[1].intermediate.dense.weight[7] *= 0.01
    _, report = prune(weak, 0.25, 1 / 64, "magnitude")
    assert report.removed_heads == [[3], [0]]
    assert report.removed_neurons[1] == [7]


def test_nothing_to_prune_needs_no_batches(model, batches):
    untouched, report = prune(copy.deepcopy(model), 0.1, 0.0, "gradient")  # 10% of 4 heads is no head
    assert report.removed_heads == [[], []] and report.parameters_after == report.parameters_before
    torch.testing.assert_close(_logits(untouched, batches[0]), _logits(model, batches[0]))


def test_pruning_explains_what_it_cannot_do(model, batches):
    with pytest.raises(PruningError, match="at least one batch"):
        prune(copy.deepcopy(model), 0.5, 0.0, "gradient", [])
    with pytest.raises(PruningError, match="heads_ratio"):
        prune(copy.deepcopy(model), 1.0, 0.0, "magnitude")
    torch.manual_seed(0)
    with pytest.raises(PruningError, match="classification head"):
        prune(BertModel(tiny_bert_config(100)), 0.5, 0.0, "gradient", batches)
