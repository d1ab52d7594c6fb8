"""Compression acceptance table for a finished run: accuracy kept, size and latency ratios, fusion's gain.

One process, fixed threads, every model timed interleaved at batch 1 and one sequence length:

    teacher-torch-fp32         the fine-tuned teacher in PyTorch (the baseline users run today)
    teacher-onnx-fp32          the teacher exported, for the size ratio
    student-onnx-int8          the workbench's student: eager export, ORT fusion, dynamic int8
    student-onnx-int8-plain    the same student export with a plain `quantize_dynamic` call and no fusion, in
                               a session with ONNX Runtime's default load-time optimizers (what one writes first)
    student-onnx-int8-plain-wb the plain model in the workbench's session: separates the graph's share of the
                               gain from the session's (the workbench session skips the SkipLayerNorm fusion)

Ratios are printed with the targets of the compression issue; absolute times only as context.

    nice -n 19 .venv/bin/python benchmarks/compression.py RUN_DIR [--threads 2] [--seq-len 64] [--repeats 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from workbench.core.measure.benchmark import Variant, default_variants, measure
from workbench.core.sources.split_inputs import load_split

KEEP = ("teacher-torch-fp32", "teacher-onnx-fp32", "student-onnx-int8")


def plain_int8(run_dir: Path, folder: Path) -> list[Variant]:
    """What one writes first: `quantize_dynamic` straight on the fp32 export, default options, no fusion."""
    from onnxruntime.quantization import quantize_dynamic

    out = folder / "student-int8-plain.onnx"
    quantize_dynamic(str(run_dir / "onnx" / "student-fp32.onnx"), str(out))
    return [Variant("student-onnx-int8-plain", "onnx-ort-defaults", out, run_dir / "student"),
            Variant("student-onnx-int8-plain-wb", "onnx", out, run_dir / "student")]


def latency_ms(models: dict, name: str) -> float:
    return models[name]["latency"][0]["median_ms"]


def table(models: dict) -> list[tuple[str, float, str, bool, str]]:
    """(measure, value, target, passed, how the value was formed) for each acceptance line."""
    teacher, student = models["teacher-torch-fp32"], models["student-onnx-int8"]
    teacher_onnx_size, student_size = models["teacher-onnx-fp32"]["size_bytes"], student["size_bytes"]
    teacher_ms, student_ms = latency_ms(models, "teacher-torch-fp32"), latency_ms(models, "student-onnx-int8")
    plain_ms = latency_ms(models, "student-onnx-int8-plain")
    accuracy_ratio = student["test"]["accuracy"] / teacher["test"]["accuracy"] if teacher["test"]["accuracy"] else 0
    return [
        ("int8 student accuracy / teacher accuracy", accuracy_ratio, ">= 0.97", accuracy_ratio >= 0.97,
         f"{student['test']['accuracy']:.4f} / {teacher['test']['accuracy']:.4f}"),
        ("teacher fp32 ONNX size / int8 student ONNX size", teacher_onnx_size / student_size, ">= 8",
         teacher_onnx_size / student_size >= 8,
         f"{teacher_onnx_size / 2**20:.2f} MiB / {student_size / 2**20:.2f} MiB"),
        ("teacher torch fp32 latency / int8 student ORT latency", teacher_ms / student_ms, ">= 5",
         teacher_ms / student_ms >= 5, f"{teacher_ms:.2f} ms / {student_ms:.2f} ms"),
        ("plain int8 latency / fused int8 latency", plain_ms / student_ms, "> 1", plain_ms > student_ms,
         f"{plain_ms:.2f} ms / {student_ms:.2f} ms"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()

    variants = [v for v in default_variants(args.run_dir) if v.name in KEEP]
    with tempfile.TemporaryDirectory() as scratch:
        variants += plain_int8(args.run_dir, Path(scratch))
        result = measure(variants, load_split(args.run_dir, "test"), args.threads, batches=(1,),
                         seq_lens=(args.seq_len,), repeats=args.repeats, warmup=5)
    models = result["models"]
    print(f"{args.run_dir}: {args.threads} threads, batch 1, sequence {args.seq_len}, "
          f"{args.repeats} interleaved rounds, {result['test_split']['examples']} test examples")
    print(f"{'model':<28}{'median ms':>10}{'p95 ms':>10}{'size MiB':>10}{'accuracy':>10}{'macro-F1':>10}")
    for name, model in models.items():
        timing = model["latency"][0]
        print(f"{name:<28}{timing['median_ms']:>10.2f}{timing['p95_ms']:>10.2f}{model['size_bytes'] / 2**20:>10.2f}"
              f"{model['test']['accuracy']:>10.4f}{model['test']['macro_f1']:>10.4f}")
    print()
    failed = 0
    for label, value, target, passed, detail in table(models):
        failed += not passed
        print(f"{label:<55}{value:>8.2f}  (target {target})  {'PASS' if passed else 'FAIL'}  {detail}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
