"""The transfer set (distill/transfer.py, methods/transfer_set.py): rows the fine-tuned teacher labels are added
to what task distillation trains on; wherever a hard label is used a transfer row's is the teacher's argmax,
the labelled training rows keep their own, and a recipe without it distils on exactly the training split."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from tests.tiny_job import run_to_end
from workbench.core.distill.distillation import StudentWithProjections, prediction_losses
from workbench.core.distill.teacher_cache import TeacherCache
from workbench.core.distill.transfer import TRANSFER_LABEL
from workbench.core.errors import WorkbenchError
from workbench.core.events import Finished, JobControl, StageStarted, Step
from workbench.core.recipe import LossWeights, Recipe
from workbench.core.run_folder import RunFolder
from workbench.core.stages.context import JobContext
from workbench.core.stages.inputs import read_inputs


def _inputs(recipe):
    context = JobContext.open(recipe, JobControl(), None)
    try:
        context.inputs = read_inputs(context)
        return context
    finally:
        context.run.close()


def _distill_labels(context) -> list[int]:
    return list(context.loaders.distill.dataset["labels"])


def _teacher_argmax(teacher, batch) -> torch.Tensor:
    with torch.no_grad():
        return teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.argmax(-1)


@pytest.mark.parametrize("cached", [False, True])
def test_the_hard_label_of_a_transfer_row_is_the_teachers_argmax(recipe, cached):
    recipe.distillation.transfer.copies = 1
    context = _inputs(recipe)
    teacher, train_rows = context.teacher.eval(), len(context.data.splits["train"])
    student = StudentWithProjections(context.student.student, teacher.config.hidden_size).eval()
    cache = TeacherCache(2**26) if cached else None
    losses = prediction_losses(teacher, LossWeights(prediction=0.0, hard_label=1.0), 1.0, cache,
                               recipe.data.max_length)
    losses.prepare(lambda: context.loaders.distill, lambda: None)
    checked = 0
    for batch in context.loaders.distill:
        transfer = batch["idx"] >= train_rows
        if not transfer.any():
            continue
        teacher_says = _teacher_argmax(teacher, batch)
        with torch.no_grad():
            logits = student.student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            hard = losses(student, batch)["hard_label"]
        # The copies' original texts carried their own labels; the teacher's argmax is what must be learnt.
        expected = torch.where(transfer, teacher_says, batch["labels"])
        assert torch.allclose(hard, F.cross_entropy(logits, expected), atol=1e-6)
        originals = torch.tensor(context.data.splits["train"]["label"])[batch["idx"] % train_rows]
        if (originals != expected).any():
            assert not torch.allclose(hard, F.cross_entropy(logits, originals), atol=1e-6)
        checked += int(transfer.sum())
    assert checked == len(context.loaders.distill.dataset) - train_rows > 0


def test_labelled_rows_keep_their_true_labels_and_transfer_rows_are_marked(recipe):
    recipe.distillation.transfer.copies = 2
    context = _inputs(recipe)
    labels, train = _distill_labels(context), context.data.splits["train"]
    assert labels[: len(train)] == list(train["label"])  # the split first, in order, with its own labels
    assert len(labels) > len(train) and set(labels[len(train):]) == {TRANSFER_LABEL}
    assert list(context.loaders.train.dataset["labels"]) == list(train["label"])  # fine-tuning: true labels only
    from workbench.core.distill.transfer import hard_labels

    true, disagreeing = torch.tensor([0, 2, TRANSFER_LABEL]), torch.tensor([[0.0, 9.0, 0.0]] * 3)
    assert hard_labels(true, disagreeing).tolist() == [0, 2, 1]  # the teacher overrides transfer rows only


def test_without_a_transfer_set_the_distill_data_is_the_training_split(recipe):
    assert Recipe.from_dict({"name": "older"}).distillation.transfer.model_dump() == {
        "copies": 0, "source": None, "text_column": "text", "max_rows": None}
    context = _inputs(recipe)
    assert context.loaders.distill is context.loaders.train
    assert not context.run.transfer_path.exists()
    recipe.distillation.augmentation.enabled, recipe.distillation.augmentation.copies = True, 2
    augmented = _inputs(recipe)  # the older way to copies: the same texts, in the same order, as before
    cached = [json.loads(line)["text"] for line in augmented.run.augmented_path.read_text().splitlines()[1:]]
    encoded = augmented.tokenizer(cached, truncation=True, max_length=recipe.data.max_length)["input_ids"]
    assert list(map(list, augmented.loaders.distill.dataset["input_ids"])) == encoded
    train = len(augmented.data.splits["train"])  # the copies are now labelled by the teacher, not their originals
    assert _distill_labels(augmented) == [*augmented.data.splits["train"]["label"], *[TRANSFER_LABEL] * (
        len(cached) - train)]


def test_an_unlabelled_text_file_is_read_capped_by_max_rows_and_a_bad_one_is_one_line(recipe, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"the flight was fine on day {i}" for i in range(40)) + "\n\n", encoding="utf-8")
    recipe.distillation.transfer.source, recipe.distillation.transfer.max_rows = str(corpus), 10
    context = _inputs(recipe)
    dataset, train = context.loaders.distill.dataset, context.data.splits["train"]
    assert len(dataset) == len(train) + 10 and _distill_labels(context)[len(train):] == [TRANSFER_LABEL] * 10
    decoded = context.tokenizer.batch_decode(dataset["input_ids"][len(train):], skip_special_tokens=True)
    assert decoded == [f"the flight was fine on day {i}" for i in range(10)]
    recipe.distillation.transfer.source = str(tmp_path / "missing.txt")
    with pytest.raises(WorkbenchError) as error:
        _inputs(recipe)
    assert "missing.txt" in str(error.value) and "\n" not in str(error.value)
    from workbench.core.preflight import check_recipe

    with pytest.raises(WorkbenchError, match="missing.txt"):  # `workbench check` and Start find it before a run
        check_recipe(recipe)


def test_a_job_with_a_transfer_set_trains_on_it_and_says_so(recipe, tmp_path):
    from workbench.core.methods.registry import distillation_sentences, report_sections

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"the service was good {i}" for i in range(8)) + "\n", encoding="utf-8")
    recipe.distillation.transfer.copies, recipe.distillation.transfer.source = 1, str(corpus)
    recipe.distillation.weights.hard_label = 1.0
    events = run_to_end(recipe)
    assert isinstance(events[-1], Finished)
    run = RunFolder.open(events[-1].run_dir)
    counts = json.loads(run.transfer_path.read_text())
    assert counts["training_rows"] == 60 and counts["source_rows"] == 8 and 0 < counts["copies"] <= 60
    steps = {e.stage: e.total_steps for e in events if isinstance(e, StageStarted)}
    assert steps["teacher_finetune"] == 4  # the labelled 60 texts
    assert steps["intermediate"] == steps["prediction"] == math.ceil((60 + counts["transfer_rows"]) / 16)
    hard = [e.losses["hard_label"] for e in events if isinstance(e, Step) and e.stage == "prediction"]
    assert hard and all(math.isfinite(value) for value in hard)
    sentence = distillation_sentences(run.recipe().distillation, run)
    assert sentence == [f"a transfer set labelled by the teacher ({counts['transfer_rows']:,} rows): 1 "
                        f"word-replaced copies of each training text and unlabelled text from `{corpus}`; the student "
                        "learns the teacher's answer on it, never the original text's label"]
    assert any(title == "Distillation data" and "Transfer set" in inner for title, inner in report_sections(run))


def test_the_registry_gives_it_a_card_sentence_a_form_row_and_a_search_knob(qtbot, tmp_path):
    from optuna.trial import FixedTrial

    from workbench.core.methods import registry
    from workbench.core.search.space import Candidate, TeacherShape, candidate_recipe, suggest
    from workbench.gui.panels.compression import CompressionPanel
    from workbench.gui.recipe_editor import RecipeEditor
    from workbench.gui.steps import compression_summary

    recipe = Recipe(distillation={"transfer": {"copies": 3}})
    assert registry.distillation_sentences(Recipe().distillation, RunFolder(tmp_path)) == []  # off by default
    assert registry.distillation_sentences(recipe.distillation, RunFolder(tmp_path))[0].startswith(
        "a transfer set labelled by the teacher: 3 word-replaced copies of each training text")
    assert "transfer ×3" in compression_summary(recipe)
    editor = RecipeEditor(Recipe())
    panel = CompressionPanel(editor)
    qtbot.addWidget(panel)
    from tests.gui_support import edit

    edit(qtbot, editor.fields("distillation.transfer.max_rows")[0], "500")
    editor.fields("distillation.transfer.copies")[0].widget.setValue(2)
    assert editor.recipe.distillation.transfer.copies == 2 and editor.recipe.distillation.transfer.max_rows == 500
    base, teacher = Recipe(), TeacherShape(4, 32, 4, 64)
    assert base.search.space.transfer_copies == [0]  # existing studies draw nothing new
    space = base.search.space.model_copy(update={"layer_counts": [2], "transfer_copies": [0, 4]})
    params = {"shape": "keep:2,4", "ffn_ratio": 0.0, "heads_ratio": 0.0, "hidden_ratio": 0.0, "vocabulary": False,
              "max_accuracy_drop": None, "transfer_copies": 4, "int8": "dynamic"}
    candidate = suggest(FixedTrial(params), space, teacher)
    assert candidate.describe() == "keeps layers 2,4, transfer ×4, dynamic int8"
    assert candidate_recipe(base, candidate, teacher, "t", "runs").distillation.transfer.copies == 4
    older = Candidate.from_dict({key: value for key, value in params.items() if key != "transfer_copies"})
    assert dict(older.settings)["transfer_copies"] == 0  # a trial drawn before the knob: no transfer set
