"""benchmarks/distillation_gain.py on a tiny finished job: every figure of its tables checked against what the
run's own files say (evaluation.json, bench.json, timings.json, the ONNX files' sizes), and the ablation's
lever rows against the jobs they ran."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from benchmarks.distillation_gain import main
from benchmarks.gain_ablation import LEVERS, Lever, finished_run, lever_recipe
from benchmarks.gain_measure import TEACHER_INT8, TEACHER_TORCH
from tests.tiny import save_tiny_bert, tiny_recipe, write_tiny_csv
from workbench.core.run_folder import RunFolder
from workbench.core.sources.models import folder_size_bytes

LEVER_NAMES = "per-layer precision,relation loss,augmentation,tuned ONNX Runtime session"
FAST = ["--threads", "1", "--repeats", "3", "--warmup", "1"]


def _script(args: list[str], out: Path) -> tuple[dict, str]:
    """The script's JSON tables and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main([*args, *FAST, "--json", str(out)]) == 0
    return json.loads(out.read_text()), printed.getvalue()


@pytest.fixture(scope="module")
def cold(tmp_path_factory) -> tuple[dict, str]:
    """The script running a tiny recipe file as a preset, cold: a job with int8 export, reference teachers and
    the int8 guard (a lever to switch off), then its row."""
    folder = tmp_path_factory.mktemp("gain")
    recipe = tiny_recipe(save_tiny_bert(folder / "base"), write_tiny_csv(folder / "tiny.csv"), folder / "elsewhere")
    recipe.quantization.enabled = True
    recipe.quantization.max_accuracy_drop = 0.5
    preset = recipe.save(folder / "tiny.yaml")
    return _script(["--preset", str(preset), "--cold", "--output", str(folder / "runs")], folder / "cold.json")


@pytest.fixture(scope="module")
def tiny_run(cold) -> RunFolder:
    return RunFolder.open(cold[0]["gain"][0]["run_dir"])


@pytest.fixture(scope="module")
def tables(tiny_run, tmp_path_factory) -> tuple[dict, str]:
    """The finished tiny run measured, then its ablation with it as the full row (the same run is measured
    once, so this also checks that the full row is the measured row)."""
    folder = tmp_path_factory.mktemp("tables")
    return _script(["--run", str(tiny_run.path), "--ablate-from", str(tiny_run.path), "--levers", LEVER_NAMES,
                    "--output", str(folder / "runs")], folder / "gain.json")


def test_a_cold_job_gets_a_new_teacher_cache_which_its_ablation_then_shares(cold, tiny_run, tables):
    cache = Path(tiny_run.recipe().teacher.cache_dir)
    assert cache.parent == tiny_run.path.parent and cache.name.startswith("teacher-cache-smoke-")
    (row,) = cold[0]["gain"]
    assert row["label"] == "smoke" and row["job"]["marks"] == []  # it fine-tuned its teacher
    lever_run = RunFolder.open(tables[0]["ablation"]["levers"][0]["run_dir"])
    assert lever_run.recipe().teacher.cache_dir == str(cache)


def test_each_figure_is_the_ratio_of_the_runs_own_figures(tiny_run, tables):
    (row,), printed = tables[0]["gain"], tables[1]
    evaluation = json.loads(tiny_run.evaluation_path.read_text())
    bench = json.loads(tiny_run.bench_path.read_text())["models"]
    student = evaluation["student_int8"]["accuracy"]
    references = {TEACHER_INT8: bench[TEACHER_INT8]["test"]["accuracy"],
                  TEACHER_TORCH: evaluation["teacher"]["accuracy"]}
    sizes = {TEACHER_INT8: tiny_run.onnx_path("teacher-int8.onnx").stat().st_size,
             TEACHER_TORCH: folder_size_bytes(tiny_run.teacher_dir)}
    student_size = tiny_run.onnx_path("student-int8.onnx").stat().st_size
    assert row["student_accuracy"] == student
    for name, accuracy in references.items():
        versus = row["against"][name]
        assert versus["accuracy"] == accuracy
        kept = versus["kept"]
        assert kept["ratio"] == pytest.approx(student / accuracy)
        assert kept["low"] <= kept["ratio"] <= kept["high"] and kept["high"] - kept["low"] > 0
        assert versus["size_ratio"] == pytest.approx(sizes[name] / student_size)
        for batch in ("b1", "b32"):
            latency = versus["latency"][batch]
            assert latency["ratio"] == pytest.approx(latency["reference_ms"] / latency["student_ms"])
            assert latency["rounds"] == 3 and latency["spread"] >= 0
    assert row["seq_len"] == tiny_run.recipe().data.max_length and row["threads"] == 1
    timings = json.loads(tiny_run.timings_path.read_text())
    assert row["job"] == {"wall_s": timings["total"], "marks": []}  # its own teacher, one process: cold
    assert f"{row['against'][TEACHER_INT8]['kept']['ratio']:.3f} (" in printed and "int8 teacher" in printed


