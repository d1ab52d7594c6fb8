"""Distillation's own gain (issue 25): is the int8 student worth the job, against what ONNX Runtime alone gives
(the teacher fused and quantized to int8) and against the PyTorch teacher?

One row per run: latency ratio at batch 1 and 32 (teacher median over student median, timed interleaved in one
process with the same threads, at the recipe's max_length unless --seq-len; the ± is the round-to-round
spread, see gain_measure.py), size ratio (file sizes), accuracy kept on the test split with its 95 % interval
(paired on the test examples), and the job's wall time (RUN/timings.json; 'warm' when its teacher came from
the reuse cache, 'resumed' when it ran in more than one process). Then, with --ablate, one row per lever
switched off, or on where the preset leaves it off (gain_ablation.py).

    # measure finished runs only (a cold job is not repeated to time it again):
    python benchmarks/distillation_gain.py --run runs/quick-demo-XXXX --run runs/best-XXXX --json gain.json
    # run the presets cold (a fresh teacher cache each), then measure them:
    python benchmarks/distillation_gain.py --preset quick-demo --preset best-student --cold --output runs/gain
    # the ablation of a preset, reusing a finished run of it as the full row:
    python benchmarks/distillation_gain.py --ablate-from runs/best-XXXX [--levers "FFN pruning,a third layer"]

With no --preset, --run, --ablate or --ablate-from it runs every preset in resources/presets that uses the
bundled teacher, except smoke (a test fixture) and the paper's TinyBERT-4 shape (a random-init student on 80 %
of the corpus with 20 augmented copies: hours on 2 CPU cores, far outside the issue's 20-minute budget).
Run it on a quiet machine; it samples the machine's load first and marks every figure timed on a busy one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmarks' helper modules, and this checkout's workbench

from benchmarks.gain_ablation import (  # noqa: E402
    Lever,
    chosen_levers,
    finished_run,
    for_output,
    lever_recipe,
    run_recipe,
    same_job,
)
from benchmarks.gain_measure import TEACHER_INT8, TEACHER_TORCH, measure_run  # noqa: E402
from workbench.core.errors import WorkbenchError  # noqa: E402
from workbench.core.paired import paired_difference  # noqa: E402
from workbench.core.recipe import BUNDLED_TEACHER, Recipe  # noqa: E402
from workbench.core.run_folder import RunFolder, stamped_folder  # noqa: E402
from workbench.core.sources.resources import preset_path, presets_dir  # noqa: E402

DEFAULT_LEFT_OUT = ("smoke", "tinybert-4l-312d")  # see the module's note
SHORT = {TEACHER_INT8: "int8 teacher", TEACHER_TORCH: "torch teacher"}


def default_presets() -> list[str]:
    return sorted(path.stem for path in presets_dir().glob("*.yaml") if path.stem not in DEFAULT_LEFT_OUT
                  and Recipe.load(path).teacher.source == BUNDLED_TEACHER)


def load_preset(name_or_path: str) -> Recipe:
    """A preset by its name in resources/presets or by a recipe file's path."""
    return Recipe.load(name_or_path if Path(name_or_path).is_file() else preset_path(name_or_path))


