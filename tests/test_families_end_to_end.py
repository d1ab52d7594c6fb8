"""Every advertised encoder family through the whole job on a tiny random teacher with a tokenizer of its
own kind: teacher fine-tuning, intermediate and prediction distillation, head + FFN pruning with recovery,
vocabulary pruning, ONNX (fused where the family allows) int8 with parity, and the try-it predictors.
Attention scores are checked against the family's eager attention wherever they are captured."""

import json

import pytest
import torch

from tests.test_attention_scores import assert_scores_match_eager
from tests.tiny import tiny_recipe
from tests.tiny_families import CASES, family_config, family_tokenizer, save_family_teacher
from workbench.core.distill.attention_scores import AttentionCaptureError, AttentionScoreCapture
from workbench.core.events import Finished, Notice, StageStarted
from workbench.core.job import run_job
from workbench.core.measure.inference import STUDENT_INT8, compare, run_predictors
from workbench.core.run_folder import RunFolder
from workbench.core.sources.families import family_of
from workbench.core.sources.family_support import UnsupportedStepError, check_supported, family_capabilities

FAMILY_CASES = sorted(CASES)
TEXTS = ["good movie", "the flight was really awful and the food was very bad", "i love it 12"]


@pytest.fixture(scope="module", params=FAMILY_CASES)
def family_teacher(request, tmp_path_factory):
    case = CASES[request.param]
    return case, save_family_teacher(case, tmp_path_factory.mktemp(f"teacher-{request.param}"))


def family_recipe(teacher, csv, runs, config):
    """The smoke job with every step on, taking the way the family supports for attention and pruning."""
    recipe = tiny_recipe(teacher, csv, runs)
    support = {s.step: s.supported for s in family_capabilities(config)}
    recipe.distillation.attention_loss = "scores" if support["attention loss (scores)"] else "relation"
    recipe.pruning.enabled, recipe.pruning.vocabulary = True, True
    recipe.pruning.heads_ratio = recipe.pruning.ffn_ratio = 0.5
    recipe.quantization.enabled = True
    return recipe


def test_whole_job_runs_for_every_family(family_teacher, tiny_csv, tmp_path):
    from transformers import AutoConfig

    from workbench.core.sources.pruned_models import attention_heads, current_ffn, load_pruned

    case, teacher = family_teacher
    config = AutoConfig.from_pretrained(teacher)
    events = list(run_job(family_recipe(teacher, tiny_csv, tmp_path / "runs", config)))
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.status == "finished", finished
    stages = [e.stage for e in events if isinstance(e, StageStarted)]
    assert stages == ["teacher_finetune", "intermediate", "prediction", "recovery"]
    run = RunFolder.open(finished.run_dir)
    student = load_pruned(run.path / "student")
    assert family_of(student.config) is family_of(config)
    assert current_ffn(student) == 32
    assert attention_heads(student.config) == 2
    assert student.config.vocab_size < config.vocab_size
    parity = json.loads((run.path / "onnx" / "parity.json").read_text())
    assert parity["all_ok"] and finished.summary["parity_ok"], parity
    exported = json.loads((run.path / "onnx" / "export.json").read_text())
    fused = family_of(config).fusion_unsupported is None
    assert (exported["fusion"] is not None) == fused
    assert not fused or exported["fusion"]["fused"].get("Attention", 0) >= 1  # the student's one layer
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert fused or any("unfused" in n for n in notices)
    results = {r.name: r for r in compare(run_predictors(run.path), TEXTS, repeats=1)}
    assert all(r.missing is None and r.probabilities.shape == (3, 3) for r in results.values())
    assert results[STUDENT_INT8].size_bytes > 0


@pytest.mark.parametrize("model_type", FAMILY_CASES)
def test_family_attention_scores_match_eager_attention_or_are_refused(model_type, tmp_path):
    import transformers as tr

    case = CASES[model_type]
    tokenizer = family_tokenizer(case, tmp_path)
    torch.manual_seed(0)
    model = tr.AutoModelForSequenceClassification.from_config(family_config(case, tokenizer)).eval()
    family = family_of(model.config)
    batch = dict(tokenizer(TEXTS, padding=True, return_tensors="pt"))
    if family.scores_unsupported:
        with pytest.raises(AttentionCaptureError, match="relation"):
            AttentionScoreCapture(model, family, [0])
        return
    with torch.no_grad(), AttentionScoreCapture(model, family, [0, 1]) as capture:
        model(**batch)
    assert sorted(capture.scores) == [0, 1]
    assert_scores_match_eager(model, batch, capture.scores)


@pytest.mark.parametrize("model_type", FAMILY_CASES)
def test_family_refuses_unsupported_steps_in_one_line_before_training(model_type, tiny_csv, tmp_path):
    case = CASES[model_type]
    config = family_config(case, family_tokenizer(case, tmp_path))
    family = family_of(config)
    recipe = tiny_recipe(tmp_path, tiny_csv, tmp_path / "runs")
    recipe.distillation.attention_loss = "relation"
    check_supported(recipe, config)  # relations work for every family
    recipe.distillation.attention_loss = "scores"
    if family.scores_unsupported is None:
        check_supported(recipe, config)
        return
    with pytest.raises(UnsupportedStepError) as error:
        check_supported(recipe, config)
    message = str(error.value)
    assert "\n" not in message and family.name in message and "attention_loss: relation" in message


