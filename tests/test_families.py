import pytest
import transformers as tr
from torch import nn

from tests.tiny import tiny_bert_config
from workbench.core.errors import ModelSourceError
from workbench.core.sources.families import BERT, DISTILBERT, ELECTRA, ROBERTA, family_of

SIZES = dict(vocab_size=60, max_position_embeddings=64)


def tiny_config(model_type: str):
    if model_type == "bert":
        return tiny_bert_config(60)
    if model_type == "distilbert":
        return tr.DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, **SIZES)
    config_class = tr.AutoConfig.for_model(model_type).__class__
    return config_class(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, **SIZES)


@pytest.mark.parametrize(
    ("model_type", "family", "base_attr"),
    [
        ("bert", BERT, "bert"),
        ("roberta", ROBERTA, "roberta"),
        ("xlm-roberta", ROBERTA, "roberta"),
        ("camembert", ROBERTA, "roberta"),
        ("electra", ELECTRA, "electra"),
        ("distilbert", DISTILBERT, "distilbert"),
    ],
)
def test_family_finds_modules_of_base_and_classifier(model_type, family, base_attr):
    config = tiny_config(model_type)
    assert family_of(config) is family
    assert (family.num_layers(config), family.hidden_size(config), family.num_heads(config)) == (2, 32, 4)
    base_model = tr.AutoModel.from_config(config)
    classifier = tr.AutoModelForSequenceClassification.from_config(config)
    assert family.base(base_model) is base_model
    assert family.base(classifier) is getattr(classifier, base_attr)
    for model in (base_model, classifier):
        layers = family.layers(model)
        assert isinstance(layers, nn.ModuleList) and len(layers) == 2
        query, key = family.query_key(layers[1])
        assert isinstance(query, nn.Linear) and isinstance(key, nn.Linear) and query is not key
        assert query.out_features == key.out_features == 32
        embeddings = family.word_embeddings(model)
        assert embeddings is model.get_input_embeddings() and embeddings.num_embeddings == 60


def test_unsupported_model_type_names_it_and_the_supported_ones():
    config = tr.AlbertConfig()
    supported = "bert, camembert, deberta-v2, distilbert, electra, modernbert, roberta, xlm-roberta"
    with pytest.raises(ModelSourceError, match=f"'albert'.*{supported}"):
        family_of(config)
