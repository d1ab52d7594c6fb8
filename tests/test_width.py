"""Hidden-width pruning (compress/width.py, methods/width.py): it keeps the function of a model whose pruned
channels are zero, ranks those channels lowest, saves and loads as a plain model, composes with FFN and
vocabulary pruning, runs in a whole job, and is declared to the registry like every method."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import BertForSequenceClassification

from tests.tiny import LABELS, tiny_bert_config, tiny_tokenizer
from tests.tiny_job import run_to_end
from workbench.core.compress.importance import PruningError
from workbench.core.compress.vocab_pruning import prune_vocabulary, select_vocabulary
from workbench.core.compress.width import hidden_importance, kept_width, prune_width
from workbench.core.events import Finished
from workbench.core.methods import registry
from workbench.core.recipe import PruningConfig, Recipe
from workbench.core.run_folder import RunFolder, write_json
from workbench.core.sources.pruned_models import load_pruned

ZEROED = [1, 5, 9, 13, 17, 22, 27, 30]  # 8 of 32 channels: a 0.25 ratio keeps 24, three heads of 8
SILENT_HEAD = 2  # its value rows and output columns are zero in every layer: the head that goes


def _model(seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    return BertForSequenceClassification(tiny_bert_config(60, labels=LABELS)).eval()


def _zero_pruned_units(model: BertForSequenceClassification) -> BertForSequenceClassification:
    """Zero everything that writes the channels in ZEROED (embedding columns, output rows, LayerNorm weight and
    bias, the pooler's rows) and the silent head, so that slicing them away can change nothing but the
    LayerNorms' statistics."""
    zeroed, head = torch.tensor(ZEROED), slice(SILENT_HEAD * 8, SILENT_HEAD * 8 + 8)
    bert = model.bert
    with torch.no_grad():
        for table in (bert.embeddings.word_embeddings, bert.embeddings.position_embeddings,
                      bert.embeddings.token_type_embeddings):
            table.weight[:, zeroed] = 0
        for norm in _norms(model):
            norm.weight[zeroed], norm.bias[zeroed] = 0, 0
        for layer in bert.encoder.layer:
            for linear in (layer.attention.output.dense, layer.output.dense):
                linear.weight[zeroed], linear.bias[zeroed] = 0, 0
            layer.attention.self.value.weight[head], layer.attention.self.value.bias[head] = 0, 0
            layer.attention.output.dense.weight[:, head] = 0
        bert.pooler.dense.weight[zeroed], bert.pooler.dense.bias[zeroed] = 0, 0
    return model


def _norms(model) -> list[nn.LayerNorm]:
    return [model.bert.embeddings.LayerNorm] + [norm for layer in model.bert.encoder.layer
                                                for norm in (layer.attention.output.LayerNorm, layer.output.LayerNorm)]


class _KeptNorm(nn.Module):
    """A LayerNorm whose mean and variance are over the kept channels only; the others come out as its
    (zero) weight and bias give them."""

    def __init__(self, norm: nn.LayerNorm, kept: torch.Tensor) -> None:
        super().__init__()
        self.norm, self.kept = norm, kept

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm.bias.expand_as(x).clone()
        part = nn.functional.layer_norm(x[..., self.kept], (len(self.kept),), self.norm.weight[self.kept],
                                        self.norm.bias[self.kept], self.norm.eps)
        out[..., self.kept] = part
        return out


def _reference(model: BertForSequenceClassification) -> BertForSequenceClassification:
    """The model with every LayerNorm over the kept channels: the one change slicing makes by definition."""
    kept = torch.tensor([c for c in range(32) if c not in ZEROED])
    bert = model.bert
    bert.embeddings.LayerNorm = _KeptNorm(bert.embeddings.LayerNorm, kept)
    for layer in bert.encoder.layer:
        layer.attention.output.LayerNorm = _KeptNorm(layer.attention.output.LayerNorm, kept)
        layer.output.LayerNorm = _KeptNorm(layer.output.LayerNorm, kept)
    return model


def _batches(count: int = 3, seed: int = 1) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        ids = torch.randint(5, 60, (4, 12), generator=generator)
        mask = torch.ones_like(ids)
        mask[:2, 9:] = 0  # padded tails
        batches.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids),
                        "labels": torch.randint(0, 3, (4,), generator=generator)})
    return batches


def _logits(model, batches) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(**{k: v for k, v in b.items() if k != "labels"}).logits for b in batches])


def _pruned_against_reference(model) -> float:
    import copy

    reference = _reference(copy.deepcopy(model))
    report = prune_width(model, 0.25, "l2", _batches())
    assert report["hidden_after"] == 24 and report["heads_after"] == 3
    return float((_logits(model, _batches()) - _logits(reference, _batches())).abs().max())


