import pytest
import torch
import transformers as tr

from tests.tiny import tiny_bert_config
from workbench.core.distill.attention_scores import AttentionCaptureError, AttentionScoreCapture
from workbench.core.errors import WorkbenchError
from workbench.core.sources.families import family_of

TEXTS = ["good movie", "the flight was really awful and the food was very bad", "i love it"]


@pytest.fixture(scope="module")
def tokenizer(tiny_base_dir):
    return tr.AutoTokenizer.from_pretrained(tiny_base_dir)


@pytest.fixture(scope="module")
def batch(tokenizer):
    encoded = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert (encoded["attention_mask"] == 0).any(), "the batch must hold padding"
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}


def tiny_model(model_type: str, vocab_size: int):
    torch.manual_seed(0)
    if model_type == "bert":
        config = tiny_bert_config(vocab_size, labels=["a", "b", "c"])
        return tr.BertForSequenceClassification(config)
    config = tr.DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=64)
    return tr.DistilBertModel(config)


@pytest.mark.parametrize("model_type", ["bert", "distilbert"])
def test_softmax_of_masked_scores_equals_eager_attention(model_type, tokenizer, batch):
    model = tiny_model(model_type, tokenizer.vocab_size).eval()
    family = family_of(model.config)
    assert model.config._attn_implementation == "sdpa"
    with torch.no_grad(), AttentionScoreCapture(model, family, [0, 1]) as capture:
        model(**batch)
        assert model.config._attn_implementation == "sdpa"
    assert sorted(capture.scores) == [0, 1]

    seq = batch["attention_mask"].shape[1]
    assert all(capture.scores[layer].shape == (len(TEXTS), 4, seq, seq) for layer in (0, 1))
    assert_scores_match_eager(model, batch, capture.scores)


def assert_scores_match_eager(model, batch, scores: dict) -> None:
    """softmax(scores + padding mask) equals the eager implementation's attention maps, to 1e-5."""
    model.set_attn_implementation("eager")
    with torch.no_grad():
        eager = model(**batch, output_attentions=True).attentions
    mask = batch["attention_mask"]
    additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for layer, captured in scores.items():
        torch.testing.assert_close(torch.softmax(captured + additive, dim=-1), eager[layer], atol=1e-5, rtol=0)


def test_hooks_only_on_chosen_layers_gradients_flow_and_hooks_go_on_exit(tokenizer, batch):
    model = tiny_model("bert", tokenizer.vocab_size).train()
    family = family_of(model.config)
    projections = [family.query_key(layer) for layer in family.layers(model)]
    with AttentionScoreCapture(model, family, [1]) as capture:
        assert all(not module._forward_hooks for module in projections[0])
        assert all(len(module._forward_hooks) == 1 for module in projections[1])
        model(**batch)
        assert list(capture.scores) == [1]
        capture.scores[1].pow(2).mean().backward()
        capture.clear()
        assert capture.scores == {}
    query, key = projections[1]
    assert query.weight.grad is not None and query.weight.grad.abs().sum() > 0
    assert key.weight.grad is not None and key.weight.grad.abs().sum() > 0
    assert all(not module._forward_hooks for pair in projections for module in pair)
    model(**batch)
    assert capture.scores == {}


def test_relative_position_attention_is_refused_with_a_clear_error(tokenizer):
    model = tiny_model("bert", tokenizer.vocab_size)
    model.config.position_embedding_type = "relative_key"
    refusal = "'relative_key' position attention.*mapping.attention: false"
    with pytest.raises(AttentionCaptureError, match=refusal) as info:
        AttentionScoreCapture(model, family_of(model.config), [0])
    assert isinstance(info.value, WorkbenchError)
