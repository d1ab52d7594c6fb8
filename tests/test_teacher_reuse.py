"""A fine-tuned teacher is reused by later jobs on the same split and settings, and by no other job."""

import shutil

import pytest

from tests.tiny_job import run_to_end
from workbench.core.events import Finished, Notice, StageStarted
from workbench.core.run_folder import RunFolder
from workbench.core.stages.teacher_reuse import cache_root, cached_teacher, keep_teacher, teacher_key


def test_a_reused_teacher_gives_the_same_student_as_a_freshly_fine_tuned_one(recipe):
    fresh = run_to_end(recipe)
    assert any(isinstance(e, StageStarted) and e.stage == "teacher_finetune" for e in fresh)
    kept_targets = {path: path.stat().st_mtime_ns for path in cache_root(recipe).glob("*/targets/*.safetensors")}
    assert {path.stem for path in kept_targets} >= {"hidden0", "logits"}
    reused = run_to_end(recipe)
    # The reused job read the teacher's targets instead of computing (and keeping) them again.
    assert {path: path.stat().st_mtime_ns for path in kept_targets} == kept_targets
    assert not any(isinstance(e, StageStarted) and e.stage == "teacher_finetune" for e in reused)
    assert any(isinstance(e, Notice) and "reusing" in e.message for e in reused)
    assert isinstance(reused[-1], Finished) and reused[-1].summary == fresh[-1].summary
    run = RunFolder.open(reused[-1].run_dir)
    assert run.teacher_reuse_path.is_file() and (run.teacher_dir / "config.json").is_file()  # self-contained
    assert not [*run.teacher_dir.glob("predictions-*.json"), *run.teacher_dir.glob("teacher-key.json"),
                *run.teacher_dir.glob("targets")]  # the cache's


def test_reuse_off_fine_tunes_again(recipe):
    run_to_end(recipe)
    recipe.teacher.reuse = False
    again = run_to_end(recipe)
    assert any(isinstance(e, StageStarted) and e.stage == "teacher_finetune" for e in again)


@pytest.fixture
def kept(recipe, tiny_base_dir, tmp_path):
    fine_tuned = shutil.copytree(tiny_base_dir, tmp_path / "fine-tuned")
    key = teacher_key(recipe, tiny_base_dir, "data-hash", ["negative", "neutral", "positive"])
    keep_teacher(recipe, key, fine_tuned)
    assert cached_teacher(recipe, key) is not None and cache_root(recipe).is_dir()
    return key


CHANGES = {
    "fine-tune lr": lambda recipe: setattr(recipe.distillation.teacher_finetune, "lr", 3e-4),
    "fine-tune epochs": lambda recipe: setattr(recipe.distillation.teacher_finetune, "epochs", 3),
    "seed": lambda recipe: setattr(recipe.training, "seed", 8),
    "batch size": lambda recipe: setattr(recipe.training, "batch_size", 8),
    "max length": lambda recipe: setattr(recipe.data, "max_length", 24),
    "teacher source": lambda recipe: setattr(recipe.teacher, "source", recipe.teacher.source + "/"),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_a_changed_setting_never_reuses_a_stale_teacher(recipe, tiny_base_dir, kept, change):
    CHANGES[change](recipe)
    key = teacher_key(recipe, tiny_base_dir, "data-hash", ["negative", "neutral", "positive"])
    assert cached_teacher(recipe, key) is None


def test_changed_data_labels_files_or_versions_never_reuse(recipe, tiny_base_dir, kept, tmp_path, monkeypatch):
    labels = ["negative", "neutral", "positive"]
    assert cached_teacher(recipe, teacher_key(recipe, tiny_base_dir, "other-data", labels)) is None
    assert cached_teacher(recipe, teacher_key(recipe, tiny_base_dir, "data-hash", labels[:2])) is None
    edited = shutil.copytree(tiny_base_dir, tmp_path / "edited-teacher")
    (edited / "vocab.txt").write_text((edited / "vocab.txt").read_text() + "extra\n")
    assert cached_teacher(recipe, teacher_key(recipe, edited, "data-hash", labels)) is None
    monkeypatch.setattr("workbench.__version__", "99.0")
    assert cached_teacher(recipe, teacher_key(recipe, tiny_base_dir, "data-hash", labels)) is None


def test_the_teacher_is_scored_on_the_test_split_once_and_a_damaged_score_file_is_ignored(recipe):
    import json

    fresh = run_to_end(recipe)[-1]
    kept = next(cache_root(recipe).glob("*/predictions-test.json"))
    predictions = json.loads(kept.read_text())["predictions"]
    assert len(predictions) == recipe.data.test_size
    kept.write_text(json.dumps({"predictions": [0] * len(predictions)}))  # what the next job must read
    labels = RunFolder.open(fresh.run_dir).path / "evaluation.json"
    negative_share = json.loads(labels.read_text())["teacher"]["per_class"]["negative"]["support"] / len(predictions)
    assert run_to_end(recipe)[-1].summary["teacher_accuracy"] == pytest.approx(negative_share)
    kept.write_text(json.dumps({"predictions": [0] * 3}))  # the wrong length: scored again
    assert run_to_end(recipe)[-1].summary["teacher_accuracy"] == fresh.summary["teacher_accuracy"]
