"""Time to result: the quick-demo job cold (teacher fine-tuned) and warm (teacher reused from the cache), and
the same job at an earlier commit, in one sitting, each a fresh `workbench run` process; prints wall times,
per-phase times (RUN/timings.json where the commit writes it) and the ratios against the earlier commit.

    .venv/bin/python benchmarks/time_to_result.py [--recipe resources/presets/quick-demo.yaml] \
        [--reference 403aaba] [--uncached]

The earlier commit runs from a git worktree with this checkout's virtual environment (PYTHONPATH points at
the worktree), so only the code differs. Run it on a quiet machine: the figures are wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_job(code: Path, recipe: Path, output: Path, cache: Path | None, *settings: str) -> dict:
    """One job in a fresh process; its wall time, summary and phase times."""
    overrides = ["--set", f"output_dir={output}"]
    if cache is not None:
        overrides += ["--set", f"teacher.cache_dir={cache}"]
    for setting in settings:
        overrides += ["--set", setting]
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "run", str(recipe), *overrides], cwd=code,
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{code}: the job failed: {done.stderr.strip().splitlines()[-1:]}")
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    timings = Path(summary["run_dir"]) / "timings.json"
    phases = json.loads(timings.read_text())["phases"] if timings.is_file() else stage_seconds(summary["run_dir"])
    return {"wall_s": wall, "summary": summary, "phases": phases}


def stage_seconds(run_dir: str) -> dict[str, float]:
    """A commit without timings.json: its training stages' own seconds from metrics.jsonl."""
    seconds = {}
    for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("event") == "StageFinished":
            seconds[record["stage"]] = record["seconds"]
    return seconds


def worktree(reference: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), reference], check=True,
                   capture_output=True)
    return into


def show(name: str, result: dict, reference: dict) -> None:
    summary = result["summary"]
    int8 = summary.get("student_int8_accuracy", float("nan"))
    print(f"{name:<22} {result['wall_s']:7.0f} s  x{result['wall_s'] / reference['wall_s']:.2f}  "
          f"teacher acc {summary['teacher_accuracy']:.3f}  student acc {summary['student_accuracy']:.3f}  "
          f"int8 acc {int8:.3f}")
    for phase, seconds in result["phases"].items():
        print(f"    {phase:<28} {seconds:7.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=Path("resources/presets/quick-demo.yaml"),
                        help="relative to each commit's tree, so each runs the recipe as that commit wrote it")
    parser.add_argument("--reference", default="403aaba", help="the earlier commit to compare with")
    parser.add_argument("--uncached", action="store_true",
                        help="also run warm with the teacher-target cache off (its summary must equal warm's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="time-to-result-") as scratch:
        scratch = Path(scratch)
        old_code = worktree(args.reference, scratch / "reference")
        try:
            cache = scratch / "teacher-cache"
            before = run_job(old_code, old_code / args.recipe, scratch / "runs-reference", None)
            cold = run_job(ROOT, ROOT / args.recipe, scratch / "runs-cold", cache)
            warm = run_job(ROOT, ROOT / args.recipe, scratch / "runs-warm", cache)
            uncached = (run_job(ROOT, ROOT / args.recipe, scratch / "runs-uncached", cache,
                                "distillation.teacher_cache_mb=0") if args.uncached else None)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_code)], check=False)
    print(f"quick-demo, {os.cpu_count()} CPUs; ratios are against commit {args.reference}")
    show(f"commit {args.reference}", before, before)
    show("cold (fine-tunes)", cold, before)
    show("warm (teacher reused)", warm, before)
    if uncached:
        show("warm, no teacher cache", uncached, before)
        differ = {key: (value, uncached["summary"].get(key)) for key, value in warm["summary"].items()
                  if uncached["summary"].get(key) != value and key != "run_dir"}
        print("teacher-target cache on and off: " + ("identical summaries" if not differ else
                                                     f"summaries differ in (on, off): {differ}"))


if __name__ == "__main__":
    main()
