import json
from pathlib import Path

import pytest
import torch

from tests.tiny import tiny_recipe
from tests.tiny_job import run_to_end
from workbench.core.distill.checkpoints import load_checkpoint
from workbench.core.events import ArtifactWritten, CheckpointSaved, Failed, Finished, JobControl, StageStarted, Step
from workbench.core.job import run_job
from workbench.core.run_folder import RunFolder


def test_smoke_job_writes_a_complete_run_folder(recipe):
    from transformers import AutoModelForSequenceClassification

    events = run_to_end(recipe)
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.status == "finished"
    stages = [e.stage for e in events if isinstance(e, StageStarted)]
    assert stages == ["teacher_finetune", "intermediate", "prediction"]
    run = RunFolder.open(finished.run_dir)
    assert run.recipe() == recipe
    assert run.status()["status"] == "finished"
    manifest = json.loads((run.path / "data.json").read_text())
    assert manifest["sizes"] == {"train": 60, "dev": 24, "test": 24} and len(manifest["content_hash"]) == 64
    evaluation = json.loads((run.path / "evaluation.json").read_text())
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix"} <= set(evaluation["student"])
    assert 0 <= evaluation["teacher_student_agreement"] <= 1
    student = AutoModelForSequenceClassification.from_pretrained(run.path / "student")
    assert student.config.num_hidden_layers == 1 and student.config.id2label[2] == "positive"
    assert (run.path / "teacher" / "config.json").is_file()
    assert any((run.path / "tensorboard").iterdir())
    logged_steps = [m for m in run.metrics() if m["event"] == "Step" and m["stage"] == "intermediate"]
    assert len(logged_steps) == 4 and {"embedding", "hidden", "attention", "total"} <= set(logged_steps[0]["losses"])


def test_each_loss_component_is_logged_on_its_own(recipe):
    recipe.distillation.weights.hard_label = 0.5
    events = run_to_end(recipe)
    prediction = [e for e in events if isinstance(e, Step) and e.stage == "prediction"]
    assert set(prediction[0].losses) == {"prediction", "hard_label", "total"}
    assert prediction[0].losses["total"] == pytest.approx(
        prediction[0].losses["prediction"] + prediction[0].losses["hard_label"], rel=1e-5)


def test_per_pair_switches_reach_the_job(recipe):
    recipe.mapping.no_hidden = [1]  # the tiny student's only layer: no hidden loss is left to log
    events = run_to_end(recipe)
    intermediate = [e for e in events if isinstance(e, Step) and e.stage == "intermediate"]
    assert intermediate and set(intermediate[0].losses) == {"embedding", "attention", "total"}


def final_student_weights(run_dir):
    from safetensors.torch import load_file

    return load_file(str(run_dir / "student" / "model.safetensors"))


@pytest.mark.parametrize("epochs, cancel_at", [(1, 2), (2, 6)], ids=["first-epoch", "cached-teacher-epoch"])
def test_cancel_then_resume_matches_an_uninterrupted_run_exactly(recipe, epochs, cancel_at):
    # In the second epoch the teacher's targets come from the cache; the resumed run must refill it exactly.
    recipe.distillation.intermediate.epochs = recipe.distillation.prediction.epochs = epochs
    uninterrupted = run_to_end(recipe)[-1]

    control = JobControl()
    cancelled = None
    for event in run_job(recipe, control):
        if isinstance(event, CheckpointSaved) and event.stage == "intermediate" and event.step == cancel_at:
            control.cancel()
        cancelled = event
    assert isinstance(cancelled, Finished) and cancelled.status == "cancelled"
    run = RunFolder.open(cancelled.run_dir)
    assert run.status()["status"] == "cancelled"
    assert load_checkpoint(run.checkpoint_path).info["stage"] == "intermediate"

    resumed_events = run_to_end(None, resume_dir=cancelled.run_dir)
    started = [e for e in resumed_events if isinstance(e, StageStarted)]
    assert (started[0].stage, started[0].resumed_at_step) == ("intermediate", cancel_at)
    resumed = resumed_events[-1]
    assert resumed.summary == uninterrupted.summary
    expected, got = final_student_weights(RunFolder.open(uninterrupted.run_dir).path), final_student_weights(run.path)
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[name], got[name]) for name in expected)