class Gain:
    """Measures runs once each (a run given twice, or the ablation's full row, is not timed again)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: dict[tuple[Path, bool], tuple[dict[str, Any], Any]] = {}

    def measured(self, run_dir: Path, ort_defaults: bool = False) -> tuple[dict[str, Any], Any]:
        key = (Path(run_dir).resolve(), ort_defaults)
        if key not in self.rows:
            args = self.args
            self.rows[key] = measure_run(key[0], args.threads, args.seq_len, args.repeats, args.warmup, ort_defaults)
        return self.rows[key]

    def row(self, run_dir: Path | str, label: str, ort_defaults: bool = False) -> dict[str, Any]:
        if isinstance(run_dir, str):  # the job failed: its one-line reason
            return {"label": label, "error": run_dir}
        return {"label": label, **self.measured(run_dir, ort_defaults)[0]}


def ablation(gain: Gain, base: Recipe, full_dir: Path | str, levers: list[Lever], output: Path, cache: Path
             ) -> dict[str, Any]:
    """The full row and one row per lever switched off (or on), each with its difference against the full row."""
    full = gain.row(full_dir, "full preset")
    rows, skipped = [], []
    for lever in levers:
        if reason := lever.skip_reason(base):
            print(f"note: lever '{lever.name}' skipped: {reason}", file=sys.stderr)
            skipped.append({"lever": lever.name, "reason": reason})
            continue
        if lever.ort_defaults:
            run_dir, override = full_dir, "ONNX Runtime's own session settings"
        else:
            recipe = for_output(lever_recipe(base, lever), output, cache)
            run_dir = finished_run(recipe) or run_recipe(recipe)
            override = ", ".join(lever.assignments(base))
        row = {"lever": lever.label(base), "override": override, **gain.row(run_dir, lever.name, lever.ort_defaults)}
        if "error" not in row and "error" not in full:
            row["vs_full"] = versus_full(gain, full_dir, run_dir, full, row)
        rows.append(row)
    return {"recipe": base.name, "full": full, "levers": rows, "skipped": skipped}


def versus_full(gain: Gain, full_dir: Path, run_dir: Path, full: dict, row: dict) -> dict[str, Any]:
    """The lever row minus the full row: accuracy in points (paired with its interval when both runs were
    scored on the same test examples; 'whole corpus' may split the data otherwise), latency ratios."""
    ratios = {b: row["against"][TEACHER_INT8]["latency"][b]["ratio"] - full["against"][TEACHER_INT8]["latency"][b]
              ["ratio"] for b in ("b1", "b32")}
    accuracy = {"points": 100 * (row["student_accuracy"] - full["student_accuracy"]), "paired": False}
    if row["test_split"] == full["test_split"]:
        difference = paired_difference(gain.measured(full_dir)[1], gain.measured(run_dir)[1])
        accuracy.update(points=100 * difference.difference, low=100 * difference.low, high=100 * difference.high,
                        p_value=difference.p_value, paired=True)
    return {"accuracy": accuracy, "latency_ratio": ratios}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    levers = chosen_levers(args.levers)
    presets = args.preset or ([] if (args.run or args.ablate or args.ablate_from) else default_presets())
    args.output.mkdir(parents=True, exist_ok=True)
    gain = Gain(args)
    caches: dict[str, Path | None] = {}  # the teacher cache each preset's run used: its ablation shares it
    ran: dict[str, Path | str] = {}
    table = [gain.row(run, RunFolder.open(run).recipe().name) for run in args.run]
    for preset in presets:
        recipe = load_preset(preset)
        caches[recipe.name] = cold_cache(args, recipe.name)
        ran[recipe.name] = run_recipe(for_output(recipe, args.output, caches[recipe.name]))
        table.append(gain.row(ran[recipe.name], recipe.name))
    result: dict[str, Any] = {"gain": table}
    if args.ablate or args.ablate_from:
        base, full_dir, cache = ablation_base(args, ran, caches)
        result["ablation"] = ablation(gain, base, full_dir, levers, args.output, cache)
    print(format_gain(table))
    if "ablation" in result:
        print("\n" + format_ablation(result["ablation"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return 0


def cold_cache(args: argparse.Namespace, name: str) -> Path | None:
    """With --cold, a new empty teacher cache for the preset's job. Kept, not temporary: the run's recipe names
    it, so that a later `--ablate-from` that run shares its fine-tuned teacher instead of fine-tuning again."""
    return stamped_folder(args.output, f"teacher-cache-{name}", "a teacher cache") if args.cold else None


def ablation_base(args: argparse.Namespace, ran: dict[str, Path | str], caches: dict[str, Path | None]
                  ) -> tuple[Recipe, Path | str, Path]:
    """The recipe the levers change, the full row's run (given, run above, or run now: cold with --cold) and the
    teacher cache the lever jobs share with it."""
    preset = load_preset(args.ablate) if args.ablate else None
    if args.ablate_from:
        base = RunFolder.open(args.ablate_from).recipe()
        if preset is not None and not same_job(preset, base):
            raise SystemExit(f"--ablate-from {args.ablate_from}: that run's recipe is not the preset "
                             f"{args.ablate}'s; give a run of that preset, or leave one of the two out")
        cache = args.teacher_cache or base.teacher_cache_dir()
        return base, args.ablate_from, cache if cache.is_dir() else args.output / ".teacher-cache"
    cache = (args.teacher_cache or caches.get(preset.name) or cold_cache(args, preset.name)
             or args.output / ".teacher-cache")
    full = ran.get(preset.name) or run_recipe(for_output(preset, args.output, cache))
    return preset, full, cache


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", action="append", default=[], help="a preset name or recipe file to run")
    parser.add_argument("--run", action="append", default=[], type=Path, help="a finished run folder to measure")
    parser.add_argument("--cold", action="store_true",
                        help="each preset's job with a new, empty teacher cache (OUTPUT/teacher-cache-NAME-STAMP)")
    parser.add_argument("--ablate", help="the preset (name or file) whose levers are switched off (or on) one by one")
    parser.add_argument("--ablate-from", type=Path, help="a finished run of that preset: the ablation's full row")
    parser.add_argument("--levers", help="comma-separated lever names (default: all the preset uses)")
    parser.add_argument("--teacher-cache", type=Path, help="the ablation jobs' shared teacher cache")
    parser.add_argument("--output", type=Path, default=Path("runs/distillation-gain"), help="where jobs write")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seq-len", type=int, help="timing length (default: the recipe's max_length)")
    parser.add_argument("--repeats", type=int, default=30, help="timed interleaved rounds per model and batch")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the tables here")
    return parser


def format_gain(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'run':<28} {'against':<14} {'b1 ×':>12} {'b32 ×':>12} {'size ×':>7} {'kept (95 % CI)':>22} "
             f"{'accuracy':>15} {'job':>12}"]
    for row in rows:
        if "error" in row:
            lines.append(f"{row['label']:<28} failed: {row['error']}")
            continue
        for i, (name, versus) in enumerate(row["against"].items()):
            lines.append(f"{row['label'][:28] if i == 0 else '':<28} {SHORT[name]:<14} "
                         f"{_ratio(versus['latency']['b1']):>12} {_ratio(versus['latency']['b32']):>12} "
                         f"{versus['size_ratio']:>7.2f} {_kept(versus['kept']):>22} "
                         f"{row['student_accuracy']:>7.4f}/{versus['accuracy']:.4f} {_job(row) if i == 0 else '':>12}")
        lines += _warnings(row, 28)
    timed = next((row for row in rows if "error" not in row), None)
    if timed:
        rounds = timed["against"][TEACHER_INT8]["latency"]["b1"]["rounds"]
        lines.append(f"{timed['threads']} threads, sequence {timed['seq_len']}, {rounds} interleaved rounds; × is the "
                     "teacher's median over the student's (± round-to-round spread); accuracy: int8 student / "
                     "teacher, test split")
    return "\n".join(lines)


def format_ablation(table: dict[str, Any]) -> str:
    lines = [f"ablation of {table['recipe']}: each lever switched off (−) or, where the preset leaves it off, on (+); "
             "× and kept against the fused int8 teacher",
             f"{'lever':<24} {'override':<40} {'int8 acc':>8} {'kept (95 % CI)':>22} {'b1 ×':>12} {'b32 ×':>12} "
             f"{'job':>12}  vs full: accuracy points, b1 ×, b32 ×"]
    for row in [table["full"], *table["levers"]]:
        name = row.get("lever", "full preset")
        if "error" in row:
            lines.append(f"{name:<24} failed: {row['error']}")
            continue
        versus = row["against"][TEACHER_INT8]
        lines.append(f"{name:<24} {row.get('override', '-'):<40} {row['student_accuracy']:>8.4f} "
                     f"{_kept(versus['kept']):>22} {_ratio(versus['latency']['b1']):>12} "
                     f"{_ratio(versus['latency']['b32']):>12} {_job(row):>12}  {_versus(row.get('vs_full'))}")
        lines += _warnings(row, 24)
    lines += [f"{entry['lever']:<24} skipped: {entry['reason']}" for entry in table["skipped"]]
    return "\n".join(lines)


def _warnings(row: dict[str, Any], indent: int) -> list[str]:
    """The table's lines on a busy machine: just before timing, and while timing (measure's own verdict)."""
    notes = [f"before timing: {row['busy_before_timing']}" if row["busy_before_timing"] else "", row["noisy"]]
    return [f"{'':<{indent}} ⚠ {note}" for note in notes if note]


def _ratio(latency: dict[str, float]) -> str:
    return f"{latency['ratio']:.2f}±{latency['spread']:.2f}"


def _kept(kept: dict[str, float]) -> str:
    return f"{kept['ratio']:.3f} ({kept['low']:.3f}..{kept['high']:.3f})"


def _job(row: dict[str, Any]) -> str:
    job = row["job"]
    seconds = "-" if job["wall_s"] is None else f"{job['wall_s']:.0f} s"
    return " ".join([seconds, *job["marks"]])


def _versus(versus: dict[str, Any] | None) -> str:
    if not versus:
        return ""
    accuracy = versus["accuracy"]
    interval = f" ({accuracy['low']:+.1f}..{accuracy['high']:+.1f})" if accuracy["paired"] else " (unpaired)"
    ratios = versus["latency_ratio"]
    return f"{accuracy['points']:+.1f}{interval}, {ratios['b1']:+.2f}, {ratios['b32']:+.2f}"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except WorkbenchError as error:  # a bad run folder or recipe: one line, no traceback
        sys.exit(f"error: {error}")