def test_width_pruning_keeps_the_function_of_a_model_whose_pruned_channels_are_zero():
    """Slicing away channels that are zero everywhere (and a head that writes nothing) changes one thing by
    definition: every LayerNorm's mean and variance are then over the kept channels. The reference is the
    same model with only that change, so the logits must match."""
    model = _zero_pruned_units(_model())
    assert _pruned_against_reference(model) < 1e-5
    assert model.config.hidden_size == 24 and model.config.num_attention_heads == 3
    assert model.bert.encoder.layer[0].attention.self.query.weight.shape == (24, 24)


def test_the_comparison_fails_when_a_pruned_channel_is_not_zero():
    model = _zero_pruned_units(_model())
    with torch.no_grad():
        model.bert.encoder.layer[-1].output.LayerNorm.bias[ZEROED[0]] = 1.0  # the pooler reads it
        model.bert.pooler.dense.weight[:, ZEROED[0]] = 1.0
    assert _pruned_against_reference(model) > 1e-3


def test_the_importance_ranks_zeroed_channels_lowest():
    scores = hidden_importance(_zero_pruned_units(_model()), _batches())
    assert sorted(torch.argsort(scores)[:len(ZEROED)].tolist()) == ZEROED
    assert scores[ZEROED].abs().max() == 0 and scores.max() > 0


def test_kept_width_holds_whole_heads():
    assert kept_width(384, 32, 0.25) == 288 and kept_width(384, 32, 0.3) == 256 and kept_width(384, 32, 0.0) == 384
    with pytest.raises(PruningError, match="less than one head"):
        kept_width(32, 8, 0.9)


def test_a_width_pruned_model_saves_and_loads_back(tmp_path):
    model = _model()
    prune_width(model, 0.3, "gradient", _batches())
    model.save_pretrained(tmp_path)
    expected = _logits(model, _batches())
    for loaded in (BertForSequenceClassification.from_pretrained(tmp_path).eval(), load_pruned(tmp_path)):
        assert loaded.config.hidden_size == 16 and loaded.config.num_attention_heads == 2
        assert torch.allclose(_logits(loaded, _batches()), expected, atol=1e-6)


def test_width_composes_with_ffn_and_vocabulary_pruning(tmp_path):
    model = _model()
    pruning = PruningConfig(enabled=True, hidden_ratio=0.25, ffn_ratio=0.5, importance="gradient")
    reports = registry.prune_as_recipe(model, pruning, iter(_batches()))  # one pass of batches for both
    assert reports["pruning_path"]["ffn_after"] == 32 and reports["width_path"]["hidden_after"] == 24
    tokenizer = tiny_tokenizer(tmp_path / "tokenizer")
    selection = select_vocabulary(model, tokenizer, ["good movie", "bad flight"])
    texts = tokenizer(["good movie", "bad flight"], return_tensors="pt", padding=True)
    before_ids = texts["input_ids"]
    texts = prune_vocabulary(model, tokenizer, selection, tmp_path / "student")(
        ["good movie", "bad flight"], return_tensors="pt", padding=True)
    assert texts["input_ids"].shape == before_ids.shape
    expected = _logits(model, [dict(texts)])
    for loaded in (BertForSequenceClassification.from_pretrained(tmp_path / "student").eval(),
                   load_pruned(tmp_path / "student")):
        assert loaded.config.hidden_size == 24 and loaded.config.intermediate_size == 32
        assert torch.allclose(_logits(loaded, [dict(texts)]), expected, atol=1e-6)


def test_a_family_without_width_support_says_so():
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    model = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=60, dim=32, n_layers=1, n_heads=4,
                                                                 hidden_dim=64))
    with pytest.raises(PruningError, match="hidden_ratio: 0"):
        prune_width(model, 0.25, "l2", _batches())


def test_the_recipe_rejects_width_with_head_pruning():
    with pytest.raises(ValueError, match="hidden_ratio removes heads"):
        PruningConfig(enabled=True, hidden_ratio=0.25, heads_ratio=0.25)
    PruningConfig(enabled=True, hidden_ratio=0.25, threshold=0.5, threshold_units="ffn")  # FFN-only is fine
    with pytest.raises(ValueError, match="keep heads_ratios"):
        Recipe(search={"space": {"heads_ratios": [0.25], "hidden_ratios": [0.0, 0.25]}})