def test_nan_loss_names_step_and_component_and_keeps_last_checkpoint(recipe, monkeypatch):
    def nan_loss(student_logits, teacher_logits, temperature):
        return student_logits.sum() * float("nan")

    monkeypatch.setattr("workbench.core.distill.distillation.soft_cross_entropy", nan_loss)
    events = run_to_end(recipe)
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert "stage prediction, step 1: the prediction loss is nan" in failed.message
    run = RunFolder.open(failed.run_dir)
    assert run.status()["status"] == "failed"
    checkpoint = load_checkpoint(run.checkpoint_path)
    assert checkpoint.info["stage"] == "intermediate"
    assert all(torch.isfinite(t).all() for t in checkpoint.groups["student"].values() if t.is_floating_point())


def test_full_disk_fails_with_a_message_and_a_way_out(recipe, monkeypatch):
    import errno

    real_open = Path.open

    def full_disk(path, mode="r", *args, **kwargs):
        if "last.safetensors" in path.name and "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", full_disk)
    failed = run_to_end(recipe)[-1]
    assert isinstance(failed, Failed)
    assert "the disk is full" in failed.message
    assert f"`workbench run --resume {failed.run_dir}`" in failed.message  # the run folder, not its parent
    run = RunFolder.open(failed.run_dir)
    assert run.status()["status"] == "failed"
    assert not [p for p in run.path.rglob("*") if p.name.endswith((".tmp", ".new"))]  # no orphan temporary files


def test_head_count_mismatch_refuses_attention_loss(recipe):
    from workbench.core.recipe import StudentConfig

    recipe.student = StudentConfig(preset="custom", init="random", layers=1, hidden_size=16, heads=2, ffn_size=32)
    failed = run_to_end(recipe)[-1]
    assert isinstance(failed, Failed)
    assert "attention loss needs equal head counts" in failed.message and "mapping.attention: false" in failed.message
    recipe.mapping.attention = False
    assert isinstance(run_to_end(recipe)[-1], Finished)


def test_teacher_with_a_matching_head_is_not_fine_tuned(tiny_classifier_dir, tiny_csv, tmp_path):
    recipe = tiny_recipe(tiny_classifier_dir, tiny_csv, tmp_path / "runs")
    events = run_to_end(recipe)
    assert [e.stage for e in events if isinstance(e, StageStarted)] == ["intermediate", "prediction"]


def test_augmented_copies_feed_both_distillation_stages_and_are_cached(recipe):
    recipe.distillation.augmentation.enabled = True
    recipe.distillation.augmentation.copies = 2
    recipe.distillation.augmentation.replace_prob = 0.5
    events = run_to_end(recipe)
    assert isinstance(events[-1], Finished)
    run = RunFolder.open(events[-1].run_dir)
    cached_rows = len((run.path / "augmented.jsonl").read_text().splitlines()) - 1  # first line: the key
    assert 60 < cached_rows <= 180
    steps = {e.stage: e.total_steps for e in events if isinstance(e, StageStarted)}
    assert steps["teacher_finetune"] == 4  # fine-tuning keeps the original 60 texts
    assert steps["intermediate"] == steps["prediction"] == -(-cached_rows // 16)


def test_general_distillation_runs_first_on_unlabelled_text(recipe, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"the car was good on day {i}" for i in range(40)) + "\n\n", encoding="utf-8")
    recipe.distillation.general.source = str(corpus)
    recipe.distillation.general.enabled = True
    events = run_to_end(recipe)
    started = [(e.stage, e.total_steps) for e in events if isinstance(e, StageStarted)]
    assert started == [("general", 3), ("teacher_finetune", 4), ("intermediate", 4), ("prediction", 4)]
    general_steps = [e for e in events if isinstance(e, Step) and e.stage == "general"]
    assert {"embedding", "hidden", "attention"} <= set(general_steps[0].losses)


def test_pause_holds_the_loop_between_steps_until_resumed(recipe):
    import threading
    import time

    control = JobControl()
    control.pause()
    events, held, resumed, woke_resumed = [], threading.Event(), threading.Event(), []
    wait_while_paused = control.wait_while_paused

    def wait_and_tell() -> float:  # the job at a point where it waits while paused; was it held there?
        held.set()
        waited = wait_while_paused()
        woke_resumed.append(resumed.is_set())
        return waited

    def run() -> None:  # each event seen as it comes (events.extend(run_job(...)) saw none before the end)
        for event in run_job(recipe, control):
            events.append(event)

    control.wait_while_paused = wait_and_tell
    worker = threading.Thread(target=run)
    worker.start()
    assert held.wait(60), "the job never reached a pause point"
    time.sleep(0.5)
    assert not any(isinstance(e, Step) for e in list(events)), "a paused job took a step"
    resumed.set()
    control.resume()
    worker.join(timeout=120)
    assert woke_resumed[0], "the job went on past a pause point before it was resumed"
    assert isinstance(events[-1], Finished) and events[-1].status == "finished"


