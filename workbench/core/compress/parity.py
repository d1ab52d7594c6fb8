"""Parity of exported models: an ONNX artifact against the PyTorch model it came from, on real dev-split
batches, judged as a statistical verdict rather than by its single worst number.

Quantization moves every logit a little and flips examples that were near-ties; a broken export moves logits
a lot, or loses accuracy. So the check measures the numeric noise (the 95th percentile of each example's
largest |Δlogit|, bounded by the recipe's `max_logit_delta`), counts label agreement only over examples whose
reference top-2 margin exceeds twice that noise (near-ties are reported apart), reports the max |Δlogit|
without judging it, and compares dev accuracy with the reference's by a paired test (workbench.core.paired).
The verdict is "equivalent", "worse" (by X points, CI a..b) or "broken" (NaN, shape, logits beyond the bound,
agreement below `min_agreement`); only "equivalent" ships, and parity.json records every number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.compress.export import ARTIFACTS
from workbench.core.paired import paired_difference, significantly_worse
from workbench.core.recipe import QuantizationConfig
from workbench.core.run_folder import INT4_STUDENT, RunFolder, write_json
from workbench.core.sources.model_runner import OnnxRunner, TorchRunner
from workbench.core.sources.split_inputs import Batch, Split, encode_batches, load_tokenizer_from

NOISE_QUANTILE = 0.95
EQUIVALENT, WORSE, BROKEN = "equivalent", "worse", "broken"


@dataclass
class Measured:
    """What comparing the two models' logits found; judged under a tolerance by `judged`."""

    artifact: str
    reference: str
    examples: int
    problem: str  # "" or what makes the logits unusable: a shape mismatch, NaN or infinite values
    noise: float  # 95th percentile over examples of the largest |Δlogit|: the judged logit figure
    max_logit_delta: float  # reported, not judged: one moved example says nothing about the model
    mean_logit_delta: float
    decisive: int  # examples whose reference margin exceeds twice the noise
    agreement: float  # label agreement over those
    near_ties: int
    near_tie_flips: int
    reference_accuracy: float | None  # on the dev labels, when they were given
    accuracy: float | None
    accuracy_difference: float | None  # a share: -0.02 is 2 points worse
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # McNemar exact


@dataclass
class ParityResult(Measured):
    verdict: str
    ok: bool
    message: str
    min_agreement: float
    max_logit_delta_allowed: float


def measured_from(record: dict[str, Any]) -> Measured:
    """A Measured read back from parity.json or a cache record (KeyError or TypeError when it is not one)."""
    return Measured(**{f.name: record[f.name] for f in fields(Measured)})


def check_parity(onnx_path: str | Path, model_folder: str | Path, batches: list[Batch],
                 config: QuantizationConfig, threads: int = 2, expected: np.ndarray | None = None,
                 labels: np.ndarray | None = None) -> ParityResult:
    """Run both models on the same batches and compare labels, logits and (with `labels`) accuracy
    (`expected`: the PyTorch model's logits on these batches, when already computed)."""
    if expected is None:
        expected = reference_logits(model_folder, batches)
    exported = OnnxRunner(onnx_path, threads)
    actual_logits = np.concatenate([exported(batch) for batch in batches])
    return compare(Path(onnx_path).name, str(model_folder), expected, actual_logits, config, labels)


def reference_logits(model_folder: str | Path, batches: list[Batch]) -> np.ndarray:
    reference = TorchRunner(model_folder)
    return np.concatenate([reference(batch) for batch in batches])


def compare(artifact: str, reference: str, expected: np.ndarray, actual: np.ndarray,
            config: QuantizationConfig, labels: np.ndarray | None = None) -> ParityResult:
    return judged(measure(artifact, reference, expected, actual, labels), config)


def measure(artifact: str, reference: str, expected: np.ndarray, actual: np.ndarray,
            labels: np.ndarray | None = None) -> Measured:
    """Noise, agreement beyond it, near-ties and the paired accuracy difference of `actual` against `expected`."""
    examples = len(expected)
    unusable = Measured(artifact, reference, examples, "", float("inf"), float("inf"), float("inf"), 0, 0.0, 0, 0,
                        None, None, None, None, None, None)
    if expected.shape != actual.shape or not examples:
        unusable.problem = (f"output shape {tuple(actual.shape)} differs from PyTorch's {tuple(expected.shape)}"
                            if examples else "no dev examples to compare on")
        return unusable
    if not np.isfinite(actual).all():
        unusable.problem = f"NaN or infinite logits on {int((~np.isfinite(actual)).any(-1).sum())} examples"
        return unusable
    largest = np.abs(actual.astype(np.float64) - expected).max(-1)
    noise = float(np.quantile(largest, NOISE_QUANTILE))
    ranked = np.sort(expected, -1)
    decisive = ranked[:, -1] - ranked[:, -2] > 2 * noise if expected.shape[-1] > 1 else np.ones(examples, bool)
    same = actual.argmax(-1) == expected.argmax(-1)
    paired = None if labels is None else paired_difference(expected.argmax(-1) == labels, actual.argmax(-1) == labels)
    return Measured(artifact, reference, examples, "", noise, float(largest.max()), float(largest.mean()),
                    int(decisive.sum()), float(same[decisive].mean()) if decisive.any() else 1.0,
                    int((~decisive).sum()), int((~same[~decisive]).sum()),
                    *((paired.reference_accuracy, paired.accuracy, paired.difference, paired.low, paired.high,
                       paired.p_value) if paired else (None,) * 6))


