"""Accuracy-guarded int8: keep the layers that int8 hurts most in fp32 until the int8 model is within
`quantization.max_accuracy_drop` of fp32 on the dev split and not significantly worse than it there.

The second condition is the parity gate's own verdict (compress/parity.py: McNemar on the same dev split, against
the same fp32 answers): a drop inside the tolerance that the gate calls real would otherwise pass the guard and
then fail the gate, and the student would not ship. Int8 and fp32 disagree on few examples, so on 2,000 dev
examples a drop of half a point can already be real.

1. Score fp32 and the fully quantized model on the dev split. Acceptable: done, nothing stays fp32.
2. Sensitivity, one node at a time: quantize only that node (ONNX Runtime's `nodes_to_quantize`) and measure
   how far the logits move from fp32 (mean squared difference) and what accuracy it leaves.
3. Most sensitive per weight byte first (HAWQ's order: sensitivity over parameter count), exclude nodes
   (`nodes_to_exclude`) one more at a time until it is acceptable; each excluded node's cost is the accuracy it
   bought back and the bytes its fp32 weights add. Per byte, because the most sensitive node alone is often the
   embedding: kept fp32 it made a 9 MiB pruned student 31 MiB, larger than the int8 teacher, where a FFN
   matrix a fortieth of its size moved the logits nearly as much.

Works for dynamic and static int8 alike: `quantize(out, exclude, only)` is either quantizer.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.paired import paired_difference
from workbench.core.run_folder import RunFolder, write_json
from workbench.core.sources.model_runner import model_feeds, ort_session
from workbench.core.sources.split_inputs import Batch, Split, encode_batches, load_tokenizer_from

# Node types the int8 quantizers turn integer: MatMul everywhere, and the fused Attention (whose packed QKV
# weights dynamic int8 quantizes) and embedding lookups.
QUANTIZABLE = ("MatMul", "Attention", "Gather", "EmbedLayerNormalization")
Quantize = Callable[[Path, Sequence[str], Sequence[str] | None], Path]  # (out, exclude, only) -> out


@dataclass
class NodeSensitivity:
    node: str
    op_type: str
    logit_mse: float  # mean squared logit change, fp32 -> only this node in int8
    accuracy_alone: float  # dev accuracy with only this node in int8
    weight_bytes: int  # fp32 bytes of its weights: keeping it fp32 costs about 3/4 of this over int8
    kept_fp32: bool = False
    accuracy_recovered: float | None = None  # dev accuracy gained when this node was kept fp32


@dataclass
class GuardReport:
    mode: str
    split: str
    examples: int
    max_accuracy_drop: float
    fp32_accuracy: float
    int8_accuracy: float  # every node quantized
    guarded_accuracy: float
    met: bool
    kept_fp32: list[str] = field(default_factory=list)
    nodes: list[NodeSensitivity] = field(default_factory=list)  # in exclusion order; empty when not needed

    @property
    def guarded_drop(self) -> float:
        return self.fp32_accuracy - self.guarded_accuracy

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "guarded_drop": self.guarded_drop}


def quantizable_nodes(onnx_path: str | Path) -> list[tuple[str, str, int]]:
    """(name, op type, fp32 weight bytes) of the graph's nodes that int8 can quantize."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    sizes = {t.name: int(np.prod(t.dims)) * 4 for t in model.graph.initializer}
    return [(node.name, node.op_type, sum(sizes.get(name, 0) for name in node.input))
            for node in model.graph.node if node.op_type in QUANTIZABLE and node.name]


def guard_int8(fp32_path: str | Path, out_path: str | Path, quantize: Quantize, dev: Sequence[Batch],
               labels: np.ndarray, max_drop: float, mode: str, threads: int = 2) -> GuardReport:
    """Write the guarded int8 model to `out_path` (built by `quantize` from `fp32_path`) and say what stayed
    fp32; `dev` are the dev split's batches and `labels` their classes."""
    out_path = Path(out_path)
    reference = dev_logits(fp32_path, dev, threads)
    fp32_accuracy = accuracy(reference, labels)
    int8_logits = dev_logits(quantize(out_path, (), None), dev, threads)
    int8_accuracy = accuracy(int8_logits, labels)
    report = GuardReport(mode, "dev", len(labels), max_drop, fp32_accuracy, int8_accuracy, int8_accuracy,
                         acceptable(reference, int8_logits, labels, max_drop))
    if report.met:
        return report
    with tempfile.TemporaryDirectory() as scratch:
        trial = Path(scratch) / "trial.onnx"
        report.nodes = exclusion_order([_sensitivity(name, op, size, quantize, trial, reference, dev, labels, threads)
                                        for name, op, size in quantizable_nodes(fp32_path)])
        current = int8_accuracy
        for node in report.nodes:
            node.kept_fp32 = True
            report.kept_fp32.append(node.node)
            logits = dev_logits(quantize(trial, report.kept_fp32, None), dev, threads)
            node.accuracy_recovered = accuracy(logits, labels) - current
            current += node.accuracy_recovered
            report.met = acceptable(reference, logits, labels, max_drop)
            if report.met:
                break
        shutil.copyfile(trial, out_path)  # the last trial is the guarded model
    report.guarded_accuracy = current
    return report


def exclusion_order(nodes: list[NodeSensitivity]) -> list[NodeSensitivity]:
    """The order the guard keeps nodes fp32 in: most sensitive per weight byte first."""
    return sorted(nodes, key=lambda n: n.logit_mse / max(n.weight_bytes, 1), reverse=True)


def acceptable(reference: np.ndarray, logits: np.ndarray, labels: np.ndarray, max_drop: float) -> bool:
    """Whether int8 `logits` are within `max_drop` of the fp32 `reference`'s dev accuracy and not significantly
    worse than it (the parity gate's test)."""
    paired = paired_difference(reference.argmax(-1) == labels, logits.argmax(-1) == labels)
    return -paired.difference <= max_drop + 1e-12 and not paired.significantly_worse


def guard_run(run_dir: str | Path, dev: Split, fp32_path: Path, out_path: Path, quantize: Quantize,
              max_drop: float, mode: str, report_path: Path, threads: int = 2) -> GuardReport:
    """`guard_int8` on the run's `dev` split, read through the student's tokenizer; the report goes to
    `report_path` as JSON."""
    tokenizer = load_tokenizer_from(RunFolder(Path(run_dir)).student_dir)
    batches = encode_batches(dev.texts, tokenizer, dev.max_length, 64)
    report = guard_int8(fp32_path, out_path, quantize, batches, dev.labels, max_drop, mode, threads)
    write_json(report_path, report.to_dict())
    return report


def _sensitivity(name: str, op_type: str, size: int, quantize: Quantize, trial: Path, reference: np.ndarray,
                 dev: Sequence[Batch], labels: np.ndarray, threads: int) -> NodeSensitivity:
    logits = dev_logits(quantize(trial, (), [name]), dev, threads)
    mse = float(np.mean((logits.astype(np.float64) - reference) ** 2))
    return NodeSensitivity(name, op_type, mse, accuracy(logits, labels), size)


def dev_logits(path: str | Path, batches: Sequence[Batch], threads: int) -> np.ndarray:
    session = ort_session(path, threads)
    inputs = [i.name for i in session.get_inputs()]
    return np.concatenate([session.run(["logits"], model_feeds(inputs, batch))[0] for batch in batches])


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(-1) == labels).mean()) if len(labels) else 0.0