def prunable(recipe):
    recipe.pruning.enabled = True
    recipe.pruning.heads_ratio = 0.5
    recipe.pruning.ffn_ratio = 0.5
    recipe.pruning.vocabulary = True
    return recipe


def test_pruning_then_recovery_then_vocabulary_pruning(recipe):
    from workbench.core.sources.pruned_models import attention_heads, load_pruned

    events = run_to_end(prunable(recipe))
    finished = events[-1]
    assert isinstance(finished, Finished), finished
    assert [e.stage for e in events if isinstance(e, StageStarted)][-1] == "recovery"
    run = RunFolder.open(finished.run_dir)
    report = json.loads((run.path / "pruning.json").read_text())
    assert (report["heads_before"], report["heads_after"], report["ffn_before"], report["ffn_after"]) == (4, 2, 64, 32)
    student = load_pruned(run.path / "student")
    assert attention_heads(student.config) == 2 and student.config.intermediate_size == 32
    assert student.config.vocab_size < 129
    evaluation = json.loads((run.path / "evaluation.json").read_text())
    assert {"student_full_vocabulary", "student", "teacher"} <= set(evaluation)


def test_resume_inside_the_recovery_stage(recipe):
    recipe = prunable(recipe)
    uninterrupted = run_to_end(recipe)[-1]
    control = JobControl()
    for event in run_job(recipe, control):
        if isinstance(event, CheckpointSaved) and event.stage == "recovery" and event.step == 2:
            control.cancel()
        cancelled = event
    assert cancelled.status == "cancelled"
    resumed = run_to_end(None, resume_dir=cancelled.run_dir)
    assert [e.stage for e in resumed if isinstance(e, StageStarted)] == ["recovery"]
    assert resumed[-1].summary == uninterrupted.summary


def test_quantization_stage_exports_and_checks_parity(recipe):
    recipe.quantization.enabled = True
    events = run_to_end(recipe)
    finished = events[-1]
    assert isinstance(finished, Finished) and "parity_ok" in finished.summary
    run = RunFolder.open(finished.run_dir)
    written = {e.name for e in events if isinstance(e, ArtifactWritten)}
    assert {"student-fp32.onnx", "student-int8.onnx", "teacher-fp32.onnx"} <= written
    parity = json.loads((run.path / "onnx" / "parity.json").read_text())
    students = [r["ok"] for r in parity["results"] if r["artifact"].startswith("student-")]
    assert students and all(students) == finished.summary["parity_ok"]  # what the job ships
    evaluation = json.loads((run.path / "evaluation.json").read_text())
    int8 = evaluation["student_int8"]
    assert int8["examples"] == evaluation["student"]["examples"]
    assert 0 <= int8["accuracy"] <= 1 and finished.summary["student_int8_accuracy"] == int8["accuracy"]
    assert sum(map(sum, int8["confusion_matrix"])) == int8["examples"]


def test_the_teacher_cache_changes_nothing_but_time(recipe):
    # Two epochs: the second reads every target from the cache, in other batch compositions and paddings.
    recipe.distillation.intermediate.epochs = recipe.distillation.prediction.epochs = 2
    cached = run_to_end(recipe)[-1]
    recipe.distillation.teacher_cache_mb = 0  # the teacher runs on every step
    uncached = run_to_end(recipe)[-1]
    assert isinstance(cached, Finished) and cached.summary == uncached.summary
    weights, reference = final_student_weights(Path(cached.run_dir)), final_student_weights(Path(uncached.run_dir))
    assert all(torch.equal(weights[name], reference[name]) for name in reference)



def test_cancel_during_the_teacher_pass_stops_there_and_resumes_to_the_same_result(recipe):
    uninterrupted = run_to_end(recipe)[-1]
    control, events = JobControl(), []
    for event in run_job(recipe, control):
        events.append(event)
        if isinstance(event, StageStarted) and event.stage == "intermediate":
            control.cancel()  # the stage goes on with the teacher's one pass over the training set
    assert isinstance(events[-1], Finished) and events[-1].status == "cancelled"
    assert not any(isinstance(e, Step) and e.stage == "intermediate" for e in events)
    resumed = run_to_end(None, resume_dir=events[-1].run_dir)[-1]
    assert resumed.summary == uninterrupted.summary
