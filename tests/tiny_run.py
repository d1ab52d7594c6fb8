"""A finished-looking run folder on tiny models: recipe.yaml, teacher/ and student/ Hugging Face folders."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tiny import save_tiny_bert, tiny_recipe


def make_tiny_run(folder: Path, csv: Path) -> Path:
    """Teacher with 2 layers, student with 1, both with a 3-label head; data from the tiny CSV."""
    save_tiny_bert(folder / "teacher", with_head=True, layers=2, seed=1)
    save_tiny_bert(folder / "student", with_head=True, layers=1, seed=2)
    recipe = tiny_recipe(folder / "teacher", csv, folder.parent)
    recipe.quantization.enabled = True  # as a real recipe has it by default
    recipe.save(folder / "recipe.yaml")
    return folder


def bench_entry(latency_ms, accuracy, size_bytes):
    """One model of a bench.json: batch-1 latency (batch 32 is 50 times it), test accuracy, size."""
    return {"size_bytes": size_bytes, "test": {"accuracy": accuracy},
            "latency": [{"batch": 32, "seq_len": 32, "median_ms": 50 * latency_ms},
                        {"batch": 1, "seq_len": 32, "median_ms": latency_ms}]}


def four_model_bench(run: Path) -> None:
    """A bench.json with both teachers (PyTorch, fused int8) and both students (fp32, int8)."""
    models = {"teacher-torch-fp32": bench_entry(20.0, 0.80, 40 * 2**20),
              "teacher-onnx-int8": bench_entry(10.0, 0.79, 10 * 2**20),
              "student-torch-fp32": bench_entry(8.0, 0.77, 10 * 2**20),
              "student-onnx-int8": bench_entry(2.0, 0.76, 2.5 * 2**20)}
    (run / "bench.json").write_text(json.dumps({"models": models}))