@pytest.mark.parametrize("model_type", ["roberta", "xlm-roberta", "modernbert", "deberta-v2"])
def test_family_vocabulary_pruning_keeps_the_tokens_of_kept_texts_for_bpe_and_unigram(model_type, tmp_path):
    import transformers as tr

    from workbench.core.compress.vocab_pruning import prune_vocabulary, select_vocabulary, tokenizer_kind

    case = CASES[model_type]
    tokenizer = family_tokenizer(case, tmp_path / "original")
    assert tokenizer_kind(tokenizer) == {"bpe": "BPE", "unigram": "Unigram"}[case.tokenizer]
    torch.manual_seed(0)
    model = tr.AutoModelForSequenceClassification.from_config(family_config(case, tokenizer)).eval()
    kept_texts = ["good movie", "i love it 12", "the food was bad"]
    batch = dict(tokenizer(kept_texts, padding=True, return_tensors="pt"))
    with torch.no_grad():
        before = model(**batch).logits
    selection = select_vocabulary(model, tokenizer, kept_texts)
    pruned_tokenizer = prune_vocabulary(model, tokenizer, selection, tmp_path / "pruned")
    assert selection.vocab_after < selection.vocab_before
    for text in kept_texts:  # the same tokens under new ids
        ids = tokenizer(text)["input_ids"]
        assert pruned_tokenizer.convert_ids_to_tokens(pruned_tokenizer(text)["input_ids"]) == \
            tokenizer.convert_ids_to_tokens(ids)
    with torch.no_grad():
        after = model(**dict(pruned_tokenizer(kept_texts, padding=True, return_tensors="pt"))).logits
    torch.testing.assert_close(after, before)
    assert len(pruned_tokenizer("a text of unseen words: zebra quux")["input_ids"]) > 2  # still runs


def test_family_info_says_which_steps_each_folder_supports(family_teacher):
    from workbench.core.sources.models import summarize_model

    case, teacher = family_teacher
    summary = summarize_model(str(teacher))
    text = "\n".join(summary.lines())
    assert (summary.layers, summary.hidden_size, summary.heads, summary.ffn_size) == (2, 32, 4, 64)
    for step in ("attention loss (scores)", "attention loss (relation)", "head pruning", "FFN pruning",
                 "ONNX fusion", "int8"):
        assert step in summary.support and step in text
    scores, fusion = summary.support["attention loss (scores)"], summary.support["ONNX fusion"]
    expected_no = case.model_type in ("deberta-v2", "modernbert")
    assert scores.startswith("no: ") == expected_no and fusion.startswith("no: ") == expected_no
    assert summary.support["attention loss (relation)"] == "yes"


def test_relation_loss_teaches_a_student_with_other_head_counts_in_a_family_without_scores(tiny_csv, tmp_path):
    from workbench.core.events import Step

    teacher = save_family_teacher(CASES["modernbert"], tmp_path / "teacher")
    recipe = tiny_recipe(teacher, tiny_csv, tmp_path / "runs")
    recipe.student = recipe.student.model_copy(update={"preset": "custom", "layers": 1, "hidden_size": 24,
                                                       "heads": 3, "ffn_size": 48, "init": "random",
                                                       "teacher_layers": None})
    recipe.distillation.attention_loss = "relation"
    events = list(run_job(recipe))
    assert isinstance(events[-1], Finished), events[-1]
    steps = [e for e in events if isinstance(e, Step) and e.stage == "intermediate"]
    assert steps and all(e.losses["attention"] > 0 for e in steps)


def test_distilbert_family_teacher_runs_the_smoke_recipe_from_the_cli(tiny_csv, tmp_path):
    import os
    import subprocess
    import sys

    teacher = save_family_teacher(CASES["distilbert"], tmp_path / "distilbert")
    path = tiny_recipe(teacher, tiny_csv, tmp_path / "runs").save(tmp_path / "smoke.yaml")
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "run", str(path)], capture_output=True,
                          text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "student_accuracy" in json.loads(done.stdout)


def test_family_without_scores_fails_the_job_before_any_training_in_one_line(tiny_csv, tmp_path):
    from workbench.core.events import Failed

    teacher = save_family_teacher(CASES["modernbert"], tmp_path / "teacher")
    events = list(run_job(tiny_recipe(teacher, tiny_csv, tmp_path / "runs")))  # attention_loss: scores
    assert isinstance(events[-1], Failed) and not any(isinstance(e, StageStarted) for e in events)
    assert "ModernBERT does not support attention loss (scores)" in events[-1].message
    assert "attention_loss: relation" in events[-1].message and "\n" not in events[-1].message