def judged(measured: Measured, config: QuantizationConfig) -> ParityResult:
    """The verdict on what was measured under the recipe's tolerance, with a message that gives the numbers."""
    min_agreement, bound = tolerance(measured.artifact, config)
    m, name = measured, measured.artifact
    problems = [m.problem] if m.problem else []
    if not problems and m.noise > bound:
        problems.append(f"logits moved far beyond quantization noise (95th percentile |Δlogit| {m.noise:.3g} > "
                        f"{bound:g})")
    if not problems and m.agreement < min_agreement:
        problems.append(f"labels differ on {m.decisive - round(m.agreement * m.decisive)} of {m.decisive} examples "
                        f"with a clear margin (agreement {m.agreement:.4f} < {min_agreement})")
    worse = not problems and significantly_worse(m.accuracy_difference, m.p_value)
    verdict = BROKEN if problems else WORSE if worse else EQUIVALENT
    figures = (f"{m.examples} dev examples: agreement {m.agreement:.4f} over {m.decisive} with a clear margin, "
               f"{m.near_tie_flips} of {m.near_ties} near-ties flipped; |Δlogit| p95 {m.noise:.3g}, max "
               f"{m.max_logit_delta:.3g}" + ("" if m.accuracy is None else
                                              f"; dev accuracy {m.accuracy:.4f} vs {m.reference_accuracy:.4f}"))
    if verdict == BROKEN:
        message = f"{name}: BROKEN against PyTorch: {'; '.join(problems)} — do not ship it"
    elif verdict == WORSE:
        message = (f"{name}: worse than PyTorch by {-100 * m.accuracy_difference:.1f} points (95 % CI "
                   f"{-100 * m.ci_high:.1f}..{-100 * m.ci_low:.1f}, McNemar p {m.p_value:.2g}) on {figures}")
    else:
        message = f"{name}: equivalent to PyTorch on {figures}"
    return ParityResult(**asdict(m), verdict=verdict, ok=verdict == EQUIVALENT, message=message,
                        min_agreement=min_agreement, max_logit_delta_allowed=bound)


def tolerance(artifact: str, config: QuantizationConfig) -> tuple[float, float]:
    """(min label agreement, bound on the 95th-percentile |Δlogit|) an artifact is held to: int4 weights have
    their own."""
    if artifact == INT4_STUDENT:
        return config.int4_min_agreement, config.int4_max_logit_delta
    return config.min_agreement, config.max_logit_delta


def check_run(run_dir: str | Path, batch_size: int = 32, threads: int = 2, *, dev: Split,
              measured: dict[str, Measured] | None = None) -> list[ParityResult]:
    """Check every ONNX artifact in RUN/onnx against its PyTorch model on the whole `dev` split (the run's);
    write RUN/onnx/parity.json. `measured`: what was measured on this split for artifacts already checked (a
    cached teacher's), judged here under this recipe's tolerance."""
    run = RunFolder.open(run_dir)
    config = run.recipe().quantization
    results, batches, expected = [], {}, {}
    dev = dev.shortest_first()  # every measure is row by row: the order is free, and like lengths pad little
    for artifact, source in ARTIFACTS.items():
        path = run.onnx_path(artifact)
        if not path.is_file():
            continue
        if artifact in (measured or {}):
            results.append(judged(measured[artifact], config))
            continue
        if source not in batches:  # each model reads the text through its own tokenizer, and runs once
            tokenizer = load_tokenizer_from(run.model_dir(source))
            batches[source] = encode_batches(dev.texts, tokenizer, dev.max_length, batch_size)
            expected[source] = reference_logits(run.model_dir(source), batches[source])
        results.append(check_parity(path, run.model_dir(source), batches[source], config, threads, expected[source],
                                    dev.labels))
    write_json(run.parity_path,
               {"split": "dev", "all_ok": all(r.ok for r in results), "results": [asdict(r) for r in results]})
    return results
