"""Unstructured sparsity: the smallest-magnitude encoder weights zeroed in the pruning stage, per weight matrix
or over all of them, and kept zero through every later training stage (compress/sparsity.py does both)."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterable
from typing import Any

from workbench.core.methods.html import table
from workbench.core.methods.method import CompressionMethod, FormRow
from workbench.core.recipe import PruningConfig
from workbench.core.run_folder import RunFolder, read_json

SPARSITY_NOTE = ("Zeroed weights shrink the zipped model (what a download costs) but not the .onnx file ONNX "
                 "Runtime loads, and its dense CPU kernels multiply by the zeros as by any weight: latency does "
                 "not improve on CPUs without sparse kernels.")


def applies(pruning: PruningConfig) -> bool:
    return pruning.enabled and bool(pruning.unstructured_sparsity)


def prune(student: Any, pruning: PruningConfig, batches: Iterable[Any]) -> dict[str, Any]:
    from workbench.core.compress.sparsity import sparsify

    return sparsify(student, pruning.unstructured_sparsity, pruning.unstructured_scope).to_dict()


def zeros_kept(student: Any) -> contextlib.AbstractContextManager[int]:
    """Whatever the recipe says now: after a resume the saved zeros are the mask again."""
    from workbench.core.compress.sparsity import zeros_kept as kept

    return kept(student)


def describe(pruning: PruningConfig, run: RunFolder) -> str:
    return (f"{pruning.unstructured_sparsity:.0%} of encoder weights zeroed "
            f"({'over all matrices' if pruning.unstructured_scope == 'global' else 'in each matrix'})")


def report(run: RunFolder) -> str:
    return sparsity_part(read_json(run.sparsity_path))


def sparsity_part(sparsity: dict[str, Any] | None) -> str:
    if not sparsity:
        return ""
    scope = "per weight matrix" if sparsity["scope"] == "layer" else "over all encoder weights together"
    rows = [["asked", f"{sparsity['requested']:.0%} ({scope})"],
            ["reached", f"{sparsity['sparsity']:.1%} of {sparsity['weights']:,} encoder weights are zero"]]
    return ("<h3>Unstructured sparsity</h3>" + table(["", ""], rows)
            + f"<p>{html.escape(SPARSITY_NOTE)} The benchmark measures both sizes and the latency.</p>")


SPARSITY = CompressionMethod(
    name="unstructured sparsity", section="pruning", stage="pruning",
    keys=("unstructured_sparsity", "unstructured_scope"), applies=applies, describe=describe,
    estimate=lambda pruning, heads, ffn: (f"{pruning.unstructured_sparsity:.0%} of encoder weights zeroed (same "
                                          "file size, smaller zip)"),
    files=("sparsity_path",), report=report, prune=prune, while_training=zeros_kept,
    form=(FormRow("pruning.unstructured_sparsity", "Unstructured sparsity", "line",
                  tip="share of encoder weights set to zero by magnitude; shrinks the zipped model, not latency"),
          FormRow("pruning.unstructured_scope", "Sparsity measured", "combo",
                  choices={"layer": "per weight matrix", "global": "over all weights"})))