def test_the_method_is_declared_to_the_card_estimate_form_report_and_search(tmp_path):
    from optuna.trial import FixedTrial

    from workbench.core.search.space import TeacherShape, candidate_recipe, suggest

    recipe = Recipe(pruning={"enabled": True, "hidden_ratio": 0.25, "recovery": {"epochs": 1}})
    run = RunFolder(tmp_path)
    assert "25% of hidden channels removed by activation importance" in registry.pruning_sentence(recipe.pruning, run)
    assert "hidden width −25%" in registry.pruning_estimate(recipe.pruning, heads=12, ffn_size=1536)
    assert "width −25%" in registry.pruning_tags(recipe.pruning)
    assert "pruning.hidden_ratio" in [row.key for row in registry.form_rows("pruning")]
    write_json(run.width_path, prune_width(_model(), 0.25, "l2", _batches()))
    assert "(32 → 24)" in registry.pruning_sentence(recipe.pruning, run)
    assert "<h3>Hidden-width pruning</h3>" in dict(registry.report_sections(run))["Pruning"]
    base, teacher = Recipe(), TeacherShape(4, 32, 4, 64)
    space = base.search.space.model_copy(update={"hidden_ratios": [0.0, 0.25]})
    params = {"shape": "keep:2,4", "ffn_ratio": 0.0, "heads_ratio": 0.0, "hidden_ratio": 0.25, "vocabulary": False,
              "max_accuracy_drop": None, "transfer_copies": 0, "int8": "dynamic"}
    candidate = suggest(FixedTrial(params), space, teacher)
    assert candidate.describe() == "keeps layers 2,4, width -25%, dynamic int8"
    drawn = candidate_recipe(base, candidate, teacher, "w", tmp_path)
    assert drawn.pruning.enabled and drawn.pruning.hidden_ratio == 0.25


def test_a_tiny_job_with_width_pruning_ends_with_int8_parity_and_a_narrower_student(recipe):
    recipe.pruning.enabled, recipe.pruning.hidden_ratio, recipe.pruning.ffn_ratio = True, 0.25, 0.5
    recipe.pruning.recovery.epochs = 1.0
    recipe.quantization.enabled = True
    finished = run_to_end(recipe)[-1]
    assert isinstance(finished, Finished) and finished.status == "finished", finished
    assert finished.summary["parity_ok"]
    run = RunFolder(Path(finished.run_dir))
    width = json.loads(run.width_path.read_text())
    student = load_pruned(run.student_dir)
    assert student.config.hidden_size == width["hidden_after"] == 24 < width["hidden_before"]
    assert student.config.num_attention_heads == 3


def test_a_student_narrower_than_its_teacher_keeps_projecting_after_width_pruning():
    """A random-width student already maps into the teacher's width; after width pruning its maps read the new
    width (the recovery stage's forward computes them)."""
    from workbench.core.distill.distillation import StudentWithProjections

    wrapper = StudentWithProjections(_model(), teacher_width=48)
    prune_width(wrapper.student, 0.25, "l2", _batches())
    wrapper.match_width()
    batch = {k: v for k, v in _batches(1)[0].items() if k != "labels"}
    outputs = wrapper(**batch)
    assert outputs["logits"].shape == (4, 3) and all(h.shape[-1] == 48 for h in outputs["projected"])


def test_the_search_measures_a_width_candidate_at_its_pruned_width(tmp_path):
    """A candidate's cost is timed on its shape before it trains: the shape width pruning leaves."""
    from tests.tiny_search import tiny_search_recipe
    from workbench.core.search.costs import CostMeter
    from workbench.core.search.folder import StudyFolder
    from workbench.core.sources.student import build_student

    base = tiny_search_recipe(tmp_path)
    meter = CostMeter(base, StudyFolder.create(base))
    candidate = base.model_copy(deep=True)
    candidate.pruning.enabled, candidate.pruning.hidden_ratio = True, 0.25
    student = build_student(candidate.student, meter.teacher, meter.data.label_names)
    meter._shrink_and_save(student, candidate, tmp_path / "candidate")
    assert json.loads((tmp_path / "candidate" / "config.json").read_text())["hidden_size"] == 24


def test_a_roberta_classifier_is_width_pruned_through_its_two_layer_head(tmp_path):
    from transformers import RobertaConfig, RobertaForSequenceClassification

    torch.manual_seed(0)
    model = RobertaForSequenceClassification(RobertaConfig(
        vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=40, num_labels=3)).eval()
    batches = [{k: v for k, v in b.items() if k != "token_type_ids"} for b in _batches()]
    assert prune_width(model, 0.25, "gradient", batches)["hidden_after"] == 24
    assert model.classifier.dense.weight.shape == (24, 24) and model.classifier.out_proj.in_features == 24
    model.save_pretrained(tmp_path)
    assert torch.allclose(_logits(load_pruned(tmp_path), batches), _logits(model, batches), atol=1e-6)
