"""HTML pieces for compression beyond plain int8: pruning per layer (ratio or threshold), unstructured
sparsity with its honest effect, and the accuracy guard's fp32 nodes with what each cost."""

from __future__ import annotations

import html
from typing import Any

from workbench.core.report.charts import size_text

SPARSITY_NOTE = ("Zeroed weights shrink the zipped model (what a download costs) but not the .onnx file ONNX "
                 "Runtime loads, and its dense CPU kernels multiply by the zeros as by any weight: latency does "
                 "not improve on CPUs without sparse kernels.")


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def pruning_per_layer(pruning: dict[str, Any]) -> str:
    """How many heads and FFN neurons each layer lost, and by which rule."""
    removed_heads, removed_neurons = pruning["removed_heads"], pruning["removed_neurons"]
    widths = pruning.get("ffn_per_layer") or [pruning["ffn_after"]] * len(removed_heads)
    below = pruning.get("heads_below_threshold")
    rows = [[str(i + 1), str(len(heads)), *([str(below[i])] if below else []), str(len(neurons)), str(width)]
            for i, (heads, neurons, width) in enumerate(zip(removed_heads, removed_neurons, widths, strict=True))]
    header = ["layer", "heads removed", *(["heads below threshold"] if below else []), "FFN neurons removed",
              "FFN neurons left"]
    if pruning.get("criterion") == "threshold":
        rule = (f"Threshold {pruning['threshold']:g}: every FFN neuron whose importance divided by its layer's "
                "highest is below it was removed, so layers may keep different widths. Heads: the same number "
                "from every layer (the model takes one head count), the fewest any layer had below the "
                "threshold; none at or above it was removed.")
    else:
        rule = "Ratios: the same number removed from every layer."
    return f"<p>{html.escape(rule)}</p>" + _table(header, rows)


def sparsity_part(sparsity: dict[str, Any] | None) -> str:
    if not sparsity:
        return ""
    scope = "per weight matrix" if sparsity["scope"] == "layer" else "over all encoder weights together"
    rows = [["asked", f"{sparsity['requested']:.0%} ({scope})"],
            ["reached", f"{sparsity['sparsity']:.1%} of {sparsity['weights']:,} encoder weights are zero"]]
    return ("<h3>Unstructured sparsity</h3>" + _table(["", ""], rows)
            + f"<p>{html.escape(SPARSITY_NOTE)} The benchmark measures both sizes and the latency.</p>")


def qat_part(qat: dict[str, Any] | None) -> str:
    """What the post-training int8 measurement decided, and what the QAT stage won back on the dev split."""
    if not qat:
        return ""
    before = (f"Post-training int8 on the dev split: fp32 {qat['dev_fp32_accuracy']:.1%}, int8 "
              f"{qat['dev_int8_accuracy']:.1%} (tolerance {qat['max_accuracy_drop']:.1%}).")
    if not qat["run"]:
        return f"<h3>Quantization-aware distillation</h3><p>{html.escape(before)} Within it: QAT did not run.</p>"
    after = (f" After QAT: fp32 {qat['dev_fp32_accuracy_after']:.1%}, int8 {qat['dev_int8_accuracy_after']:.1%} "
             f"({(qat['dev_int8_accuracy_after'] - qat['dev_int8_accuracy']) * 100:+.1f} points for int8).")
    return f"<h3>Quantization-aware distillation</h3><p>{html.escape(before + after)}</p>"


def guard_section(guard: dict[str, Any] | None, qat: dict[str, Any] | None = None) -> str:
    if not guard:
        return f"<section><h2>Accuracy-guarded int8</h2>{qat_part(qat)}</section>" if qat else ""
    summary = (f"{guard['mode'].capitalize()} int8 on the {guard['split']} split ({guard['examples']} texts): "
               f"fp32 {guard['fp32_accuracy']:.1%}, every node in int8 {guard['int8_accuracy']:.1%}, guarded "
               f"{guard['guarded_accuracy']:.1%} (tolerance {guard['max_accuracy_drop']:.1%}).")
    if not guard["kept_fp32"]:
        verdict = " int8 was already within the tolerance: nothing stayed fp32."
    elif guard["met"]:
        verdict = f" {len(guard['kept_fp32'])} node(s) stayed fp32 to meet it."
    else:
        verdict = ' <span class="flag">The tolerance was not met.</span>'
    rows = [[html.escape(n["node"]), html.escape(n["op_type"]), f"{n['logit_mse']:.2e}", f"{n['accuracy_alone']:.1%}",
             "fp32" if n["kept_fp32"] else "int8",
             f"{n['accuracy_recovered'] * 100:+.1f} points" if n["accuracy_recovered"] is not None else "–",
             size_text(n["weight_bytes"] * 3 // 4) if n["kept_fp32"] else "–"] for n in guard["nodes"]]
    table = _table(["node", "type", "logit MSE alone", "dev accuracy alone", "kept", "accuracy bought back",
                    "size cost"], rows) if rows else ""
    note = ("Sensitivity: only that node quantized, its logits against fp32. Nodes were kept fp32 most "
            "sensitive first; size cost is what fp32 weights add over int8.") if rows else ""
    return (f"<section><h2>Accuracy-guarded int8</h2>{qat_part(qat)}<p>{html.escape(summary)}{verdict}</p>"
            f'{table}<p class="muted">{html.escape(note)}</p></section>')
