"""A study's best student against the references, side by side in one run: the int8 student of the best trial
under budget (or --trial N) against the fused int8 teacher and the teacher in PyTorch, from that trial's full
job, and optionally against another run's int8 student (--against RUN_DIR, e.g. the quick-demo preset's run),
all timed interleaved in this process on the trial's test split (measure/benchmark.py).

    PYTHONPATH=. .venv/bin/python benchmarks/search.py STUDY_DIR [--trial N] [--against RUN_DIR] [--threads 2]

Goal (issue 14): a student on the frontier that dominates the quick-demo student (lower int8 latency at equal or
better accuracy), reported against the fused int8 teacher. Timings from a shared machine are indicative only.
"""

from __future__ import annotations

import argparse

from workbench.core.measure.benchmark import Variant, measure
from workbench.core.quiet import quiet_libraries
from workbench.core.run_folder import RunFolder
from workbench.core.search.runner import open_finished
from workbench.core.sources.split_inputs import load_split


def _variants(trial_run: RunFolder, against: RunFolder | None) -> list[Variant]:
    variants = [Variant("teacher-torch-fp32", "torch", trial_run.teacher_dir, trial_run.teacher_dir),
                Variant("teacher-onnx-int8", "onnx", trial_run.onnx_path("teacher-int8.onnx"), trial_run.teacher_dir),
                Variant("search-student-int8", "onnx", trial_run.onnx_path("student-int8.onnx"), trial_run.student_dir)]
    if against:
        variants.append(Variant("other-student-int8", "onnx", against.onnx_path("student-int8.onnx"),
                                against.student_dir))
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study_dir")
    parser.add_argument("--trial", type=int, help="default: the best trial under budget")
    parser.add_argument("--against", metavar="RUN_DIR", help="another finished run whose int8 student to compare")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    folder, summary = open_finished(args.study_dir)
    rows = {row["number"]: row for row in summary.rows}
    number = args.trial if args.trial is not None else (summary.best or {}).get("number")
    if number is None or not rows.get(number, {}).get("run_dir"):
        raise SystemExit(summary.message or f"trial {number} has no finished job to measure")
    trial_run = RunFolder.open(rows[number]["run_dir"])
    against = RunFolder.open(args.against) if args.against else None
    budget = folder.recipe().search.budget
    result = measure(_variants(trial_run, against), load_split(trial_run.path, "test"), args.threads,
                     batches=sorted({budget.batch, 32}), seq_lens=(budget.seq_len,), repeats=args.repeats)
    models = result["models"]
    print(f"trial {number}: {rows[number]['candidate']}; {result['protocol']}; {args.threads} threads")
    student = models["search-student-int8"]
    for name, model in models.items():
        if name == "search-student-int8":
            continue
        for ours, theirs in zip(student["latency"], model["latency"], strict=True):
            speedup = theirs["median_ms"] / ours["median_ms"]
            print(f"  vs {name:<20} batch {ours['batch']:>2} × {ours['seq_len']}: latency "
                  f"{ours['median_ms']:.2f} / {theirs['median_ms']:.2f} ms = {speedup:.2f}x faster")
        print(f"  vs {name:<20} size {student['size_bytes'] / model['size_bytes']:.2f}x, test accuracy kept "
              f"{student['test']['accuracy'] / model['test']['accuracy']:.1%} "
              f"({student['test']['accuracy']:.4f} vs {model['test']['accuracy']:.4f})")


if __name__ == "__main__":
    with quiet_libraries():
        main()
