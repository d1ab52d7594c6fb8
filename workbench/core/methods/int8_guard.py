"""Accuracy-guarded int8: the most sensitive nodes stay fp32 until int8 loses at most `max_accuracy_drop` on
the dev split (compress/int8_guard.py, run by the export for the student)."""

from __future__ import annotations

import html
from typing import Any

from workbench.core.methods.html import size_text, table
from workbench.core.methods.method import CompressionMethod, FormRow, SearchKnob, description
from workbench.core.methods.qat import qat_part
from workbench.core.recipe import QuantizationConfig
from workbench.core.run_folder import RunFolder, read_json

GUARD_REPORT = "Accuracy-guarded int8"


def applies(quantization: QuantizationConfig) -> bool:
    return quantization.enabled and quantization.max_accuracy_drop is not None


def report(run: RunFolder) -> str:
    return guard_part(read_json(run.int8_guard_path), read_json(run.qat_path))


def guard_section(guard: dict[str, Any] | None, qat: dict[str, Any] | None = None) -> str:
    """The report's section for the guard (and QAT's decision within it), "" when neither ran."""
    inner = guard_part(guard, qat)
    return f"<section><h2>{GUARD_REPORT}</h2>{inner}</section>" if inner else ""


def guard_part(guard: dict[str, Any] | None, qat: dict[str, Any] | None) -> str:
    if not guard:
        return qat_part(qat)
    summary = (f"{guard['mode'].capitalize()} int8 on the {guard['split']} split ({guard['examples']} texts): "
               f"fp32 {guard['fp32_accuracy']:.1%}, every node in int8 {guard['int8_accuracy']:.1%}, guarded "
               f"{guard['guarded_accuracy']:.1%} (tolerance: at most {guard['max_accuracy_drop']:.1%} below fp32 "
               "and not significantly worse, McNemar p ≥ 0.05).")
    if not guard["kept_fp32"]:
        verdict = " int8 was already within it: nothing stayed fp32."
    elif guard["met"]:
        verdict = f" {len(guard['kept_fp32'])} node(s) stayed fp32 to meet it."
    else:
        verdict = ' <span class="flag">It was not met.</span>'
    rows = [[html.escape(n["node"]), html.escape(n["op_type"]), f"{n['logit_mse']:.2e}", f"{n['accuracy_alone']:.1%}",
             "fp32" if n["kept_fp32"] else "int8",
             f"{n['accuracy_recovered'] * 100:+.1f} points" if n["accuracy_recovered"] is not None else "–",
             size_text(n["weight_bytes"] * 3 // 4) if n["kept_fp32"] else "–"] for n in guard["nodes"]]
    node_table = table(["node", "type", "logit MSE alone", "dev accuracy alone", "kept", "accuracy bought back",
                        "size cost"], rows) if rows else ""
    note = ("Sensitivity: only that node quantized, its logits against fp32. Nodes were kept fp32 most "
            "sensitive per weight byte first; size cost is what fp32 weights add over int8.") if rows else ""
    return (f"{qat_part(qat)}<p>{html.escape(summary)}{verdict}</p>"
            f'{node_table}<p class="muted">{html.escape(note)}</p>')


INT8_GUARD = CompressionMethod(
    name="accuracy-guarded int8", section="quantization", stage="export", keys=("max_accuracy_drop",),
    applies=applies, files=("int8_guard_path",), report=report, report_title=GUARD_REPORT,
    # Per-layer precision: the guard keeps in fp32 the nodes whose int8 costs dev accuracy, and the search's
    # latency measurement sees what that costs, so drawing the tolerance searches precision per layer.
    search=(SearchKnob("max_accuracy_drop", "max_accuracy_drop", "int8_accuracy_drops",
                       lambda drop: f"int8 guard {drop:.1%}" if drop is not None else "", absent=None),),
    form=(FormRow("quantization.max_accuracy_drop", "Max accuracy drop", "line", "optional_float",
                  "off: quantize every layer", description(QuantizationConfig, "max_accuracy_drop")),))
