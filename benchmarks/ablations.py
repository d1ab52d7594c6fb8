"""Ablations of the TinyBERT method on the quick-demo budget, for two student shapes.

Every variant distils from the same fine-tuned teacher (the `teacher/` folder of a finished quick-demo
run, so fine-tuning is not repeated) on the same split, and reports the student's test accuracy and
macro-F1 and its wall time. Results are appended to --out as they come, one JSON line per variant.

    .venv/bin/python benchmarks/ablations.py runs/quick-demo-XXXX [--shapes drop-layers tinybert-4l-312d]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from workbench.core.data import load_task_data, read_source
from workbench.core.events import Failed, Finished
from workbench.core.job import run_job
from workbench.core.recipe import Recipe, StudentConfig

Variant = Callable[[Recipe], None]


def hard_labels_only(recipe: Recipe) -> None:
    recipe.distillation.intermediate.epochs = 0
    recipe.distillation.weights.prediction = 0
    recipe.distillation.weights.hard_label = 1


def prediction_kd_only(recipe: Recipe) -> None:
    recipe.distillation.intermediate.epochs = 0


def full(recipe: Recipe) -> None:
    """Intermediate-layer then prediction-layer distillation, as the recipe says."""


def random_init(recipe: Recipe) -> None:
    recipe.student.init = "random"


def with_augmentation(recipe: Recipe) -> None:
    recipe.distillation.augmentation.enabled = True
    recipe.distillation.augmentation.copies = 1


def general_corpus(recipe: Recipe, folder: Path, rows: int) -> Path:
    """Tweets outside this recipe's split, as unlabelled text for general distillation."""
    used = {text for split in load_task_data(recipe.data).splits.values() for text in split["text"]}
    raw, _ = read_source(recipe.data.source, recipe.data.text_column, None)
    texts = [t.strip() for t in raw["text"] if t and t.strip() and t.strip() not in used][:rows]
    path = folder / "general-corpus.txt"
    path.write_text("\n".join(t.replace("\n", " ") for t in texts) + "\n", encoding="utf-8")
    return path


def with_general(corpus: Path) -> Variant:
    def variant(recipe: Recipe) -> None:
        recipe.distillation.general.source = str(corpus)
        recipe.distillation.general.enabled = True
        recipe.distillation.general.epochs = 1

    return variant


def shaped(base: Recipe, shape: str) -> Recipe:
    recipe = base.model_copy(deep=True)
    if shape != base.student.preset:
        recipe.student = StudentConfig(preset=shape, init="random")
    return recipe


def run_variant(recipe: Recipe) -> dict:
    started = time.perf_counter()
    last = None
    for event in run_job(recipe):
        last = event
    if isinstance(last, Failed):
        return {"error": last.message}
    assert isinstance(last, Finished)
    return {**last.summary, "seconds": time.perf_counter() - started, "run_dir": last.run_dir}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference_run", type=Path, help="a finished quick-demo run (its teacher is reused)")
    parser.add_argument("--shapes", nargs="+", default=["drop-layers", "tinybert-4l-312d"])
    parser.add_argument("--general-rows", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("runs/ablations/results.jsonl"))
    parser.add_argument("--threads", type=int, help="torch threads (1 leaves a core to other work)")
    args = parser.parse_args()
    base = Recipe.load(args.reference_run / "recipe.yaml")
    base.training.threads = args.threads
    base.teacher.source = str(args.reference_run / "teacher")
    base.output_dir = str(args.out.parent)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    corpus = general_corpus(base, args.out.parent, args.general_rows)
    variants: dict[str, Variant] = {
        "hard labels only": hard_labels_only,
        "prediction KD only": prediction_kd_only,
        "full two-stage": full,
        "full, random init": random_init,
        "full + augmentation": with_augmentation,
        "full + general distillation": with_general(corpus),
    }
    rows = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.is_file() else []
    done = {(row["shape"], row["variant"]) for row in rows}  # a restarted script goes on where it stopped
    for shape in args.shapes:
        for name, change in variants.items():
            recipe = shaped(base, shape)
            if (shape, name) in done or (name == "full, random init" and recipe.student.init == "random"):
                continue  # done before, or this shape starts random in every variant
            recipe.name = f"ablation-{shape}-{name.replace(' ', '-').replace(',', '').replace('+', 'plus')}"
            change(recipe)
            row = {"shape": shape, "variant": name, **run_variant(recipe)}
            rows.append(row)
            with args.out.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    print(f"\n{'shape':<18} {'variant':<30} {'accuracy':>9} {'macro-F1':>9} {'seconds':>8}")
    for row in rows:
        if "error" in row:
            print(f"{row['shape']:<18} {row['variant']:<30} failed: {row['error']}")
        else:
            print(f"{row['shape']:<18} {row['variant']:<30} {row['student_accuracy']:>9.4f} "
                  f"{row['student_macro_f1']:>9.4f} {row['seconds']:>8.0f}")


if __name__ == "__main__":
    main()
