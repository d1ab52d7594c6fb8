"""Per-pair loss switches (mapping.no_hidden / no_attention): validated against the student, and a switched-off
pair adds nothing to the intermediate loss."""

import pytest
import torch
from transformers import BertForSequenceClassification, BertModel

from tests.tiny import LABELS, tiny_bert_config, tiny_tokenizer
from workbench.core.distill.distillation import StudentWithProjections, intermediate_losses
from workbench.core.distill.mapping import LayerMapping, MappingError, layer_mapping, recipe_mapping
from workbench.core.errors import RecipeError
from workbench.core.recipe import LossWeights, MappingConfig, Recipe


@pytest.fixture(scope="module")
def models_and_batch(tmp_path_factory):
    tokenizer = tiny_tokenizer(tmp_path_factory.mktemp("tok"))
    torch.manual_seed(0)
    teacher = BertModel(tiny_bert_config(tokenizer.vocab_size, layers=4)).eval()
    student = BertForSequenceClassification(tiny_bert_config(tokenizer.vocab_size, layers=2, hidden=16,
                                                             labels=LABELS))
    batch = dict(tokenizer(["good great movie", "the flight was awful and sad"], padding=True, return_tensors="pt"))
    return teacher, StudentWithProjections(student, 32).eval(), batch  # eval: no dropout, comparable calls


def components(models_and_batch, mapping: LayerMapping) -> dict[str, float]:
    teacher, student, batch = models_and_batch
    loss = intermediate_losses(teacher, student, mapping, LossWeights(), hidden_on=True, attention_on=True)
    with torch.no_grad():
        return {name: value.item() for name, value in loss(student, batch).items()}


def test_a_switched_off_pair_contributes_nothing(models_and_batch):
    everything = components(models_and_batch, layer_mapping("uniform", 2, 4))  # pairs (1, 2), (2, 4)
    only_second = components(models_and_batch, LayerMapping([(2, 4)]))
    only_first = components(models_and_batch, LayerMapping([(1, 2)]))

    no_hidden = components(models_and_batch, layer_mapping("uniform", 2, 4, no_hidden=[1]))
    assert no_hidden["hidden"] == pytest.approx(only_second["hidden"])
    assert no_hidden["hidden"] != pytest.approx(everything["hidden"])
    assert no_hidden["attention"] == pytest.approx(everything["attention"])  # the other loss of the pair stays

    no_attention = components(models_and_batch, layer_mapping("uniform", 2, 4, no_attention=[2]))
    assert no_attention["attention"] == pytest.approx(only_first["attention"])
    assert no_attention["hidden"] == pytest.approx(everything["hidden"])

    all_off = components(models_and_batch, layer_mapping("uniform", 2, 4, no_hidden=[1, 2], no_attention=[1, 2]))
    assert set(all_off) == {"embedding"}


def test_recipe_switches_reach_the_mapping():
    config = MappingConfig(mode="last", no_hidden=[2], no_attention=[1])
    mapping = recipe_mapping(config, 2, 4)
    assert mapping.pairs == [(1, 3), (2, 4)]
    assert mapping.hidden_pairs() == [(1, 3)] and mapping.attention_pairs() == [(2, 4)]


@pytest.mark.parametrize("switches", [{"no_hidden": [3]}, {"no_attention": [1, 5]}])
def test_a_student_layer_beyond_the_student_is_a_recipe_error(switches):
    name, layers = next(iter(switches.items()))
    with pytest.raises(MappingError, match=rf"mapping\.{name} lists student layer {layers[-1]}, but the student has "
                                          r"2 layers: give student layers in 1\.\.2") as error:
        recipe_mapping(MappingConfig(**switches), 2, 4)
    assert isinstance(error.value, RecipeError)


def test_layer_zero_is_refused_when_the_recipe_loads(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("mapping:\n  no_attention: [0]\n")
    with pytest.raises(RecipeError, match=r"mapping\.no_attention\.0"):
        Recipe.load(path)
