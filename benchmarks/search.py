"""Budget search, measured side by side in one run (issue 14).

End to end, the acceptance measurement (one command, one process, on a quiet machine):

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/search.py --end-to-end --minutes 30 --out /tmp/acceptance

  1. the quick-demo preset's job (resources/presets/quick-demo.yaml; it fine-tunes the teacher into the
     teacher cache that every later job reuses), and its int8 student timed at the study's shape;
  2. a study on the same recipe (same data, teacher and training), for students faster than that one:
     its budget is the quick-demo student's speed-up over the fused int8 teacher (each timed beside the int8
     teacher: figures in ms moved by half from one process to the next here, the ratio by a few percent), its
     time limit what the 30 minutes leave once the two jobs and the benchmark are set aside;
  3. the full job of the frontier's student that dominates the quick-demo one (lower int8 latency at equal or
     better dev accuracy), or of the best trial when none does (and the script says so);
  4. that student against the fused int8 teacher, the teacher in PyTorch and the quick-demo student, timed
     interleaved in this process, with size and accuracy kept: the ratios.

Give a fresh --out: the quick-demo job then starts cold (it fine-tunes the teacher), as the 30 minutes assume.
Expected on 2 quiet cores: quick-demo job 5-6 min; study what is left less 10 min (references 0.5 min, each
candidate measured in seconds, a trained trial 2-3 min, one the pruner stops about half that, the last one
may run past the limit); the chosen student's full job 3-4 min (teacher reused); side by side 1-2 min.
Small splits (--train-size 300 --dev-size 100 --test-size 100) and --study-minutes 3 prove the pipeline.

On a study already run, the side-by-side measurement alone:

    PYTHONPATH=. .venv/bin/python benchmarks/search.py STUDY_DIR [--trial N] [--against RUN_DIR] [--threads 2]

Timings from a shared machine are indicative only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from workbench.core.events import Event, Failed, Finished, StageFinished
from workbench.core.measure.benchmark import Variant, measure, score_variant
from workbench.core.quiet import quiet_libraries
from workbench.core.recipe import Recipe
from workbench.core.run_folder import INT8_STUDENT, RunFolder
from workbench.core.search.costs import TEACHER_INT8, Cost, rescaled, time_against_teacher
from workbench.core.search.events import SearchFinished, describe_search
from workbench.core.search.folder import StudyFolder
from workbench.core.search.frontier import TrialRow, format_table
from workbench.core.search.runner import open_finished
from workbench.core.sources.split_inputs import load_split, load_splits

RESERVED_MINUTES = 10.0  # the chosen student's full job (teacher reused), the benchmark, the last trial's overrun
# Around the quick-demo student (3 of 6 layers, FFN -50%, vocabulary pruned): 3 layers pruned harder, and 4
# layers pruned hard enough that some come in under its latency; the budget refuses the rest before training.
SPACE = {"layer_counts": [3, 4], "ffn_ratios": [0.5, 0.625, 0.75], "heads_ratios": [0.0, 0.25, 0.5],
         "vocabulary": [True], "int8": ["dynamic"]}
DOMINATION_MARGIN = 1.03  # faster means faster beyond the ratio's noise (its own shape timed twice: 2.44x, 2.45x)
LATENCY_SLACK = 1.05  # the budget's margin over the quick-demo student's speed-up: timing noise must not refuse
#                      a leaner shape; domination itself is judged on the measured figures, without it


def side_by_side(student: RunFolder, other: RunFolder | None, threads: int, repeats: int, batches: list[int],
                 seq_len: int, label: str) -> dict:
    """The student's int8 against the fused int8 teacher, the teacher in PyTorch and `other`'s int8 student:
    latency, size and accuracy on the test split, and the int8 students' dev accuracy, all in this process."""
    variants = [Variant("teacher-torch-fp32", "torch", student.teacher_dir, student.teacher_dir),
                Variant("teacher-onnx-int8", "onnx", student.onnx_path("teacher-int8.onnx"), student.teacher_dir),
                Variant("search-student-int8", "onnx", student.onnx_path(INT8_STUDENT), student.student_dir)]
    if other:
        variants.append(Variant("other-student-int8", "onnx", other.onnx_path(INT8_STUDENT), other.student_dir))
    test, dev = load_splits(student.path, "test", "dev")
    result = measure(variants, test, threads, batches=batches, seq_lens=(seq_len,), repeats=repeats)
    for variant in variants[2:]:
        result["models"][variant.name]["dev"] = score_variant(variant, dev, threads)
    _print_ratios(result, label, threads)
    return result


