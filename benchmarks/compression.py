"""Compression table for a finished run: every deployable form of the student side by side with the teacher.

One process, fixed threads, every model timed interleaved at batch 1 and batch 32 and one sequence length:

    teacher-torch-fp32         the fine-tuned teacher in PyTorch (the baseline users run today)
    teacher-onnx-fp32          the teacher exported: the reference for every size ratio
    student-onnx-fp32          the student, fused fp32
    student-onnx-int8          the run's int8 student (eager export, ORT fusion, dynamic int8)
    student-onnx-int8-guarded  int8 with the accuracy guard (--max-drop on the dev split): the most sensitive
                               nodes stay fp32; the same as int8 when int8 already holds the tolerance
    student-onnx-int4          weight-only int4 (MatMulNBits, --block-size); "+vocab" when the run pruned the
                               vocabulary (the student folder is then the vocabulary-pruned one)
    student-onnx-int8-sparseNN int8 of the student with NN% of its encoder weights zeroed (--sparsity), no
                               recovery training: shows what unstructured sparsity does to size, zipped size and
                               latency (accuracy here is a lower bound; the job recovers it by distillation)
    student-onnx-int8-plain    plain `quantize_dynamic` on the fp32 export, ONNX Runtime's default session
    student-onnx-int8-plain-wb the plain model in the workbench's session

Sizes are the .onnx file and its deflated zip (what a download costs, where zeros count). Ratios are against
the teacher's fp32 ONNX and printed with the targets of the compression issues; absolute times only as context.

    nice -n 19 .venv/bin/python benchmarks/compression.py RUN_DIR [--threads 2] [--seq-len 64] [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from workbench.core.compress.export import export_onnx, int8_quantizer, quantize_dynamic_int8
from workbench.core.compress.int4 import write_int4
from workbench.core.compress.int8_guard import guard_run
from workbench.core.compress.sparsity import deflated_size, sparsify
from workbench.core.measure.benchmark import Variant, default_variants, export_if_missing, measure
from workbench.core.run_folder import RunFolder
from workbench.core.sources.split_inputs import Split, load_splits

KEEP = ("teacher-torch-fp32", "teacher-onnx-fp32", "student-onnx-fused-fp32", "student-onnx-int8")
REFERENCE = "teacher-onnx-fp32"


def plain_int8(run_dir: Path, folder: Path) -> list[Variant]:
    """What one writes first: `quantize_dynamic` straight on the fp32 export, default options, no fusion."""
    from onnxruntime.quantization import quantize_dynamic

    out = folder / "student-int8-plain.onnx"
    quantize_dynamic(str(RunFolder(run_dir).onnx_path("student-fp32.onnx")), str(out))
    return [Variant("student-onnx-int8-plain", "onnx-ort-defaults", out, run_dir / "student"),
            Variant("student-onnx-int8-plain-wb", "onnx", out, run_dir / "student")]


def guarded_int8(run_dir: Path, dev: Split, folder: Path, max_drop: float, mode: str | None, per_tensor: bool
                 ) -> tuple[Variant, dict]:
    """The guard on the run's student; `mode` / `per_tensor` override the recipe's int8 scheme (static
    per-tensor int8 loses enough accuracy on the quick-demo student for the guard to keep nodes fp32)."""
    recipe = RunFolder.open(run_dir).recipe().quantization
    config = recipe.model_copy(update={"max_accuracy_drop": max_drop, "mode": mode or recipe.mode,
                                       "per_channel": recipe.per_channel and not per_tensor})
    onnx = RunFolder(run_dir).onnx_dir
    paths = {name: onnx / name for name in ("student-fp32.onnx", "student-fused.onnx") if (onnx / name).is_file()}
    base, quantize = int8_quantizer(run_dir, "student", paths, config, dev)
    out = folder / "student-int8-guarded.onnx"
    report = guard_run(run_dir, dev, base, out, quantize, max_drop, config.mode, folder / "guard.json")
    scheme = "" if (mode in (None, recipe.mode) and not per_tensor) else \
        f"-{config.mode}{'-tensor' if not config.per_channel else ''}"
    return Variant(f"student-onnx-int8-guarded{scheme}", "onnx", out, run_dir / "student"), report.to_dict()


def int4(run_dir: Path, folder: Path, block_size: int) -> Variant:
    from transformers import AutoConfig

    out = write_int4(RunFolder(run_dir).onnx_path("student-fp32.onnx"), folder / "student-int4.onnx",
                     AutoConfig.from_pretrained(run_dir / "student"), block_size)
    vocabulary = "+vocab" if (run_dir / "vocabulary.json").is_file() else ""
    return Variant(f"student-onnx-int4{vocabulary}", "onnx", out, run_dir / "student")


def sparse_int8(run_dir: Path, folder: Path, sparsity: float) -> Variant:
    """int8 of the student with `sparsity` of its encoder weights zeroed (no recovery)."""
    from transformers import AutoConfig

    from workbench.core.compress.export import fuse
    from workbench.core.sources.pruned_models import load_pruned
    from workbench.core.sources.split_inputs import load_tokenizer_from

    model = load_pruned(run_dir / "student")
    sparsify(model, sparsity)
    model.save_pretrained(folder / "sparse")
    load_tokenizer_from(run_dir / "student").save_pretrained(folder / "sparse")
    fp32 = export_onnx(folder / "sparse", folder / "sparse-fp32.onnx")
    fused = fuse(fp32, folder / "sparse-fused.onnx", AutoConfig.from_pretrained(folder / "sparse")).path
    out = quantize_dynamic_int8(fused, folder / "sparse-int8.onnx", per_channel=True)
    return Variant(f"student-onnx-int8-sparse{round(sparsity * 100)}", "onnx", out, run_dir / "student")


def latency_ms(models: dict, name: str, batch: int = 1) -> float:
    return next(e["median_ms"] for e in models[name]["latency"] if e["batch"] == batch)


def acceptance(models: dict, guard: dict, int4_name: str) -> list[tuple[str, float, str, bool, str]]:
    """(measure, value, target, passed, how the value was formed) for each acceptance line."""
    reference = models[REFERENCE]
    teacher_accuracy = reference["test"]["accuracy"]

    def size_ratio(name: str) -> float:
        return reference["size_bytes"] / models[name]["size_bytes"]

    def accuracy_ratio(name: str) -> float:
        return models[name]["test"]["accuracy"] / teacher_accuracy if teacher_accuracy else 0.0

    teacher_ms, int8_ms = latency_ms(models, "teacher-torch-fp32"), latency_ms(models, "student-onnx-int8")
    plain_ms = latency_ms(models, "student-onnx-int8-plain")
    guarded_drop = guard["fp32_accuracy"] - guard["guarded_accuracy"]
    lines = [
        ("int8 student accuracy / teacher accuracy", accuracy_ratio("student-onnx-int8"), ">= 0.97",
         accuracy_ratio("student-onnx-int8") >= 0.97,
         f"{models['student-onnx-int8']['test']['accuracy']:.4f} / {teacher_accuracy:.4f}"),
        ("teacher fp32 ONNX size / int8 student ONNX size", size_ratio("student-onnx-int8"), ">= 8",
         size_ratio("student-onnx-int8") >= 8, _mib(reference, models["student-onnx-int8"])),
        ("teacher torch fp32 latency / int8 student ORT latency", teacher_ms / int8_ms, ">= 5",
         teacher_ms / int8_ms >= 5, f"{teacher_ms:.2f} ms / {int8_ms:.2f} ms"),
        ("plain int8 latency / fused int8 latency", plain_ms / int8_ms, "> 1", plain_ms > int8_ms,
         f"{plain_ms:.2f} ms / {int8_ms:.2f} ms"),
        ("teacher fp32 ONNX size / int4 student ONNX size", size_ratio(int4_name), ">= 20",
         size_ratio(int4_name) >= 20, _mib(reference, models[int4_name])),
        ("int4 student accuracy / teacher accuracy", accuracy_ratio(int4_name), ">= 0.97",
         accuracy_ratio(int4_name) >= 0.97, f"{models[int4_name]['test']['accuracy']:.4f} / {teacher_accuracy:.4f}"),
        ("guarded int8 dev accuracy drop vs fp32", guarded_drop, f"<= {guard['max_accuracy_drop']}",
         guard["met"], f"{guard['fp32_accuracy']:.4f} -> {guard['guarded_accuracy']:.4f}, "
                       f"{len(guard['kept_fp32'])} node(s) kept fp32"),
    ]
    return lines


def _mib(reference: dict, model: dict) -> str:
    return f"{reference['size_bytes'] / 2**20:.2f} MiB / {model['size_bytes'] / 2**20:.2f} MiB"


def print_models(models: dict, zipped: dict[str, int]) -> None:
    reference = models[REFERENCE]
    header = (f"{'model':<30}{'MiB':>7}{'zip MiB':>8}{'size x':>8}{'b1 ms':>8}{'b32 ms':>9}{'b1 x':>7}"
              f"{'b32 x':>7}{'accuracy':>9}{'acc x':>7}")
    print(header)
    for name, model in models.items():
        b1, b32 = latency_ms(models, name, 1), latency_ms(models, name, 32)
        accuracy = model["test"]["accuracy"]
        print(f"{name:<30}{model['size_bytes'] / 2**20:>7.2f}{zipped[name] / 2**20:>8.2f}"
              f"{reference['size_bytes'] / model['size_bytes']:>8.1f}{b1:>8.2f}{b32:>9.1f}"
              f"{latency_ms(models, REFERENCE, 1) / b1:>7.2f}{latency_ms(models, REFERENCE, 32) / b32:>7.2f}"
              f"{accuracy:>9.4f}{accuracy / reference['test']['accuracy']:>7.3f}")
    print("size x, b1 x, b32 x, acc x: the teacher's fp32 ONNX divided by the model's (accuracy: the model's "
          "divided by the teacher's); zip: the .onnx deflated")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--max-drop", type=float, default=0.005, help="accuracy guard tolerance (dev split)")
    parser.add_argument("--guard-mode", choices=("dynamic", "static"), help="int8 mode of the guarded row")
    parser.add_argument("--guard-per-tensor", action="store_true", help="per-tensor scales in the guarded row")
    parser.add_argument("--block-size", type=int, help="int4 block size (default: the run recipe's)")
    parser.add_argument("--sparsity", type=float, default=0.5, help="unstructured sparsity of the sparse row")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()

    dev, test = load_splits(args.run_dir, "dev", "test")
    export_if_missing(RunFolder.open(args.run_dir), dev)
    variants = [v for v in default_variants(args.run_dir) if v.name in KEEP]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        guarded, guard = guarded_int8(args.run_dir, dev, folder, args.max_drop, args.guard_mode,
                                      args.guard_per_tensor)
        block_size = args.block_size or RunFolder.open(args.run_dir).recipe().quantization.int4_block_size
        variants += [guarded, int4(args.run_dir, folder, block_size)]
        variants += [sparse_int8(args.run_dir, folder, args.sparsity), *plain_int8(args.run_dir, folder)]
        zipped = {v.name: deflated_size(v.path) if v.kind != "torch" else v.size_bytes for v in variants}
        result = measure(variants, test, args.threads, batches=(1, 32),
                         seq_lens=(args.seq_len,), repeats=args.repeats, warmup=3)
    models = {("student-onnx-fp32" if k == "student-onnx-fused-fp32" else k): v for k, v in result["models"].items()}
    zipped = {("student-onnx-fp32" if k == "student-onnx-fused-fp32" else k): v for k, v in zipped.items()}
    print(f"{args.run_dir}: {args.threads} threads, batch 1 and 32, sequence {args.seq_len}, {args.repeats} "
          f"interleaved rounds, {result['test_split']['examples']} test examples")
    print_models(models, zipped)
    print(f"\nguarded {guarded.name} (dev, tolerance {guard['max_accuracy_drop']}): fp32 {guard['fp32_accuracy']:.4f}, "
          f"all-int8 {guard['int8_accuracy']:.4f}, guarded {guard['guarded_accuracy']:.4f}; kept fp32: "
          f"{', '.join(guard['kept_fp32']) or 'nothing (int8 already within the tolerance)'}")
    for node in guard["nodes"][:5]:
        print(f"  {node['node']:<55} alone: logit MSE {node['logit_mse']:.2e}, dev accuracy "
              f"{node['accuracy_alone']:.4f}{'  KEPT fp32' if node['kept_fp32'] else ''}")
    print()
    failed = 0
    int4_name = next(name for name in models if name.startswith("student-onnx-int4"))
    for label, value, target, passed, detail in acceptance(models, guard, int4_name):
        failed += not passed
        print(f"{label:<55}{value:>8.3f}  (target {target})  {'PASS' if passed else 'FAIL'}  {detail}")
    if args.json:
        args.json.write_text(json.dumps({**result, "zipped_bytes": zipped, "guard": guard}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
