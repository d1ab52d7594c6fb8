"""MiniLM's attention relation loss against hidden-states-only distillation, on a head-mismatched pair.

TinyBERT's attention loss needs equal head counts, so a student with other heads has been distilled from
hidden states alone. The relation loss (distillation.attention_loss: relation) compares Q-Q, K-K and V-V
relations instead, which any head count allows. Both variants distil the same fine-tuned teacher (bundled
MiniLM-L6, 12 heads) into the same random-init 4-layer, 312-wide, 6-head student on the quick-demo split,
with the same seeds; pruning and int8 are off. The table gives test accuracy, macro-F1, agreement with the
teacher and wall time (the first variant's includes fine-tuning the teacher), and the relation / hidden-only
ratios. --teacher reuses a fine-tuned teacher (RUN/teacher of an earlier run) and --variants runs only some.

    .venv/bin/python benchmarks/relation_loss.py [--train-rows 3000] [--epochs 2] [--threads 2]
        [--teacher runs/relation-benchmark/quick-demo-XXXX/teacher] [--variants relation]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from workbench.core.events import Failed, Finished
from workbench.core.job import run_job
from workbench.core.recipe import Recipe
from workbench.core.sources.resources import preset_path

VARIANTS = {"hidden only": {"mapping.attention": False},
            "relation": {"mapping.attention": True, "distillation.attention_loss": "relation"}}


def base_recipe(args: argparse.Namespace) -> Recipe:
    recipe = Recipe.load(preset_path("quick-demo")).with_overrides([
        f"data.train_size={args.train_rows}", "pruning.enabled=false", "quantization.enabled=false",
        "student.preset=custom", "student.layers=4", "student.hidden_size=312", "student.heads=6",
        "student.ffn_size=1200", "student.init=random", "student.teacher_layers=null",
        f"distillation.intermediate.epochs={args.epochs}", f"distillation.prediction.epochs={args.epochs}",
        # A random-init student needs larger steps (benchmarks/ablations.py, SHAPE_SETTINGS).
        "distillation.intermediate.lr=5e-4", "distillation.prediction.lr=2e-4",
        f"training.threads={args.threads}", "training.device=cpu"])
    recipe.output_dir = str(args.out)
    return recipe


def run(recipe: Recipe) -> tuple[dict, float]:
    started = time.perf_counter()
    final = None
    for event in run_job(recipe):
        final = event
    if not isinstance(final, Finished):
        raise SystemExit(f"job failed: {final.message if isinstance(final, Failed) else final}")
    return {**final.summary, "run_dir": final.run_dir}, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=3000)
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/relation-benchmark"))
    parser.add_argument("--teacher", help="a fine-tuned teacher folder to distil (default: fine-tune one first)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    results, teacher = {}, args.teacher
    for name in args.variants:
        settings = VARIANTS[name]
        recipe = base_recipe(args).with_overrides([f"{k}={str(v).lower()}" for k, v in settings.items()])
        if teacher:  # the first run fine-tuned it; the next distils the very same teacher
            recipe.teacher.source = teacher
        results[name] = run(recipe)
        teacher = teacher or str(Path(results[name][0]["run_dir"]) / "teacher")
        summary, seconds = results[name]
        print(f"{name:<12} test accuracy {summary['student_accuracy']:.4f}  macro-F1 {summary['student_macro_f1']:.4f}"
              f"  agreement {summary['agreement']:.4f}  teacher {summary['teacher_accuracy']:.4f}  {seconds:.0f} s",
              flush=True)
    if len(results) < len(VARIANTS):
        return
    (relation, _), (hidden, _) = results["relation"], results["hidden only"]
    print("relation / hidden only: " + ", ".join(
        f"{key} {relation[key] / hidden[key]:.3f}" for key in ("student_accuracy", "student_macro_f1", "agreement")))


if __name__ == "__main__":
    main()