def _print_ratios(result: dict, label: str, threads: int) -> None:
    models = result["models"]
    student = models["search-student-int8"]
    print(f"{label}; {result['protocol']}; {threads} threads")
    for name, model in models.items():
        if name == "search-student-int8":
            continue
        for ours, theirs in zip(student["latency"], model["latency"], strict=True):
            print(f"  vs {name:<20} batch {ours['batch']:>2} × {ours['seq_len']}: latency {ours['median_ms']:.2f} / "
                  f"{theirs['median_ms']:.2f} ms = {theirs['median_ms'] / ours['median_ms']:.2f}x faster")
        print(f"  vs {name:<20} size {student['size_bytes'] / model['size_bytes']:.2f}x, test accuracy kept "
              f"{student['test']['accuracy'] / model['test']['accuracy']:.1%} "
              f"({student['test']['accuracy']:.4f} vs {model['test']['accuracy']:.4f})")
    if "other-student-int8" in models:
        ours, theirs = student["dev"]["accuracy"], models["other-student-int8"]["dev"]["accuracy"]
        print(f"  dev accuracy, int8: search student {ours:.4f} vs other student {theirs:.4f}")


def measure_study(args: argparse.Namespace) -> None:
    folder, summary = open_finished(args.study_dir)
    rows = {row["number"]: row for row in summary.rows}
    number = args.trial if args.trial is not None else (summary.best or {}).get("number")
    if number is None or not rows.get(number, {}).get("run_dir"):
        raise SystemExit(summary.message or f"trial {number} has no finished job to measure")
    run = RunFolder.open(rows[number]["run_dir"])
    if not run.onnx_path("teacher-int8.onnx").is_file():
        raise SystemExit(f"{run.path}: a trial's job exports no teacher; run the full job of trial {number} "
                         f"(workbench search --export-recipe) and measure that run")
    budget = folder.recipe().search.budget
    side_by_side(run, RunFolder.open(args.against) if args.against else None, args.threads, args.repeats,
                 sorted({budget.batch, 32}), budget.seq_len, f"trial {number}: {rows[number]['candidate']}")


def end_to_end(args: argparse.Namespace) -> None:
    from workbench.core.search.runner import run_search, trial_recipe
    from workbench.core.sources.resources import preset_path

    began = time.monotonic()
    base = _base_recipe(Recipe.load(preset_path("quick-demo")), args)
    print(f"● quick-demo job ({args.out})")
    demo = _run_job(base)
    demo_cost, demo_dev = _int8_cost(demo, base), _student_dev_accuracy(demo)
    demo_speedup = demo_cost.speedup_int8_teacher
    print(f"  quick-demo student: int8 {demo_cost.measured_ms:.2f} ms at batch 1 × {base.search.budget.seq_len} beside "
          f"the int8 teacher's {demo_cost.teacher_int8_ms:.2f} ms ({demo_speedup:.2f}x), dev accuracy {demo_dev:.4f} "
          f"({_minutes(began)})")
    minutes = args.study_minutes or args.minutes - _elapsed(began) - RESERVED_MINUTES
    study = _study_recipe(base, demo_speedup / LATENCY_SLACK, minutes)
    print(f"● study, time limit {study.search.time_limit_minutes:.1f} min")
    summary = None
    for event in run_search(study):
        summary = event if isinstance(event, SearchFinished) else summary
        if line := describe_search(event):
            print(line, flush=True)
    references = StudyFolder(summary.study_dir).references().get("models", {})
    print(format_table([TrialRow.from_dict(row) for row in summary.rows], references))
    demo_ms = rescaled(demo_cost, _study_scale(summary)).latency_ms
    print(f"  quick-demo student on the study's scale: {demo_ms:.2f} ms, {demo_speedup:.2f}x the int8 teacher's speed")
    chosen, dominates = _chosen(summary, demo_speedup, demo_dev)
    if chosen is None:
        raise SystemExit(f"no trial was trained: {summary.message} ({_minutes(began)})")
    print(f"  chosen: trial {chosen['number']} ({chosen['candidate']}), {chosen['latency_ms']:.2f} ms "
          f"({chosen['speedup_int8_teacher']:.2f}x the int8 teacher's speed), dev accuracy "
          f"{chosen['dev_accuracy']:.4f}: {'dominates' if dominates else 'does NOT dominate'} the quick-demo "
          f"student ({demo_ms:.2f} ms, {demo_dev:.4f}) ({_minutes(began)})")
    print("● full job of the chosen student")
    full = _run_job(trial_recipe(summary.study_dir, chosen["number"]))
    print(f"● side by side ({_minutes(began)})")
    side_by_side(full, demo, 2, args.repeats, [1, 32], base.search.budget.seq_len,
                 f"full job of trial {chosen['number']} ({chosen['candidate']}) vs quick-demo")
    print(f"total {_minutes(began)} (limit {args.minutes:g} min)")