def test_the_interval_is_the_paired_difference_over_the_reference_accuracy():
    from benchmarks.gain_measure import kept_share
    from workbench.core.paired import paired_difference

    reference = [True] * 8 + [False] * 2
    student = [True] * 6 + [False, False, True, False]
    kept, difference = kept_share(reference, student), paired_difference(reference, student)
    assert kept["ratio"] == pytest.approx(0.7 / 0.8)
    assert (kept["low"], kept["high"]) == pytest.approx((1 + difference.low / 0.8, 1 + difference.high / 0.8))


def test_ablation_switches_each_lever_off_and_compares_with_the_full_run(tiny_run, tables):
    table, printed = tables[0]["ablation"], tables[1]
    full, (row, added, session) = table["full"], table["levers"]
    assert full == {**tables[0]["gain"][0], "label": "full preset"} and row["lever"] == "− per-layer precision"
    lever_run = RunFolder.open(row["run_dir"])
    assert lever_run.recipe().quantization.max_accuracy_drop is None
    assert lever_run.recipe().distillation == tiny_run.recipe().distillation  # only the lever changed
    assert row["job"]["marks"] == ["warm"]  # the full run's fine-tuned teacher, from the shared cache
    assert row["student_accuracy"] == json.loads(lever_run.evaluation_path.read_text())["student_int8"]["accuracy"]
    versus = row["vs_full"]
    assert versus["accuracy"]["paired"]
    assert versus["accuracy"]["points"] == pytest.approx(100 * (row["student_accuracy"] - full["student_accuracy"]))
    for batch in ("b1", "b32"):
        assert versus["latency_ratio"][batch] == pytest.approx(
            row["against"][TEACHER_INT8]["latency"][batch]["ratio"] - full["against"][TEACHER_INT8]["latency"][batch]
            ["ratio"])
    # A lever the preset leaves off is switched on where it has an "on" setting, else skipped.
    assert added["lever"] == "+ relation loss" and added["override"] == "distillation.attention_loss=relation"
    assert RunFolder.open(added["run_dir"]).recipe().distillation.attention_loss == "relation"
    # The ONNX Runtime lever runs no job: the full run's models, timed in ONNX Runtime's own sessions.
    assert session["lever"] == "− tuned ONNX Runtime session" and session["run_dir"] == full["run_dir"]
    assert session["against"][TEACHER_INT8]["latency"]["b1"] != full["against"][TEACHER_INT8]["latency"]["b1"]
    assert {entry["lever"]: entry["reason"] for entry in table["skipped"]} == {
        "augmentation": "the preset does not use it"}
    line = next(line for line in printed.splitlines() if line.startswith("− per-layer precision"))
    assert "quantization.max_accuracy_drop=null" in line and f" {row['student_accuracy']:.4f} " in line
    assert f"{row['against'][TEACHER_INT8]['kept']['ratio']:.3f} (" in line and "warm" in line


