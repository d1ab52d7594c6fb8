"""Kill a real job with SIGKILL in the middle of a stage, resume it, and compare with an uninterrupted run.

    .venv/bin/python benchmarks/kill_resume.py resources/presets/quick-demo.yaml \
        [--stage intermediate] [--after-step 60] [--reference RUN_DIR]

Without --reference the uninterrupted run is made first (same recipe, same seed).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from workbench.core.recipe import Recipe

RUN = [sys.executable, "-m", "workbench.cli", "run"]


def summary_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())["summary"]


def newest_run(root: Path, before: set[Path]) -> Path | None:
    fresh = [p for p in root.glob("*") if p.is_dir() and p not in before]
    return max(fresh, key=lambda p: p.stat().st_mtime) if fresh else None


def checkpoint_reached(run_dir: Path, stage: str, step: int) -> bool:
    metrics = run_dir / "metrics.jsonl"
    if not metrics.is_file():
        return False
    for line in metrics.read_text().splitlines():
        record = json.loads(line) if line.endswith("}") else {}
        if record.get("event") == "CheckpointSaved" and record["stage"] == stage and record["step"] >= step:
            return True
    return False


def killed_and_resumed(recipe_path: str, root: Path, stage: str, step: int) -> tuple[Path, float]:
    before = set(root.glob("*"))
    started = time.perf_counter()
    process = subprocess.Popen([*RUN, recipe_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = None
    while process.poll() is None:
        run_dir = run_dir or newest_run(root, before)
        if run_dir and checkpoint_reached(run_dir, stage, step):
            process.send_signal(signal.SIGKILL)
            process.wait()
            print(f"killed with SIGKILL after the {stage} checkpoint at step >= {step}: {run_dir}")
            break
        time.sleep(0.5)
    else:
        raise SystemExit("the job ended before it could be killed; lower --after-step")
    subprocess.run([*RUN, "--resume", str(run_dir)], check=True, stdout=subprocess.DEVNULL)
    return run_dir, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe")
    parser.add_argument("--stage", default="intermediate")
    parser.add_argument("--after-step", type=int, default=60)
    parser.add_argument("--reference", type=Path, help="an uninterrupted run of the same recipe")
    args = parser.parse_args()
    root = Path(Recipe.load(args.recipe).output_dir)
    root.mkdir(parents=True, exist_ok=True)
    reference = args.reference
    if reference is None:
        before = set(root.glob("*"))
        subprocess.run([*RUN, args.recipe], check=True, stdout=subprocess.DEVNULL)
        reference = newest_run(root, before)
    resumed, seconds = killed_and_resumed(args.recipe, root, args.stage, args.after_step)
    expected, got = summary_of(reference), summary_of(resumed)
    print(f"{'metric':<20} {'uninterrupted':>14} {'killed+resumed':>15} {'points':>8}")
    for name in expected:
        print(f"{name:<20} {expected[name]:>14.4f} {got[name]:>15.4f} {100 * (got[name] - expected[name]):>+8.2f}")
    print(f"killed+resumed wall time {seconds:.0f} s")


if __name__ == "__main__":
    main()
