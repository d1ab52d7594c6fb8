"""HTML pieces for compression beyond plain int8: pruning per layer (ratio or threshold), unstructured
sparsity with its honest effect, and the accuracy guard's fp32 nodes with what each cost."""

from __future__ import annotations

import html
from typing import Any

from workbench.core.methods.html import table

SPARSITY_NOTE = ("Zeroed weights shrink the zipped model (what a download costs) but not the .onnx file ONNX "
                 "Runtime loads, and its dense CPU kernels multiply by the zeros as by any weight: latency does "
                 "not improve on CPUs without sparse kernels.")


def sparsity_part(sparsity: dict[str, Any] | None) -> str:
    if not sparsity:
        return ""
    scope = "per weight matrix" if sparsity["scope"] == "layer" else "over all encoder weights together"
    rows = [["asked", f"{sparsity['requested']:.0%} ({scope})"],
            ["reached", f"{sparsity['sparsity']:.1%} of {sparsity['weights']:,} encoder weights are zero"]]
    return ("<h3>Unstructured sparsity</h3>" + table(["", ""], rows)
            + f"<p>{html.escape(SPARSITY_NOTE)} The benchmark measures both sizes and the latency.</p>")