def test_a_lever_is_skipped_where_the_recipe_lacks_its_key_or_does_not_use_it(tiny_run):
    recipe = tiny_run.recipe()
    assert "has no distillation.nothing_here" in Lever("new", (("distillation.nothing_here", "0"),)).skip_reason(recipe)
    levers = {lever.name: lever for lever in LEVERS}
    assert levers["whole corpus"].skip_reason(recipe) == ""  # 60 training rows, not 3000
    assert levers["per-layer precision"].skip_reason(recipe) == ""
    assert levers["augmentation"].skip_reason(recipe) == "the preset does not use it"  # and has no "on"
    assert levers["FFN pruning"].skip_reason(recipe) == ""  # unused, so switched on
    assert levers["FFN pruning"].assignments(recipe) == ["pruning.enabled=true", "pruning.ffn_ratio=0.33"]
    assert levers["FFN pruning"].label(recipe) == "+ FFN pruning"
    depth = levers["a third layer"]
    recipe.student.teacher_layers = [1, 2]
    assert (depth.label(recipe), depth.assignments(recipe)) == ("+ a third layer", ["student.teacher_layers=[2, 4, 6]"])
    recipe.student.teacher_layers = [2, 4, 6]
    assert (depth.label(recipe), depth.assignments(recipe)) == ("− a third layer", ["student.teacher_layers=[3, 6]"])
    heads = levers["head pruning"]
    assert heads.label(recipe) == "+ head pruning" and "pruning.heads_ratio=0.5" in heads.assignments(recipe)
    recipe.pruning.heads_ratio = 0.5
    assert (heads.label(recipe), heads.assignments(recipe)) == ("− head pruning", ["pruning.heads_ratio=0"])
    # Width pruning sets the heads itself: switched on, it takes head pruning off (the recipe would refuse both).
    width = levers["hidden-width reduction"]
    assert width.label(recipe) == "+ hidden-width reduction"
    recipe.with_overrides(width.assignments(recipe))


def test_a_levers_finished_run_in_the_output_folder_is_measured_not_run_again(tiny_run):
    recipe = tiny_run.recipe().model_copy(deep=True)
    recipe.output_dir, recipe.name = str(tiny_run.path.parent), "another name, the same job"
    assert finished_run(recipe) == tiny_run.path
    relation = {lever.name: lever for lever in LEVERS}["relation loss"]
    assert finished_run(lever_recipe(recipe, relation)) is None  # another job
    status = tiny_run.status()
    tiny_run.set_status("failed", "stopped")
    try:
        assert finished_run(recipe) is None  # only a finished run stands for the job
    finally:
        tiny_run.set_status(status["status"], status.get("message", ""), summary=status.get("summary"))


def test_the_difference_against_the_full_row_is_paired_on_the_same_test_examples():
    import numpy as np

    from benchmarks.distillation_gain import versus_full
    from workbench.core.paired import paired_difference

    correct = {"full": np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], bool),
               "lever": np.array([1, 1, 1, 1, 0, 0, 1, 0, 0, 1], bool)}

    class Measured:  # what Gain.measured gives: (row, which test examples the int8 student got right)
        def measured(self, run_dir):
            return {}, correct[run_dir]

    def row(accuracy: float, b1: float, b32: float, split: str) -> dict:
        latency = {"b1": {"ratio": b1}, "b32": {"ratio": b32}}
        return {"student_accuracy": accuracy, "test_split": split, "against": {TEACHER_INT8: {"latency": latency}}}

    paired = versus_full(Measured(), "full", "lever", row(0.7, 2.0, 2.5, "s"), row(0.6, 2.4, 2.4, "s"))
    difference = paired_difference(correct["full"], correct["lever"])
    assert paired["accuracy"] == pytest.approx({"points": -10.0, "low": 100 * difference.low,
                                                "high": 100 * difference.high, "p_value": difference.p_value,
                                                "paired": True})
    assert paired["latency_ratio"] == pytest.approx({"b1": 0.4, "b32": -0.1})
    other_split = versus_full(Measured(), "full", "lever", row(0.7, 2.0, 2.5, "s"), row(0.65, 2.0, 2.5, "t"))
    assert other_split["accuracy"] == pytest.approx({"points": -5.0, "paired": False})


def test_a_busy_machine_is_said_in_the_table_before_and_while_timing(cold):
    from benchmarks.distillation_gain import format_gain

    (row,) = cold[0]["gain"]
    busy = {**row, "busy_before_timing": "noisy: the machine was busy (A)", "noisy": "noisy: the machine was busy (B)"}
    lines = format_gain([busy]).splitlines()
    assert lines[3].strip() == "⚠ before timing: noisy: the machine was busy (A)"
    assert lines[4].strip() == "⚠ noisy: the machine was busy (B)"
    quiet = {**row, "busy_before_timing": "", "noisy": ""}
    assert "⚠" not in format_gain([quiet])