def _base_recipe(demo: Recipe, args: argparse.Namespace) -> Recipe:
    data = demo.model_dump(mode="json")
    data["output_dir"] = str(args.out)
    data["training"]["threads"] = 2
    for split in ("train", "dev", "test"):
        if (size := getattr(args, f"{split}_size")) is not None:
            data["data"][f"{split}_size"] = size
    return Recipe.from_dict(data, origin="the quick-demo preset")


def _study_recipe(base: Recipe, min_speedup: float, minutes: float) -> Recipe:
    data = base.model_dump(mode="json")
    data["search"] = {"budget": {"min_speedup_int8_teacher": min_speedup, "batch": 1, "threads": 2}, "space": SPACE,
                      "trials": None, "time_limit_minutes": max(minutes, 1.0), "pruner": "successive-halving"}
    return Recipe.from_dict(data, origin="the acceptance study")


def _run_job(recipe: Recipe) -> RunFolder:
    from workbench.core.job import run_job

    last: Event | None = None
    for last in run_job(recipe):
        if isinstance(last, StageFinished):
            print(f"  {last.stage} {last.seconds:.0f} s", flush=True)
    if not isinstance(last, Finished) or last.status != "finished":
        raise SystemExit(f"the job failed: {last.message if isinstance(last, Failed) else last}")
    return RunFolder.open(last.run_dir)


def _int8_cost(run: RunFolder, base: Recipe) -> Cost:
    """The run's int8 student timed interleaved with its fused int8 teacher at the budget's shape, as the study
    times every candidate (core/search/costs.py)."""
    student = Variant("quick-demo-student-int8", "onnx", run.onnx_path(INT8_STUDENT), run.student_dir)
    teacher = Variant(TEACHER_INT8, "onnx", run.onnx_path("teacher-int8.onnx"), run.teacher_dir)
    return time_against_teacher(student, teacher, load_split(run.path, "dev").texts, base.search.budget)


def _study_scale(summary: SearchFinished) -> float:
    """The int8 teacher's median over the study's sittings: the scale its candidates' latencies are on."""
    import statistics

    references = StudyFolder(summary.study_dir).references()["models"][TEACHER_INT8]["latency_ms"]
    return statistics.median([references, *(row["teacher_int8_ms"] for row in summary.rows
                                            if row.get("teacher_int8_ms") is not None)])


def _student_dev_accuracy(run: RunFolder) -> float:
    """The best dev accuracy of the job's last student stage: the figure a trial reports to the study."""
    from workbench.core.search.trial import STUDENT_STAGES

    scores = [(m["stage"], m["metrics"]["accuracy"]) for m in run.metrics()
              if m.get("event") == "Evaluation" and m.get("split") == "dev" and m.get("stage") in STUDENT_STAGES]
    last = scores[-1][0]
    return max(accuracy for stage, accuracy in scores if stage == last)


def _chosen(summary: SearchFinished, demo_speedup: float, demo_dev: float) -> tuple[dict | None, bool]:
    """The most accurate frontier student that dominates the quick-demo one; else the study's best."""
    dominating = [row for row in summary.rows if row["on_frontier"]
                  and row["speedup_int8_teacher"] > demo_speedup * DOMINATION_MARGIN
                  and row["dev_accuracy"] >= demo_dev]
    if dominating:
        return max(dominating, key=lambda row: (row["dev_accuracy"], -row["latency_ms"])), True
    trained = [row for row in summary.rows if row["state"] == "complete"]
    return max(trained, key=lambda row: row["dev_accuracy"], default=None), False


def _elapsed(began: float) -> float:
    return (time.monotonic() - began) / 60


def _minutes(began: float) -> str:
    return f"{_elapsed(began):.1f} min so far"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study_dir", nargs="?")
    parser.add_argument("--trial", type=int, help="default: the best trial under budget")
    parser.add_argument("--against", metavar="RUN_DIR", help="another finished run whose int8 student to compare")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--end-to-end", action="store_true", help="quick-demo job, study, full job, side by side")
    parser.add_argument("--minutes", type=float, default=30.0, help="--end-to-end: the whole measurement's limit")
    parser.add_argument("--study-minutes", type=float, help="--end-to-end: the study's time limit (default: "
                        f"what --minutes leaves after the quick-demo job and {RESERVED_MINUTES:g} minutes)")
    parser.add_argument("--out", type=Path, default=Path("runs/acceptance"))
    for split in ("train", "dev", "test"):
        parser.add_argument(f"--{split}-size", type=int, help="--end-to-end: a smaller split, to try it quickly")
    args = parser.parse_args()
    if args.end_to_end:
        end_to_end(args)
    elif args.study_dir:
        measure_study(args)
    else:
        parser.error("give STUDY_DIR or --end-to-end")


if __name__ == "__main__":
    with quiet_libraries():
        main()
