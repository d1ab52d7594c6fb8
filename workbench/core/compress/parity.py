"""Parity of exported models: an ONNX artifact against the PyTorch model it came from, on real dev-split
batches. Label agreement and max |Δlogit| are held to the recipe's tolerance; an artifact that misses it is
flagged (`ok` False, a message naming both numbers), so that it is reported instead of silently shipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench.core.compress.export import ARTIFACTS
from workbench.core.recipe import QuantizationConfig
from workbench.core.run_folder import INT4_STUDENT, RunFolder, write_json
from workbench.core.sources.model_runner import OnnxRunner, TorchRunner
from workbench.core.sources.split_inputs import Batch, Split, encode_batches, load_split, load_tokenizer_from


@dataclass
class ParityResult:
    artifact: str
    reference: str
    examples: int
    agreement: float
    max_logit_delta: float
    min_agreement: float
    max_logit_delta_allowed: float
    ok: bool
    message: str


def check_parity(onnx_path: str | Path, model_folder: str | Path, batches: list[Batch],
                 config: QuantizationConfig, threads: int = 2, expected: np.ndarray | None = None) -> ParityResult:
    """Run both models on the same batches and compare labels and logits (`expected`: the PyTorch model's
    logits on these batches, when already computed)."""
    if expected is None:
        expected = reference_logits(model_folder, batches)
    exported = OnnxRunner(onnx_path, threads)
    actual_logits = np.concatenate([exported(batch) for batch in batches])
    return compare(Path(onnx_path).name, str(model_folder), expected, actual_logits, config)


def reference_logits(model_folder: str | Path, batches: list[Batch]) -> np.ndarray:
    reference = TorchRunner(model_folder)
    return np.concatenate([reference(batch) for batch in batches])


def compare(artifact: str, reference: str, expected: np.ndarray, actual: np.ndarray,
            config: QuantizationConfig) -> ParityResult:
    if expected.shape != actual.shape:
        delta = float("inf")
        agreement = 0.0
    else:
        difference = np.abs(actual.astype(np.float64) - expected)
        # NaN or inf logits must fail the check, and NaN compares False against any tolerance.
        delta = float(difference.max()) if np.isfinite(difference).all() else float("inf")
        agreement = float((actual.argmax(-1) == expected.argmax(-1)).mean()) if len(expected) else 0.0
    return judged(artifact, reference, len(expected), agreement, delta, config)


def judged(artifact: str, reference: str, examples: int, agreement: float, delta: float,
           config: QuantizationConfig) -> ParityResult:
    """The verdict on measured agreement and max |Δlogit| under the recipe's tolerance."""
    min_agreement, max_delta = tolerance(artifact, config)
    problems = []
    if agreement < min_agreement:
        problems.append(f"label agreement {agreement:.4f} < {min_agreement}")
    if delta > max_delta:
        problems.append(f"max |Δlogit| {delta:.4g} > {max_delta}")
    ok = not problems
    message = (f"{artifact}: matches PyTorch on {examples} dev examples "
               f"(agreement {agreement:.4f}, max |Δlogit| {delta:.3g})" if ok else
               f"{artifact}: DISAGREES with PyTorch on {examples} dev examples: {'; '.join(problems)}"
               " — flagged, do not ship it")
    return ParityResult(artifact, reference, examples, agreement, delta, min_agreement, max_delta, ok, message)


def tolerance(artifact: str, config: QuantizationConfig) -> tuple[float, float]:
    """(min label agreement, max |Δlogit|) an artifact is held to: int4 weights have their own bound."""
    if artifact == INT4_STUDENT:
        return config.int4_min_agreement, config.int4_max_logit_delta
    return config.min_agreement, config.max_logit_delta


def check_run(run_dir: str | Path, batch_size: int = 32, threads: int = 2, dev: Split | None = None,
              measured: dict[str, tuple[float, float]] | None = None) -> list[ParityResult]:
    """Check every ONNX artifact in RUN/onnx against its PyTorch model on the whole dev split (read from the
    run's recipe unless given); write RUN/onnx/parity.json. `measured`: (agreement, max |Δlogit|) on this
    split of artifacts already checked (a cached teacher's), judged here under this recipe's tolerance."""
    run = RunFolder.open(run_dir)
    config = run.recipe().quantization
    split = dev or load_split(run.path, "dev")
    results, batches, expected = [], {}, {}
    for artifact, source in ARTIFACTS.items():
        path = run.onnx_path(artifact)
        if not path.is_file():
            continue
        if artifact in (measured or {}):
            results.append(judged(artifact, str(run.model_dir(source)), len(split.texts), *measured[artifact], config))
            continue
        if source not in batches:  # each model reads the text through its own tokenizer, and runs once
            tokenizer = load_tokenizer_from(run.model_dir(source))
            batches[source] = encode_batches(split.texts, tokenizer, split.max_length, batch_size)
            expected[source] = reference_logits(run.model_dir(source), batches[source])
        results.append(check_parity(path, run.model_dir(source), batches[source], config, threads, expected[source]))
    write_json(run.parity_path,
               {"split": "dev", "all_ok": all(r.ok for r in results), "results": [asdict(r) for r in results]})
    return results
